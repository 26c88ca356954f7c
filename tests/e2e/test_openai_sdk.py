"""The official `openai` package against a live server of ours: an app written for OpenAI's Videos
API works by changing its base URL. A real Celery worker renders with the embedded model."""

from __future__ import annotations

import asyncio
import io

import av
import pytest
from openai import AsyncOpenAI, NotFoundError, OpenAI
from openai.types import Video
from PIL import Image

from sora_social.users.services import token_issue
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _frames(mp4: bytes) -> tuple[int, int, int]:
    with av.open(io.BytesIO(mp4)) as container:
        frames = list(container.decode(video=0))
    return len(frames), frames[0].width, frames[0].height


def test_the_openai_sdk_runs_the_whole_videos_api(live_stack):
    _, token = token_issue(user=UserFactory(handle="sdk_user"))
    client = OpenAI(base_url=f"{live_stack.base_url}/v1", api_key=token, max_retries=0, timeout=120)

    first = client.videos.create(prompt="a red ball drops and bounces twice", seconds="4", size="720x1280")
    assert first.status in ("queued", "in_progress") and first.object == "video"
    done = client.videos.poll(first.id)  # follows the server's openai-poll-after-ms header
    assert done.status == "completed", done.error
    assert client.videos.retrieve(first.id).progress == 100

    mp4 = client.videos.download_content(first.id, variant="video").read()
    count, width, height = _frames(mp4)
    assert (width, height) == (720, 1280) and count > 0
    for variant in ("thumbnail", "spritesheet"):
        jpeg = client.videos.download_content(first.id, variant=variant).read()
        with Image.open(io.BytesIO(jpeg)) as image:
            assert image.format == "JPEG"

    remix = client.videos.remix(first.id, prompt="a blue ball drops and bounces twice")
    remix = client.videos.poll(remix.id)
    assert remix.status == "completed" and remix.remixed_from_video_id == first.id

    # `videos.extend` as the SDK sends it: the video as a multipart file (the MP4 just downloaded,
    # recognised as ours on the way in).
    extended = client.videos.extend(prompt="it keeps bouncing", seconds="4", video=("first.mp4", mp4, "video/mp4"))
    extended = client.videos.poll(extended.id)
    assert extended.status == "completed" and extended.seconds == "8"
    count, _, _ = _frames(client.videos.download_content(extended.id, variant="video").read())
    first_count, _, _ = _frames(mp4)
    assert count == 2 * first_count
    # The {"id": ...} reference form (the SDK refuses a dict client-side; its own JSON request),
    # accepted and then deleted (cancelled) unrendered: renders are what this test's time goes to.
    by_id = client.post(
        "/videos/extensions",
        cast_to=Video,
        body={"prompt": "it keeps bouncing", "seconds": "4", "video": {"id": first.id}},
    )
    assert by_id.status == "queued" and by_id.seconds == "8"
    assert client.videos.delete(by_id.id).deleted

    listed = client.videos.list(limit=2)
    assert [v.id for v in listed.data] == [extended.id, remix.id] and listed.has_more
    everything = [v.id for v in client.videos.list(limit=2)]  # the SDK pages with `after`
    assert everything == [extended.id, remix.id, first.id]

    deleted = client.videos.delete(remix.id)
    assert deleted.deleted and deleted.object == "video.deleted"
    with pytest.raises(NotFoundError):
        client.videos.download_content(remix.id, variant="video")
    with pytest.raises(NotFoundError):
        client.videos.retrieve(remix.id)
    assert client.videos.delete(remix.id).deleted  # idempotent
    assert remix.id not in [v.id for v in client.videos.list()]


def test_the_async_sdk_creates_polls_and_downloads(live_stack):
    _, token = token_issue(user=UserFactory(handle="sdk_async"))

    async def run() -> None:
        client = AsyncOpenAI(base_url=f"{live_stack.base_url}/v1", api_key=token, max_retries=0, timeout=120)
        done = await client.videos.create_and_poll(prompt="a green box slides to the right", model="sora-2")
        assert done.status == "completed" and done.model == "sora-2", done.error
        mp4 = await (await client.videos.download_content(done.id)).aread()
        assert _frames(mp4)[0] > 0
        edited = await client.videos.edit(prompt="the box turns red", video=("box.mp4", mp4, "video/mp4"))
        assert edited.status == "queued"
        assert [v.id async for v in client.videos.list()] == [edited.id, done.id]
        assert (await client.videos.delete(edited.id)).deleted  # cancelled before it renders
        assert [v.id async for v in client.videos.list()] == [done.id]

    asyncio.run(run())
