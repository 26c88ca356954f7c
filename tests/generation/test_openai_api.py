"""/v1/videos in OpenAI's shape: objects, statuses, pagination, errors, delete, characters.

Rendering is covered by the e2e tests (a real worker and the official SDK); here jobs stay
queued, which is enough for the shapes and the rules.
"""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cameos.models import Cameo, CameoKind, CameoStatus
from generation.models import CreditEntry, GenerationJob, JobStatus
from tests.cameos.factories import CameoFactory, clip_bytes
from tests.generation.factories import VideoFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_dispatch(monkeypatch):
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)


@pytest.fixture
def sdk(client_for):
    return client_for(UserFactory())


def complete(public_id: str) -> GenerationJob:
    """The job as the worker leaves it when it succeeds (rendering is the e2e tests' part)."""
    job = GenerationJob.objects.get(public_id=public_id)
    job.status, job.progress, job.finished_at = JobStatus.SUCCEEDED, 100, timezone.now()
    job.model = "what-the-backend-reported"
    job.result_video = VideoFactory(created_by=job.user)
    job.save()
    return job


def create(api, **body):
    body.setdefault("prompt", "a red ball drops and bounces twice")
    return api.post("/v1/videos", body, format="json")


def test_create_returns_a_video_object(sdk):
    response = create(sdk, seconds="8", size="1280x720")
    assert response.status_code == 200, response.json()
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
    # JSON only, as the schema says: a form body is refused before anything is looked up.
    form = sdk.post(f"/v1/videos/{video['id']}/remix", {"prompt": "now in green"}, format="multipart")
    assert form.status_code == 400 and form.json()["error"]["type"] == "invalid_request_error", form.json()
    extend = sdk.post(
        "/v1/videos/extensions", {"prompt": "more", "seconds": "4", "video": {"id": video["id"]}}, format="json"
    )
    assert extend.status_code == 409


def test_delete_cancels_a_queued_video_and_refunds_it(sdk):
    video = create(sdk).json()
    kept = create(sdk).json()
    response = sdk.delete(f"/v1/videos/{video['id']}")
    assert response.json() == {"id": video["id"], "deleted": True, "object": "video.deleted"}
    job = GenerationJob.objects.get(public_id=video["id"])
    assert job.status == JobStatus.CANCELLED and job.deleted_at is not None
    assert sorted(CreditEntry.objects.filter(job=job).values_list("kind", flat=True)) == ["refund", "reserve"]
    # Gone: 404 afterwards, out of the list, out of the app's own generations.
    gone = sdk.get(f"/v1/videos/{video['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "generation_not_found"
    assert [v["id"] for v in sdk.get("/v1/videos").json()["data"]] == [kept["id"]]
    assert sdk.get(f"/api/v1/generations/{video['id']}").status_code == 404
    # Idempotent: a repeated DELETE (an SDK retry) answers the same and refunds nothing more.
    again = sdk.delete(f"/v1/videos/{video['id']}")
    assert again.status_code == 200 and again.json() == response.json()
    assert CreditEntry.objects.filter(job=job).count() == 2


def test_delete_takes_a_completed_video_down(sdk):
    video = create(sdk).json()
    job = complete(video["id"])
    assert sdk.delete(f"/v1/videos/{video['id']}").status_code == 200
    job.result_video.refresh_from_db()
    assert job.result_video.status == "taken_down"
    assert sdk.get(f"/v1/videos/{video['id']}/content").status_code == 404


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


def test_a_character_name_the_schema_allows_but_no_name_can_be_made_of_is_422(sdk):
    def named(name: str):
        clip = SimpleUploadedFile("mug.mp4", clip_bytes(subject="object", card_at="none"), content_type="video/mp4")
        return sdk.post("/v1/videos/characters", {"name": name, "video": clip}, format="multipart")

    too_long = named("m" * 61)  # the schema's maxLength: a 400
    assert (too_long.status_code, too_long.json()["error"]["code"]) == (400, "invalid_character_name")
    for name in ("ab", "  ", "!!!"):  # allowed by the schema; its @name would be too short
        refused = named(name)
        assert refused.status_code == 422, (name, refused.json())
        assert (refused.json()["error"]["code"], refused.json()["error"]["param"]) == ("invalid_character_name", "name")
    assert not Cameo.objects.exists()


def test_the_schema_lists_the_served_models_as_models_enum(sdk, settings):
    settings.OPENAI_MODEL_ALIASES = ["sora-2"]
    schema = sdk.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    body = schema["paths"]["/v1/videos"]["post"]["requestBody"]["content"]["application/json"]["schema"]

    def resolve(node: dict) -> dict:
        if "allOf" in node:
            node = node["allOf"][0]
        return schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node

    enum = resolve(resolve(body)["properties"]["model"])["enum"]
    assert enum == [m["id"] for m in sdk.get("/v1/models").json()["data"]] == ["sora-social-stdit-v1", "sora-2"]


def test_models_are_listed_validated_and_kept_while_rendering(sdk, settings):
    settings.OPENAI_MODEL_ALIASES = ["sora-2", "sora-2-pro"]
    models = sdk.get("/v1/models").json()
    names = [m["id"] for m in models["data"]]
    assert models["object"] == "list" and names == ["sora-social-stdit-v1", "sora-2", "sora-2-pro"]
    assert sdk.get("/v1/models/sora-2").json()["object"] == "model"
    assert sdk.get("/v1/models/gpt-5").status_code == 404

    unknown = create(sdk, model="sora-9")
    assert unknown.status_code == 400
    assert (unknown.json()["error"]["code"], unknown.json()["error"]["param"]) == ("model_not_found", "model")
    assert not GenerationJob.objects.exists() and not CreditEntry.objects.exists()

    asked = create(sdk, model="sora-2-pro").json()
    default = create(sdk).json()
    assert (asked["model"], default["model"]) == ("sora-2-pro", "sora-social-stdit-v1")
    complete(asked["id"])  # the worker reports its own model name on completion
    assert sdk.get(f"/v1/videos/{asked['id']}").json()["model"] == "sora-2-pro"
    remix = sdk.post(f"/v1/videos/{asked['id']}/remix", {"prompt": "now in green"}, format="json").json()
    assert remix["model"] == "sora-2-pro"


def test_the_embedded_models_name_is_the_one_its_weights_carry():
    from generation.selectors import EMBEDDED_MODEL_NAME
    from generation.video_model.training import MODEL_NAME

    assert EMBEDDED_MODEL_NAME == MODEL_NAME


def test_expires_at_is_set_on_completion_and_honoured(sdk, settings):
    settings.OPENAI_VIDEO_EXPIRES_AFTER_S = 3600
    video = create(sdk).json()
    assert video["expires_at"] is None
    job = complete(video["id"])
    done = sdk.get(f"/v1/videos/{video['id']}").json()
    assert done["expires_at"] == done["completed_at"] + 3600
    assert sdk.get(f"/v1/videos/{video['id']}/content").status_code == 200
    GenerationJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timezone.timedelta(hours=2))
    expired = sdk.get(f"/v1/videos/{video['id']}/content")
    assert expired.status_code == 404 and expired.json()["error"]["code"] == "video_expired"


