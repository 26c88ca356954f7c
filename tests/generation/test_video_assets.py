"""Video assets: uploads decoded with PyAV (never trusting the name or type), thumbnails,
refusals with their own codes, and reading the bytes only as the posts showing them allow."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from feed import services as feed_services
from generation.media import encode_mp4, render_clip
from generation.models import Video
from generation.services import video_restore, video_take_down
from tests.feed.factories import PostFactory
from tests.generation.factories import real_video
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def _upload(client, data: bytes, name: str = "clip.mp4", content_type: str = "video/mp4"):
    return client.post(
        "/api/v1/videos", {"file": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart"
    )


def test_render_clip_is_real_h264_yuv420p():
    data = render_clip(seconds=0.5, width=64, height=48, seed=1)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        frames = list(container.decode(stream))
    assert len(frames) == 12 and (frames[0].width, frames[0].height) == (64, 48)


def test_upload_a_video_and_read_back_what_decoding_found(client_for):
    user = UserFactory()
    data = render_clip(seconds=2, fps=24, width=160, height=96, seed=3)
    # A misleading name and type change nothing: the bytes decide.
    response = _upload(client_for(user), data, name="holiday.gif", content_type="image/gif")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["width"], body["height"], body["frame_count"]) == (160, 96, 48)
    assert body["duration_s"] == pytest.approx(2.0, abs=0.05)
    assert body["fps"] == pytest.approx(24.0)
    assert body["codec"] == "h264" and body["size_bytes"] == len(data) and body["status"] == "ready"
    video = Video.objects.get(pk=body["id"])
    assert video.created_by == user
    assert "holiday" not in video.file.name and video.file.name.endswith(".mp4")
    with video.thumbnail.open("rb") as fh:
        thumb = Image.open(io.BytesIO(fh.read()))
        assert thumb.format == "JPEG" and thumb.size == (160, 96)
    # The thumbnail is the middle frame: the moving square is half way across.
    with video.thumbnail.open("rb") as fh:
        pixels = np.asarray(Image.open(fh).convert("L"), dtype=np.int16)
    column_energy = np.abs(np.diff(pixels, axis=1)).sum(axis=0)
    edge = int(np.argmax(column_energy))
    assert 40 < edge < 120

    own = client_for(user).get("/api/v1/videos").json()["results"]
    assert [v["id"] for v in own] == [body["id"]]


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"definitely not a video" * 50, 415, "invalid_video"),
        (b"", 400, None),  # an empty upload is refused by the form field
    ],
)
def test_non_videos_are_refused(client_for, data, status, code):
    response = _upload(client_for(UserFactory()), data)
    assert response.status_code == status
    if code:
        assert response.json()["error"]["code"] == code
    assert not Video.objects.exists()


def test_an_image_named_mp4_is_refused(client_for):
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, format="PNG")
    response = _upload(client_for(UserFactory()), buf.getvalue(), name="clip.mp4")
    assert response.status_code == 415
    assert response.json()["error"]["code"] in {"unsupported_container", "invalid_video"}


def test_a_truncated_mp4_is_refused(client_for):
    data = render_clip(seconds=1, seed=2)
    response = _upload(client_for(UserFactory()), data[: len(data) // 3])
    assert response.status_code == 415
    assert not Video.objects.exists()


def test_over_long_clips_are_refused(client_for, monkeypatch):
    import generation.services as gs

    monkeypatch.setattr(gs, "MAX_VIDEO_SECONDS", 1.0)
    response = _upload(client_for(UserFactory()), render_clip(seconds=2, width=64, height=48))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "video_too_long"
    assert not Video.objects.exists()


def test_over_large_files_are_refused(client_for, settings):
    settings.MAX_VIDEO_UPLOAD_BYTES = 1000
    response = _upload(client_for(UserFactory()), render_clip(seconds=1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "video_too_large"


def test_odd_frames_encode_requirement():
    with pytest.raises(ValueError):
        encode_mp4(np.zeros((2, 15, 16, 3), dtype=np.uint8))


def test_reading_bytes_follows_the_posts_that_show_the_video(client_for, anon_client):
    owner, friend_viewer, stranger = UserFactory(), UserFactory(), UserFactory()
    video = real_video(owner)
    owner_client = client_for(owner)
    stranger_client = client_for(stranger)
    # Unposted: only its owner reads it.
    assert owner_client.get(f"/api/v1/videos/{video.pk}/content").status_code == 200
    assert stranger_client.get(f"/api/v1/videos/{video.pk}/content").status_code == 404
    assert stranger_client.get(f"/api/v1/videos/{video.pk}").status_code == 404
    assert anon_client.get(f"/api/v1/videos/{video.pk}/content").status_code == 401

    post = feed_services.post_create(author=owner, video=video, visibility="public")
    response = stranger_client.get(f"/api/v1/posts/{post.pk}")
    url = response.json()["video"]["url"]
    thumb_url = response.json()["video"]["thumbnail_url"]
    # The signed URL works without a bearer token (video players cannot always send one).
    played = anon_client.get(url)
    assert played.status_code == 200 and played["Content-Type"] == "video/mp4"
    body = b"".join(played.streaming_content)
    with video.file.open("rb") as fh:
        assert body == fh.read()
    assert anon_client.get(thumb_url)["Content-Type"] == "image/jpeg"
    # Seeking: a byte range.
    ranged = anon_client.get(url, HTTP_RANGE="bytes=10-19")
    assert ranged.status_code == 206 and ranged["Content-Range"] == f"bytes 10-19/{video.size_bytes}"
    assert b"".join(ranged.streaming_content) == body[10:20]
    assert anon_client.get(url, HTTP_RANGE="bytes=999999-").status_code == 416
    # A token for one video does not open another, nor the other variant.
    assert anon_client.get(url.replace(f"/videos/{video.pk}/", f"/videos/{video.pk + 1}/")).status_code == 404
    assert anon_client.get(url.replace("variant=video", "variant=thumbnail")).status_code == 404

    # The post turns private: the link the stranger holds stops working at once.
    feed_services.post_update(post=post, by=owner, visibility="private")
    assert anon_client.get(url).status_code == 404
    assert stranger_client.get(f"/api/v1/videos/{video.pk}/content").status_code == 404
    feed_services.post_update(post=post, by=owner, visibility="public")
    assert anon_client.get(url).status_code == 200

    # Taken down: served to nobody, owner included; restored: back.
    video_take_down(video=video, reason="copyright claim")
    assert anon_client.get(url).status_code == 404
    assert owner_client.get(f"/api/v1/videos/{video.pk}/content").status_code == 404
    assert client_for(friend_viewer).get(f"/api/v1/posts/{post.pk}").status_code == 404
    video_restore(video=Video.objects.get(pk=video.pk))
    assert client_for(friend_viewer).get(f"/api/v1/posts/{post.pk}").status_code == 200


def test_a_forged_token_is_refused(anon_client):
    post = PostFactory()
    assert anon_client.get(f"/api/v1/videos/{post.video_id}/content", {"token": "abc:def"}).status_code == 404


def test_uploads_are_throttled_per_user(client_for, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"video_upload": "2/min"})
    cache.clear()
    api = client_for(UserFactory())
    clip = render_clip(seconds=0.5, seed=3)
    try:
        codes = [
            api.post("/api/v1/videos", {"file": SimpleUploadedFile("a.mp4", clip)}, format="multipart").status_code
            for _ in range(3)
        ]
        listing = api.get("/api/v1/videos")
    finally:
        cache.clear()
    assert codes == [201, 201, 429]
    assert listing.status_code == 200  # reading your own videos is not throttled
