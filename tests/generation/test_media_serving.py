"""How a video's bytes leave the service (generation/media_serving.py): Django's own ranged
stream in development, X-Accel-Redirect behind nginx; the object store's presigned URLs are
exercised against Ceph RGW in tests/cluster/."""

from __future__ import annotations

import pytest
from django.test import override_settings

from generation import selectors
from generation.media import render_clip
from generation.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded(api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    clip = render_clip(seconds=1.0, seed=3)
    response = api.post(
        "/api/v1/videos", {"file": SimpleUploadedFile("c.mp4", clip, content_type="video/mp4")}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _bytes(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_django_serves_ranges_itself_in_development(api, uploaded):
    url = uploaded["url"]
    whole = _bytes(api.get(url))
    part = api.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    assert _bytes(part) == whole[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(whole)}"
    tail = api.get(url, HTTP_RANGE="bytes=-5")
    assert _bytes(tail) == whole[-5:]
    assert api.get(url, HTTP_RANGE=f"bytes={len(whole)}-").status_code == 416


@override_settings(MEDIA_ACCEL_REDIRECT_PREFIX="/_accel/media/")
def test_behind_nginx_the_web_server_sends_the_bytes(api, uploaded, anon_client):
    video = Video.objects.get(pk=uploaded["id"])
    response = api.get(uploaded["url"], HTTP_RANGE="bytes=0-99")
    assert response.status_code == 200  # nginx turns it into the 206 (it reads Range itself)
    assert response["X-Accel-Redirect"] == f"/_accel/media/{video.file.name}"
    assert response.content == b""
    assert response["Cache-Control"].startswith("private")
    # The signed-link rules still decide first: a forged token gets no redirect.
    forged = anon_client.get(uploaded["url"].replace("token=", "token=x"))
    assert forged.status_code == 404 and not forged.has_header("X-Accel-Redirect")
    # Someone else's token for the same video does not pass for the owner's.
    token = selectors.content_token(video_id=video.pk, variant="thumbnail", viewer_id=video.created_by_id)
    wrong_variant = anon_client.get(f"/api/v1/videos/{video.pk}/content?variant=video&token={token}")
    assert wrong_variant.status_code == 404 and not wrong_variant.has_header("X-Accel-Redirect")
