"""Videos for tests: rows that point at one real clip in storage (fast), or real uploads."""

from __future__ import annotations

import hashlib
from functools import cache

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from generation.media import render_clip
from generation.models import Video, VideoSource
from generation.services import video_create_from_bytes
from tests.users.factories import UserFactory

CLIP_SECONDS = 1.0
CLIP_SIZE = (160, 96)


@cache
def _clip_bytes() -> bytes:
    return render_clip(seconds=CLIP_SECONDS, width=CLIP_SIZE[0], height=CLIP_SIZE[1], seed=7)


@cache
def _shared_files() -> tuple[str, str]:
    """One real MP4 and thumbnail in the test storage, shared by factory videos."""
    import io

    from PIL import Image

    video_name = default_storage.save("tests/factory-clip.mp4", ContentFile(_clip_bytes()))
    buf = io.BytesIO()
    Image.new("RGB", CLIP_SIZE, (90, 120, 200)).save(buf, format="JPEG")
    thumb_name = default_storage.save("tests/factory-thumb.jpg", ContentFile(buf.getvalue()))
    return video_name, thumb_name


class VideoFactory(factory.django.DjangoModelFactory):
    """A ready Video row backed by a real clip; use `real_video()` to go through the upload path."""

    class Meta:
        model = Video

    created_by = factory.SubFactory(UserFactory)
    source = VideoSource.UPLOAD
    file = factory.LazyFunction(lambda: _shared_files()[0])
    thumbnail = factory.LazyFunction(lambda: _shared_files()[1])
    size_bytes = factory.LazyFunction(lambda: len(_clip_bytes()))
    sha256 = factory.LazyFunction(lambda: hashlib.sha256(_clip_bytes()).hexdigest())
    duration_s = CLIP_SECONDS
    width, height = CLIP_SIZE
    frame_count = 24
    fps = 24.0


def real_video(user, *, seconds: float = 1.0, seed: int = 0) -> Video:
    """A Video made by the real service from a freshly rendered clip."""
    return video_create_from_bytes(user=user, data=render_clip(seconds=seconds, seed=seed), source=VideoSource.UPLOAD)


def clip_bytes(*, seconds: float = 1.0, seed: int = 0, width: int = 160, height: int = 96) -> bytes:
    return render_clip(seconds=seconds, seed=seed, width=width, height=height)
