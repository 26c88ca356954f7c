"""/v1/videos in OpenAI's shape: objects, statuses, pagination, errors, delete, characters.

Rendering is covered by the e2e tests (a real worker and the official SDK); here jobs stay
queued, which is enough for the shapes and the rules.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cameos.models import Cameo, CameoKind, CameoStatus
from generation.models import CreditEntry, GenerationJob, JobStatus
from tests.cameos.factories import clip_bytes
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_dispatch(monkeypatch):
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)


@pytest.fixture
def sdk(client_for):
    return client_for(UserFactory())


def create(api, **body):
    body.setdefault("prompt", "a red ball drops and bounces twice")
    return api.post("/v1/videos", body, format="json")


def test_create_returns_a_video_object(sdk):
    response = create(sdk, seconds="8", size="1280x720")
    assert response.status_code == 200
    video = response.json()
    assert set(video) == {
        "id", "object", "created_at", "completed_at", "expires_at", "error", "model", "progress",
        "prompt", "remixed_from_video_id", "seconds", "size", "status",
        "notice",  # ours, not OpenAI's: SDKs ignore it (tests/generation/test_demo_domain.py)
    }  # fmt: skip
    assert video["object"] == "video" and video["id"].startswith("video_")
    assert (video["status"], video["seconds"], video["size"], video["progress"]) == ("queued", "8", "1280x720", 0)
    assert isinstance(video["created_at"], int) and video["completed_at"] is None


def test_multipart_create_with_an_input_reference_image(sdk):
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 120, 200)).save(png, format="PNG")
    response = sdk.post(
        "/v1/videos",
        {
            "prompt": "a blue square slides to the left",
            "input_reference": SimpleUploadedFile("ref.png", png.getvalue()),
        },
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    assert GenerationJob.objects.get(public_id=response.json()["id"]).input_reference


def test_retrieve_sends_the_poll_header_while_in_progress(sdk):
    video = create(sdk).json()
    response = sdk.get(f"/v1/videos/{video['id']}")
    assert response.status_code == 200
    assert int(response["openai-poll-after-ms"]) > 0


def test_list_is_a_cursor_page(sdk):
    ids = [create(sdk, seed=i).json()["id"] for i in range(3)]
    page = sdk.get("/v1/videos", {"limit": 2}).json()
    assert page["object"] == "list" and page["has_more"] is True
    assert [v["id"] for v in page["data"]] == ids[::-1][:2]
    assert (page["first_id"], page["last_id"]) == (ids[2], ids[1])
    rest = sdk.get("/v1/videos", {"limit": 2, "after": page["last_id"]}).json()
    assert [v["id"] for v in rest["data"]] == [ids[0]] and rest["has_more"] is False
    ascending = sdk.get("/v1/videos", {"order": "asc"}).json()
    assert [v["id"] for v in ascending["data"]] == ids


def test_errors_have_openais_shape(sdk):
    response = create(sdk, seconds="5")
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message", "type", "param"}
    assert (error["code"], error["type"], error["param"]) == ("invalid_seconds", "invalid_request_error", "seconds")
    missing = sdk.post("/v1/videos", {}, format="json").json()["error"]
    assert (missing["code"], missing["param"]) == ("missing_required_parameter", "prompt")
    assert sdk.get("/v1/videos/video_nope").json()["error"]["code"] == "generation_not_found"


def test_content_before_completion_is_409_and_remix_needs_a_completed_video(sdk):
    video = create(sdk).json()
    early = sdk.get(f"/v1/videos/{video['id']}/content")
    assert early.status_code == 409 and early.json()["error"]["code"] == "video_not_ready"
    # OpenAI's SDK downloads with `Accept: application/binary`: answered, never a 406.
    binary = sdk.get(f"/v1/videos/{video['id']}/content", HTTP_ACCEPT="application/binary")
    assert binary.status_code == 409 and binary.json()["error"]["code"] == "video_not_ready"
    remix = sdk.post(f"/v1/videos/{video['id']}/remix", {"prompt": "now in green"}, format="json")
    assert remix.status_code == 409 and remix.json()["error"]["code"] == "video_not_completed"
    extend = sdk.post(
        "/v1/videos/extensions", {"prompt": "more", "seconds": "4", "video": {"id": video["id"]}}, format="json"
    )
    assert extend.status_code == 409


def test_delete_cancels_a_queued_video_and_refunds_it(sdk):
    video = create(sdk).json()
    response = sdk.delete(f"/v1/videos/{video['id']}")
    assert response.json() == {"id": video["id"], "deleted": True, "object": "video.deleted"}
    job = GenerationJob.objects.get(public_id=video["id"])
    assert job.status == JobStatus.CANCELLED
    assert sorted(CreditEntry.objects.filter(job=job).values_list("kind", flat=True)) == ["refund", "reserve"]
    assert sdk.get(f"/v1/videos/{video['id']}").json()["status"] == "failed"


def test_other_users_videos_are_not_found(sdk, client_for):
    video = create(sdk).json()
    other = client_for(UserFactory())
    assert other.get(f"/v1/videos/{video['id']}").status_code == 404
    assert other.delete(f"/v1/videos/{video['id']}").status_code == 404
    assert other.get("/v1/videos").json()["data"] == []


def test_characters_become_object_cameos_of_their_creator(sdk, client_for):
    clip = SimpleUploadedFile("mug.mp4", clip_bytes(subject="object", card_at="none"), content_type="video/mp4")
    response = sdk.post("/v1/videos/characters", {"name": "Blue Mug", "video": clip}, format="multipart")
    assert response.status_code == 200, response.json()
    character = response.json()
    assert character["name"] == "Blue Mug" and character["id"].startswith("char_")
    cameo = Cameo.objects.get(pk=int(character["id"].removeprefix("char_")))
    assert (cameo.kind, cameo.name, cameo.status) == (CameoKind.OBJECT, "blue-mug", CameoStatus.PENDING)
    assert sdk.get(f"/v1/videos/characters/{character['id']}").json() == character
    assert client_for(UserFactory()).get(f"/v1/videos/characters/{character['id']}").status_code == 404


def test_a_character_needs_a_real_video(sdk):
    junk = SimpleUploadedFile("x.mp4", b"not a video at all", content_type="video/mp4")
    response = sdk.post("/v1/videos/characters", {"name": "Junk", "video": junk}, format="multipart")
    assert response.status_code in (400, 415, 422)
    assert set(response.json()["error"]) == {"code", "message", "type", "param"}
