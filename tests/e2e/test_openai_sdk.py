"""The official `openai` package against a live server of ours: an app written for OpenAI's Videos
API works by changing its base URL. A real Celery worker renders with the embedded model."""

from __future__ import annotations

import io

import av
import pytest
from openai import NotFoundError, OpenAI
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

    # This SDK's `videos.extend` sends `video` as a multipart file part and refuses a {"id": ...}
    # reference client-side, so the reference form goes through the SDK's own JSON request.
    extended = client.post(
        "/videos/extensions",
        cast_to=Video,
        body={"prompt": "it keeps bouncing", "seconds": "4", "video": {"id": first.id}},
    )
    extended = client.videos.poll(extended.id)
    assert extended.status == "completed" and extended.seconds == "8"
    count, _, _ = _frames(client.videos.download_content(extended.id, variant="video").read())
    first_count, _, _ = _frames(mp4)
    assert count == 2 * first_count

    listed = client.videos.list(limit=2)
    assert [v.id for v in listed.data] == [extended.id, remix.id] and listed.has_more
    everything = [v.id for v in client.videos.list(limit=2)]  # the SDK pages with `after`
    assert everything == [extended.id, remix.id, first.id]

    deleted = client.videos.delete(remix.id)
    assert deleted.deleted and deleted.object == "video.deleted"
    with pytest.raises(NotFoundError):
        client.videos.download_content(remix.id, variant="video")
