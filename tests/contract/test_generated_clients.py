"""Clients generated from the live schema work.

- A Python client generated with openapi-python-client (pinned in requirements-dev.txt) drives
  the main flow against a live server and workers: sign up, follow, make a cameo, generate with
  it, post, remix, read the feeds, comment, read notifications. Every answer is parsed into the
  generated models, so a response that does not match the schema fails here.
- TypeScript types generated with openapi-typescript (tests/contract/ts/package.json) type-check
  with tsc, together with code written against them (tests/contract/ts/usage.ts).
"""

from __future__ import annotations

import datetime
import importlib
import io
import pkgutil
import shutil
import subprocess
import sys
import time
import types
import uuid
from pathlib import Path

import httpx
import pytest

from tests.cameos.factories import clip_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
TS = HERE / "ts"


@pytest.fixture(scope="module")
def live_schema(live_stack, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "openapi.json"
    response = httpx.get(f"{live_stack.base_url}/api/schema/", headers={"Accept": "application/json"}, timeout=60)
    response.raise_for_status()
    path.write_bytes(response.content)
    return path


@pytest.fixture(scope="module")
def sora_client(live_schema, tmp_path_factory) -> types.ModuleType:
    out = tmp_path_factory.mktemp("client")
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(live_schema),
            "--meta",
            "none",
            "--output-path",
            str(out / "sora_client"),
            "--config",
            str(HERE / "openapi-python-client.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": f"{BIN}:/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(out))
    try:
        package = importlib.import_module("sora_client")
        failed = {}
        modules = list(pkgutil.walk_packages(package.__path__, "sora_client."))
        for module in modules:
            try:
                importlib.import_module(module.name)
            except Exception as exc:
                failed[module.name.rsplit(".", 1)[1]] = repr(exc)
        assert len(modules) > 300
        assert not failed, failed
        yield package
    finally:
        sys.path.remove(str(out))


def _ok(response, status: int = 200):
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.parsed


def _wait(fetch, done, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if done(value):
            return value
        time.sleep(0.5)
    raise AssertionError(f"not done in {timeout}s: {value}")


def test_the_generated_python_client_drives_the_main_flow(live_stack, sora_client):
    from sora_client import Client
    from sora_client.api.auth import auth_signup
    from sora_client.api.cameos import cameos_challenges_create, cameos_create, cameos_retrieve, cameos_update
    from sora_client.api.comments import posts_comments_create
    from sora_client.api.feeds import feed_following_list, feed_for_you_list, feed_latest_list
    from sora_client.api.generation import generations_create, generations_retrieve
    from sora_client.api.graph import users_follow
    from sora_client.api.notifications import notifications_list
    from sora_client.api.posts import posts_create, posts_remixes_create, posts_remixes_list
    from sora_client.models import (
        CameoAudience,
        CameoKind,
        CameoStatus,
        CameoUploadInputRequest,
        ChallengeInputRequest,
        CommentCreateInputRequest,
        GenerationInputRequest,
        GenerationInputSecondsEnum,
        NotificationKind,
        PatchedCameoUpdateInputRequest,
        PostCreateInputRequest,
        SignupInputRequest,
        VisibilityEnum,
    )
    from sora_client.types import File

    base = live_stack.base_url
    anonymous = Client(base_url=base, timeout=60)
    suffix = uuid.uuid4().hex[:6]

    def account(name: str):
        body = SignupInputRequest(
            handle=f"{name}_{suffix}", password=f"Pw-{uuid.uuid4().hex}", date_of_birth=datetime.date(1990, 1, 1)
        )
        token = _ok(auth_signup.sync_detailed(client=anonymous, body=body), 201)
        return sora_client.AuthenticatedClient(base_url=base, token=token.token, timeout=120), body.handle

    ava, ava_handle = account("ava")
    ben, _ = account("ben")

    # follow
    assert users_follow.sync_detailed(ava_handle, client=ben).status_code == 204

    # cameo: a challenge, a clip showing a face and the challenge card, verified by the worker
    challenge = _ok(
        cameos_challenges_create.sync_detailed(
            client=ava, body=ChallengeInputRequest(kind=CameoKind.PERSON, name=f"ava{suffix}")
        ),
        201,
    )
    clip = clip_bytes(challenge=types.SimpleNamespace(pk=challenge.id, code=challenge.code))
    upload = CameoUploadInputRequest(
        challenge_id=challenge.id, clip=File(payload=io.BytesIO(clip), file_name="me.mp4", mime_type="video/mp4")
    )
    cameo = _ok(cameos_create.sync_detailed(client=ava, body=upload), 202)
    cameo = _wait(
        lambda: _ok(cameos_retrieve.sync_detailed(cameo.id, client=ava)), lambda c: c.status != CameoStatus.PENDING
    )
    assert cameo.status == CameoStatus.ACTIVE, cameo.rejection_reason
    # Anyone may use it, so Ben can remix a video that shows it (cameos travel with the pixels).
    _ok(
        cameos_update.sync_detailed(
            cameo.id, client=ava, body=PatchedCameoUpdateInputRequest(audience=CameoAudience.EVERYONE)
        )
    )

    # generate with the cameo, then post the draft
    def generate(client, body):
        job = _ok(generations_create.sync_detailed(client=client, body=body), 201)
        job = _wait(
            lambda: _ok(generations_retrieve.sync_detailed(job.id, client=client)),
            lambda j: j.status not in ("queued", "running"),
        )
        assert job.status == "succeeded", job.error
        return job

    job = generate(
        ava,
        GenerationInputRequest(
            prompt="a red ball drops and bounces twice",
            cameos=[str(cameo.id)],
            seconds=GenerationInputSecondsEnum.VALUE_4,
            seed=7,
        ),
    )
    post = _ok(
        posts_create.sync_detailed(
            client=ava,
            body=PostCreateInputRequest(video_id=job.video.id, caption="bouncing", visibility=VisibilityEnum.PUBLIC),
        ),
        201,
    )

    # remix: Ben generates from Ava's post and posts it as a remix of it
    remix_job = generate(ben, GenerationInputRequest(prompt="a blue ball drops and bounces twice", remix_of=post.id))
    remix = _ok(
        posts_remixes_create.sync_detailed(
            post.id, client=ben, body=PostCreateInputRequest(video_id=remix_job.video.id, caption="now in blue")
        ),
        201,
    )
    tree = _ok(posts_remixes_list.sync_detailed(post.id, client=ava))
    assert remix.id in {node.id for node in tree.results}

    # feeds
    following = _ok(feed_following_list.sync_detailed(client=ben))
    assert post.id in {p.id for p in following.results}
    latest = _ok(feed_latest_list.sync_detailed(client=ben))
    assert {post.id, remix.id} <= {p.id for p in latest.results}
    assert _ok(feed_for_you_list.sync_detailed(client=ben)).results is not None

    # comment, and Ava hears about all of it
    _ok(posts_comments_create.sync_detailed(post.id, client=ben, body=CommentCreateInputRequest(body="nice")), 201)
    notes = _wait(
        lambda: _ok(notifications_list.sync_detailed(client=ava)),
        lambda page: {NotificationKind.COMMENT, NotificationKind.POST_REMIXED} <= {n.kind for n in page.results},
        timeout=60,
    )
    kinds = {n.kind for n in notes.results}
    assert {NotificationKind.NEW_FOLLOWER, NotificationKind.GENERATION_COMPLETED} <= kinds, kinds
    comment = next(n for n in notes.results if n.kind == NotificationKind.COMMENT)
    assert comment.data.post_id == post.id and comment.actor.handle.startswith("ben_")

    # /v1/videos, OpenAI's Videos API, through the generated modules: a JSON create with a
    # character and an Idempotency-Key (its retry is the same video), rendered, its content
    # downloaded; a multipart create (the openai SDK's encoding), deleted while it waits.
    from sora_client.api.openai_compatible import (
        openai_videos_content,
        openai_videos_create,
        openai_videos_delete,
        openai_videos_retrieve,
    )
    from sora_client.models import (
        CharacterRefRequest,
        OpenAIVideoSecondsEnum,
        VideoCreateRequest,
        VideoCreateUploadRequest,
        VideoObjectStatusEnum,
    )

    key = uuid.uuid4().hex
    body = VideoCreateRequest(
        prompt="a green ball drops and bounces twice",
        seconds=OpenAIVideoSecondsEnum.VALUE_0,
        characters=[CharacterRefRequest(id=f"char_{cameo.id}")],
    )
    video = _ok(openai_videos_create.sync_detailed(client=ava, body=body, idempotency_key=key))
    assert _ok(openai_videos_create.sync_detailed(client=ava, body=body, idempotency_key=key)).id == video.id
    video = _wait(
        lambda: _ok(openai_videos_retrieve.sync_detailed(video.id, client=ava)),
        lambda v: v.status in (VideoObjectStatusEnum.COMPLETED, VideoObjectStatusEnum.FAILED),
    )
    assert video.status == VideoObjectStatusEnum.COMPLETED, video.error
    assert _ok(openai_videos_content.sync_detailed(video.id, client=ava)).payload.read()[4:8] == b"ftyp"

    upload = VideoCreateUploadRequest(
        prompt="a yellow ball rolls", characters=[CharacterRefRequest(id=f"char_{cameo.id}")]
    )
    waiting = _ok(openai_videos_create.sync_detailed(client=ava, body=upload))
    assert _ok(openai_videos_delete.sync_detailed(waiting.id, client=ava)).deleted
    assert openai_videos_retrieve.sync_detailed(waiting.id, client=ava).status_code == 404


def _npm_tools() -> Path:
    """openapi-typescript and tsc, installed from package-lock.json into tests/contract/ts
    (`make test` does it first; here too, for a plain pytest run)."""
    if not (TS / "node_modules" / ".bin" / "tsc").exists():
        npm = shutil.which("npm")
        assert npm, "npm is missing: `make test` installs Debian's nodejs and npm"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TS, check=True, timeout=600)
    return TS / "node_modules" / ".bin"


def test_typescript_types_from_the_live_schema_type_check(live_schema):
    tools = _npm_tools()
    generated = TS / "generated"
    generated.mkdir(exist_ok=True)
    subprocess.run(
        [
            str(tools / "openapi-typescript"),
            str(live_schema),
            "-o",
            str(generated / "api.ts"),
            "--default-non-nullable",
            "false",
        ],
        cwd=TS,
        check=True,
        timeout=300,
        capture_output=True,
    )
    result = subprocess.run(
        [str(tools / "tsc"), "-p", "tsconfig.json"], cwd=TS, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
