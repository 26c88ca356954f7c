"""The official `openai` SDK (sync and async) against our Django app in this process, through
httpx's WSGI and ASGI transports: every `client.videos.*` method as the SDK sends it, and our
errors as the SDK raises them (`.code`, `.param`). Jobs are not rendered here (the e2e test
runs a real worker); a finished job is set as the worker leaves it.
"""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import httpx2
import openai
import pytest
from django.core.asgi import get_asgi_application
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from openai import AsyncOpenAI, OpenAI

from cameos.models import CameoKind
from generation.backends.base import reset_backends
from generation.models import CreditEntry, GenerationJob, JobStatus
from sora_social.apikeys.services import api_key_create
from sora_social.users.services import token_issue
from tests.cameos.factories import CameoFactory
from tests.cameos.factories import clip_bytes as object_clip
from tests.generation.factories import clip_bytes
from tests.generation.test_openai_api import complete
from tests.users.factories import UserFactory


@pytest.fixture(autouse=True)
def _no_dispatch(monkeypatch):
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)


@pytest.fixture
def sdk(db):
    """An OpenAI client whose requests go to our WSGI app, inside the test's transaction."""
    # As Django's test client does: a request must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    user = UserFactory()
    _, token = token_issue(user=user)
    http = httpx2.Client(transport=httpx2.WSGITransport(app=get_wsgi_application()), base_url="http://testserver")
    client = OpenAI(base_url="http://testserver/v1", api_key=token, http_client=http, max_retries=0)
    client.user = user
    yield client
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_videos_method_sync(sdk):
    video = sdk.videos.create(prompt="a red ball drops and bounces twice", seconds="4", size="720x1280")
    assert (video.status, video.object, video.model) == ("queued", "video", "sora-social-stdit-v1")
    assert sdk.videos.retrieve(video.id).id == video.id
    with pytest.raises(openai.ConflictError) as early:
        sdk.videos.download_content(video.id)
    assert early.value.code == "video_not_ready"

    complete(video.id)
    assert sdk.videos.retrieve(video.id).status == "completed"
    assert sdk.videos.poll(video.id).status == "completed"
    mp4 = sdk.videos.download_content(video.id, variant="video").read()
    assert mp4[4:8] == b"ftyp"
    assert sdk.videos.download_content(video.id, variant="thumbnail").read()[:2] == b"\xff\xd8"

    remix = sdk.videos.remix(video.id, prompt="a blue ball drops and bounces twice")
    assert remix.remixed_from_video_id == video.id
    # extend and edit as the SDK sends them: the video as a multipart file.
    extended = sdk.videos.extend(prompt="it keeps bouncing", seconds="4", video=("clip.mp4", mp4, "video/mp4"))
    assert extended.status == "queued"
    extend_job = GenerationJob.objects.get(public_id=extended.id)
    assert extend_job.kind == "extend" and extend_job.source_video.created_by_id == sdk.user.pk
    edited = sdk.videos.edit(prompt="make the ball green", video=io.BytesIO(clip_bytes(seconds=2.0)))
    edit_job = GenerationJob.objects.get(public_id=edited.id)
    assert edit_job.kind == "edit" and edit_job.seconds == 4

    page = sdk.videos.list(limit=2)
    assert [v.id for v in page.data] == [edited.id, extended.id] and page.has_more
    assert [v.id for v in sdk.videos.list(limit=2)] == [edited.id, extended.id, remix.id, video.id]

    deleted = sdk.videos.delete(remix.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (remix.id, True, "video.deleted")
    assert sdk.videos.delete(remix.id).deleted  # a retried DELETE answers the same
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(remix.id)
    assert remix.id not in [v.id for v in sdk.videos.list()]


def test_characters_sync(sdk):
    character = sdk.videos.create_character(
        name="Blue Mug", video=("mug.mp4", object_clip(subject="object", card_at="none"), "video/mp4")
    )
    assert character.name == "Blue Mug" and character.id.startswith("char_")
    assert sdk.videos.get_character(character.id).name == "Blue Mug"
    # A character someone shared with everyone, used by id and named with its space in the prompt.
    mug = CameoFactory(kind=CameoKind.OBJECT, name="red-mug", display_name="Red Mug")
    video = sdk.videos.create(prompt="@Red Mug on a table", extra_body={"characters": [{"id": f"char_{mug.pk}"}]})
    assert list(GenerationJob.objects.get(public_id=video.id).cameos.all()) == [mug]
    # "@" text that names no cameo is text.
    assert sdk.videos.create(prompt="a neon sign that says @home").status == "queued"


def test_errors_carry_code_and_param(sdk, settings):
    cases = [
        (dict(prompt="x", seconds="5"), openai.BadRequestError, "invalid_seconds", "seconds"),
        (dict(prompt="x", model="sora-9"), openai.BadRequestError, "model_not_found", "model"),
        (
            dict(prompt="x", extra_body={"characters": [{"id": "nope"}]}),
            openai.BadRequestError,
            "invalid_character",
            "characters",
        ),
        (
            dict(prompt="x", extra_body={"input_reference": {"file_id": "file_1"}}),
            openai.BadRequestError,
            "invalid_input_reference",
            "input_reference",
        ),
    ]
    charged = CreditEntry.objects.count()
    for kwargs, error, code, param in cases:
        with pytest.raises(error) as raised:
            sdk.videos.create(**kwargs)
        assert (raised.value.code, raised.value.param) == (code, param)
    assert CreditEntry.objects.count() == charged  # nothing refused was charged
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.videos.retrieve("video_nope")
    assert missing.value.code == "generation_not_found"

    settings.GENERATION_DAILY_FREE_CREDITS = 1
    sdk.videos.create(prompt="a red ball")
    with pytest.raises(openai.RateLimitError) as broke:
        sdk.videos.create(prompt="a red ball")
    assert broke.value.code == "insufficient_quota" and broke.value.type == "insufficient_quota"


def _raises(call, error: type[openai.APIStatusError], code: str, param: str | None) -> openai.APIStatusError:
    with pytest.raises(error) as raised:
        call()
    assert type(raised.value) is error  # the class itself, not a sibling the status falls under
    assert (raised.value.code, raised.value.param) == (code, param), raised.value.body
    return raised.value


async def _araises(call, error: type[openai.APIStatusError], code: str, param: str | None) -> None:
    with pytest.raises(error) as raised:
        await call
    assert type(raised.value) is error
    assert (raised.value.code, raised.value.param) == (code, param), raised.value.body


@pytest.fixture
def backend_down(settings, tmp_path):
    """The operator's model folder is missing: a submit cannot know what the model renders."""
    settings.GENERATION_BACKEND = "diffusers"
    settings.GENERATION_DIFFUSERS_MODEL_DIR = str(tmp_path / "missing-model")
    reset_backends()
    yield
    reset_backends()


def test_every_error_class_of_the_sdk_sync(sdk, settings):
    """Each exception class the SDK raises for a status, from a real refusal of ours, with OpenAI's
    code and the field it is about (the table: sora_social/common/openai_errors.py)."""
    http = sdk._client
    stranger = OpenAI(base_url="http://testserver/v1", api_key="not-a-token", http_client=http, max_retries=0)
    _raises(lambda: stranger.videos.list(), openai.AuthenticationError, "invalid_api_key", None)
    # An app's key without the videos scope.
    _, secret = api_key_create(user=sdk.user, name="feed bot", scopes=["social"])
    social = OpenAI(base_url="http://testserver/v1", api_key=secret, http_client=http, max_retries=0)
    _raises(lambda: social.videos.list(), openai.PermissionDeniedError, "insufficient_scope", None)

    video = sdk.videos.create(prompt="a red ball drops", extra_headers={"Idempotency-Key": "k-1"})
    _raises(lambda: sdk.videos.download_content(video.id), openai.ConflictError, "video_not_ready", None)
    _raises(
        lambda: sdk.videos.create(prompt="a blue ball drops", extra_headers={"Idempotency-Key": "k-1"}),
        openai.UnprocessableEntityError,
        "idempotency_key_reused",
        "Idempotency-Key",
    )
    # Not a video: 415 among our own routes, 400 here (the SDK has no class for 415).
    _raises(
        lambda: sdk.videos.extend(prompt="more", seconds="4", video=("v.mp4", b"not a video", "video/mp4")),
        openai.BadRequestError,
        "invalid_video",
        "video",
    )
    _raises(lambda: sdk.videos.get_character("char_0"), openai.NotFoundError, "character_not_found", None)

    settings.GENERATION_MAX_IN_FLIGHT = 1
    rate = _raises(
        lambda: sdk.videos.create(prompt="a red ball"), openai.RateLimitError, "too_many_jobs_in_flight", None
    )
    assert rate.type == "requests" and int(rate.response.headers["Retry-After"]) > 0

    sdk.user.suspended_until = timezone.now() + timedelta(days=1)
    sdk.user.save(update_fields=["suspended_until"])
    _raises(lambda: sdk.videos.create(prompt="a red ball"), openai.PermissionDeniedError, "account_suspended", None)


def test_a_server_error_is_internal_server_error(sdk, backend_down):
    error = _raises(
        lambda: sdk.videos.create(prompt="a red ball"), openai.InternalServerError, "generation_unavailable", None
    )
    assert error.status_code == 503 and error.type == "server_error"


@pytest.mark.django_db(transaction=True)
def test_every_videos_method_async(settings, tmp_path):
    """AsyncOpenAI through Django's ASGI handler (views run in its worker thread: committed data)."""
    user = UserFactory()
    _, token = token_issue(user=user)

    async def run() -> None:
        http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=get_asgi_application()))
        client = AsyncOpenAI(base_url="http://testserver/v1", api_key=token, http_client=http, max_retries=0)
        video = await client.videos.create(prompt="a red ball drops and bounces twice", model="sora-2")
        assert (await client.videos.retrieve(video.id)).model == "sora-2"
        await asyncio.to_thread(complete, video.id)
        done = await client.videos.poll(video.id)
        assert done.status == "completed" and done.model == "sora-2" and done.expires_at > done.completed_at
        content = await client.videos.download_content(video.id)
        mp4 = await content.aread()
        assert mp4[4:8] == b"ftyp"
        remix = await client.videos.remix(video.id, prompt="now in blue")
        extended = await client.videos.extend(prompt="more", seconds="4", video=("v.mp4", mp4, "video/mp4"))
        edited = await client.videos.edit(prompt="green", video=("v.mp4", mp4, "video/mp4"))
        ids = [v.id async for v in client.videos.list(limit=2)]
        assert ids == [edited.id, extended.id, remix.id, video.id]
        character = await client.videos.create_character(
            name="Lamp", video=("lamp.mp4", object_clip(subject="object", card_at="none"), "video/mp4")
        )
        assert (await client.videos.get_character(character.id)).name == "Lamp"
        assert (await client.videos.delete(remix.id)).deleted
        await _araises(client.videos.retrieve(remix.id), openai.NotFoundError, "generation_not_found", None)
        await _araises(
            client.videos.create(prompt="x", model="nope"), openai.BadRequestError, "model_not_found", "model"
        )

        # Every other exception class of the SDK, from a real refusal (as in the sync test).
        stranger = AsyncOpenAI(base_url="http://testserver/v1", api_key="not-a-token", http_client=http, max_retries=0)
        await _araises(stranger.videos.list(), openai.AuthenticationError, "invalid_api_key", None)
        _, secret = await asyncio.to_thread(api_key_create, user=user, name="feed bot", scopes=["social"])
        social = AsyncOpenAI(base_url="http://testserver/v1", api_key=secret, http_client=http, max_retries=0)
        await _araises(social.videos.list(), openai.PermissionDeniedError, "insufficient_scope", None)
        await _araises(client.videos.download_content(extended.id), openai.ConflictError, "video_not_ready", None)
        keyed = {"Idempotency-Key": "k-1"}
        await client.videos.create(prompt="a red ball", extra_headers=keyed)
        await _araises(
            client.videos.create(prompt="a blue ball", extra_headers=keyed),
            openai.UnprocessableEntityError,
            "idempotency_key_reused",
            "Idempotency-Key",
        )
        settings.GENERATION_MAX_IN_FLIGHT = 3  # the extension, the edit and that one are queued
        await _araises(client.videos.create(prompt="x"), openai.RateLimitError, "too_many_jobs_in_flight", None)
        settings.GENERATION_BACKEND, settings.GENERATION_DIFFUSERS_MODEL_DIR = "diffusers", str(tmp_path / "none")
        reset_backends()
        await _araises(client.videos.create(prompt="x"), openai.InternalServerError, "generation_unavailable", None)
        await http.aclose()

    try:
        asyncio.run(run())
    finally:
        reset_backends()
    # the extension, the edit and the keyed create wait for a worker; the remix was deleted (cancelled)
    assert GenerationJob.objects.filter(user=user, status=JobStatus.QUEUED).count() == 3