def test_characters_by_id_are_used_and_consent_checked(sdk, client_for, settings):
    settings.GENERATION_MAX_IN_FLIGHT = 10  # every encoding below queues a job; none is rendered
    owner = UserFactory()
    mug = CameoFactory(owner=owner, kind=CameoKind.OBJECT, name="blue-mug", display_name="Blue Mug")
    response = create(sdk, prompt="Blue Mug dances on a table", characters=[{"id": f"char_{mug.pk}"}])
    assert response.status_code == 200, response.json()
    job = GenerationJob.objects.get(public_id=response.json()["id"])
    assert list(job.cameos.values_list("pk", flat=True)) == [mug.pk]

    # The SDK's multipart form: characters[][id].
    form = sdk.post(
        "/v1/videos", {"prompt": "@Blue Mug spins", "characters[][id]": f"char_{mug.pk}"}, format="multipart"
    )
    assert form.status_code == 200, form.json()
    assert list(GenerationJob.objects.get(public_id=form.json()["id"]).cameos.all()) == [mug]
    # A client generated from the schema: one `characters` part per object, the object as JSON.
    part = json.dumps({"id": f"char_{mug.pk}"})
    generated = sdk.post("/v1/videos", {"prompt": "@Blue Mug spins", "characters": part}, format="multipart")
    assert generated.status_code == 200, generated.json()
    assert list(GenerationJob.objects.get(public_id=generated.json()["id"]).cameos.all()) == [mug]
    # Or the whole array in one part; an id that names no character is a 404.
    whole = json.dumps([{"id": f"char_{mug.pk}"}])
    in_one = sdk.post("/v1/videos", {"prompt": "@Blue Mug spins", "characters": whole}, format="multipart")
    assert list(GenerationJob.objects.get(public_id=in_one.json()["id"]).cameos.all()) == [mug]
    nobody = sdk.post("/v1/videos", {"prompt": "x", "characters": json.dumps([{"id": "00"}])}, format="multipart")
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (404, "cameo_not_found")

    private = CameoFactory(owner=owner, kind=CameoKind.OBJECT, name="secret-lamp", audience="only_me")
    refused = create(sdk, characters=[{"id": f"char_{private.pk}"}])
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "cameo_not_found"
    bad = create(sdk, characters=[{"id": "video_123"}])
    assert bad.status_code == 400 and (bad.json()["error"]["code"], bad.json()["error"]["param"]) == (
        "invalid_character",
        "characters",
    )
    # A JSON body is what its schema says; nothing else is read as "not given" (schemathesis
    # found `characters: 0` accepted as no characters).
    wrong_bodies = [
        ({"characters": wrong}, "characters") for wrong in (0, None, {}, {"id": f"char_{mug.pk}"}, f"char_{mug.pk}")
    ] + [
        ({"characters": [f"char_{mug.pk}"]}, "characters"),
        ({"characters": [{"id": mug.pk}]}, "characters[0].id"),
        ({"size": 0}, "size"),
        ({"size": None}, "size"),
        ({"seconds": ""}, "seconds"),
    ]
    for body, param in wrong_bodies:
        response = create(sdk, **body)
        error = response.json()["error"]
        assert response.status_code == 400 and error["param"] == param, (body, error)
        assert error["code"] in ("invalid_type", "invalid_value"), (body, error)
    # A form's plain fields are held to the schema too (an empty size is not "the default").
    empty_size = sdk.post("/v1/videos", {"prompt": "x", "size": ""}, format="multipart")
    assert (empty_size.status_code, empty_size.json()["error"]["param"]) == (400, "size")
    assert GenerationJob.objects.count() == 4  # the refusals made no job and charged nothing


def test_the_cameo_limit_is_the_schemas_max_items_and_mentions_count_towards_it(sdk, client_for, settings):
    """More characters than the schema's maxItems is a 400 in either encoding, however many
    distinct ids they hold; within it, @mentions that take the video over the limit are a 422
    (no schema can state that rule). Schemathesis found three in one multipart part refused 400
    while the schema allowed any number."""
    settings.GENERATION_MAX_IN_FLIGHT = 10
    limit = settings.GENERATION_MAX_CAMEOS
    schema = client_for(UserFactory()).get("/api/schema/?format=json").json()
    body = schema["paths"]["/v1/videos"]["post"]["requestBody"]["content"]
    for media_type in ("application/json", "multipart/form-data"):
        ref = body[media_type]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert schema["components"]["schemas"][ref]["properties"]["characters"]["maxItems"] == limit

    mugs = [CameoFactory(kind=CameoKind.OBJECT, name=f"mug-{n}", display_name=f"Mug {n}") for n in range(limit + 1)]
    refs = [{"id": f"char_{mug.pk}"} for mug in mugs]
    too_many = [
        create(sdk, characters=refs),
        create(sdk, characters=[refs[0]] * (limit + 1)),  # the same id again is still an item
        sdk.post("/v1/videos", {"prompt": "x", "characters": json.dumps(refs)}, format="multipart"),
        sdk.post("/v1/videos", {"prompt": "x", "characters[][id]": [r["id"] for r in refs]}, format="multipart"),
    ]
    for response in too_many:
        error = response.json()["error"]
        assert (response.status_code, error["code"], error["param"]) == (400, "too_many_cameos", "characters")

    mentioned = create(sdk, prompt=f"@{mugs[-1].name} joins them", characters=refs[:limit])
    error = mentioned.json()["error"]
    assert (mentioned.status_code, error["code"], error["param"]) == (422, "too_many_cameos", "characters")
    assert not GenerationJob.objects.exists()

    within = create(sdk, prompt="two mugs on a shelf", characters=refs[:limit])
    assert within.status_code == 200, within.json()
    assert GenerationJob.objects.get(public_id=within.json()["id"]).cameos.count() == limit


def test_a_character_named_with_spaces_is_found_by_its_mention(sdk):
    mug = CameoFactory(kind=CameoKind.OBJECT, name="blue-mug", display_name="Blue Mug")
    response = create(sdk, prompt="@Blue Mug dances on a table")
    assert response.status_code == 200, response.json()
    assert list(GenerationJob.objects.get(public_id=response.json()["id"]).cameos.all()) == [mug]


def test_at_text_that_names_no_cameo_is_plain_text(sdk):
    for prompt in ("a neon sign that says @home glows in the rain", "fireworks for @2024 over a red ball"):
        response = create(sdk, prompt=prompt)
        assert response.status_code == 200, (prompt, response.json())
        assert not GenerationJob.objects.get(public_id=response.json()["id"]).cameos.exists()


def test_a_mention_of_a_cameo_still_needs_consent(sdk):
    person = CameoFactory(audience="only_me")
    response = create(sdk, prompt=f"@{person.owner.handle} surfing on the moon")
    assert response.status_code in (403, 404)
    assert response.json()["error"]["code"] in ("cameo_not_found", "cameo_permission_denied")
    assert not GenerationJob.objects.exists()


def test_unknown_input_reference_file_id_is_refused_before_charging(sdk):
    response = create(sdk, input_reference={"file_id": "file_abc"})
    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["param"]) == (
        "invalid_input_reference",
        "input_reference",
    )
    assert not GenerationJob.objects.exists() and not CreditEntry.objects.exists()


def test_a_video_input_reference_starts_from_its_first_frame(sdk):
    mp4 = SimpleUploadedFile("ref.mp4", clip_bytes(subject="object", card_at="none"), content_type="video/mp4")
    response = sdk.post("/v1/videos", {"prompt": "a blue square slides", "input_reference": mp4}, format="multipart")
    assert response.status_code == 200, response.json()
    job = GenerationJob.objects.get(public_id=response.json()["id"])
    with job.input_reference.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_out_of_credits_is_openais_insufficient_quota(sdk, settings):
    settings.GENERATION_DAILY_FREE_CREDITS = 1
    assert create(sdk).status_code == 200
    response = create(sdk)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "insufficient_quota"
    assert response.json()["error"]["type"] == "insufficient_quota"
    assert response["x-should-retry"] == "false" and int(response["Retry-After"]) > 0
