"""Reads of video assets: who may see one, signed content URLs, a user's uploads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.encoding import force_bytes

from generation import ports
from generation.models import Video, VideoStatus
from sora_social.common.errors import NotFound
from sora_social.users.models import User

VARIANTS = ("video", "thumbnail")
# The embedded model's name (generation/video_model/training.py MODEL_NAME; not imported: torch).
EMBEDDED_MODEL_NAME = "sora-social-stdit-v1"
# Long enough to watch a feed session, short enough that a leaked URL soon stops working.
CONTENT_URL_TTL_S = 60 * 60
_SALT = "generation.video-content"


def video_can_view(*, viewer_id: int | None, video: Video) -> bool:
    """The owner, or anyone a registered check lets through (feed: a visible post shows it).

    A taken-down video is served to nobody.
    """
    if video.status != VideoStatus.READY:
        return False
    if viewer_id is not None and viewer_id == video.created_by_id:
        return True
    if viewer_id is None:
        return False
    return any(check(viewer_id, video) for check in ports.viewer_checks())


def video_get_for_viewer(*, viewer: User, video_id: int) -> Video:
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video_can_view(viewer_id=viewer.pk if viewer.is_authenticated else None, video=video):
        raise NotFound("video_not_found", "No such video.")
    return video


def video_get_owned(*, user: User, video_id: int) -> Video:
    """One of `user`'s own videos, ready to be posted."""
    video = Video.objects.filter(pk=video_id, created_by=user).first()
    if video is None:
        raise NotFound("video_not_found", "No such video.")
    return video


def videos_of_user(*, user: User) -> QuerySet[Video]:
    return Video.objects.filter(created_by=user)


def _token_payload(video_id: int, variant: str, viewer_id: int) -> str:
    # Exactly what signing.dumps() writes for this dict (compact JSON, url-safe base64 without
    # padding), so content_token_viewer() reads it with the stock signing.loads().
    if type(video_id) is int and type(viewer_id) is int and variant in VARIANTS:
        data = f'{{"v":{video_id},"k":"{variant}","u":{viewer_id}}}'.encode()  # what json.dumps writes
    else:
        data = json.dumps({"v": video_id, "k": variant, "u": viewer_id}, separators=(",", ":")).encode("latin-1")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@lru_cache(maxsize=4)
def _token_hmac(secret: str) -> hmac.HMAC:
    """The HMAC state after the derived key, as django.core.signing's Signer computes it for
    `_SALT` (salted_hmac(salt + "signer", value, secret, algorithm="sha256")): deriving the key
    and setting up the HMAC is most of a signature's cost, and a feed page signs 40 URLs."""
    key = hashlib.sha256(force_bytes(_SALT + "signer") + force_bytes(secret)).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _sign(mac: hmac.HMAC, value: str) -> str:
    mac = mac.copy()
    mac.update(value.encode())
    return f"{value}:{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"


def content_token(*, video_id: int, variant: str, viewer_id: int) -> str:
    """A signed, expiring grant for `viewer_id` to read one variant of one video.

    Byte for byte `signing.dumps({"v", "k", "u"}, salt=_SALT, compress=False)` (a
    TimestampSigner token; tests pin the equality), computed with a cached HMAC key."""
    value = f"{_token_payload(video_id, variant, viewer_id)}:{signing.b62_encode(int(time.time()))}"
    return _sign(_token_hmac(settings.SECRET_KEY), value)


def content_token_viewer(*, token: str, video_id: int, variant: str) -> int | None:
    """The viewer a token was issued to, or None if it is forged, expired or for something else."""
    try:
        payload: Any = signing.loads(token, salt=_SALT, max_age=CONTENT_URL_TTL_S)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("v") != video_id or payload.get("k") != variant:
        return None
    viewer = payload.get("u")
    return viewer if isinstance(viewer, int) else None


_PATH_SENTINEL = 987654321987


@lru_cache(maxsize=8)
def _content_path_template(urlconf: str | None, prefix: str) -> str:
    return reverse("video-content", kwargs={"video_id": _PATH_SENTINEL})


def content_url(*, video_id: int, variant: str, viewer_id: int, request=None) -> str:
    """URL of a video's bytes for `viewer_id`. The token is re-checked against visibility on use,
    so a post deleted after the URL was issued stops playing at once."""
    return ContentUrls(request).url(video_id=video_id, variant=variant, viewer_id=viewer_id)


def content_url_origin(request) -> str | None:
    """The "scheme://host" that request.build_absolute_uri() puts before an absolute path, or
    None without a request (then content URLs are bare paths)."""
    if request is None:
        return None
    return request.build_absolute_uri("/")[:-1]


class ContentUrls:
    """Content URLs for one response: what every URL of a page shares (scheme and host, the
    path around the video id, the signing key and the time stamp) is worked out once, so a
    feed page of 20 posts pays for 40 HMACs and little else. Each URL is what content_url()
    gives (tests pin it); the tokens of one page carry the same time stamp."""

    def __init__(self, request=None) -> None:
        self.origin = content_url_origin(request) or ""
        # reverse() once per URL conf, not twice per post on a feed page.
        template = _content_path_template(get_urlconf(), get_script_prefix())
        self._head, self._tail = template.split(str(_PATH_SENTINEL), 1)
        self._stamp = signing.b62_encode(int(time.time()))
        self._mac = _token_hmac(settings.SECRET_KEY)

    def token(self, *, video_id: int, variant: str, viewer_id: int) -> str:
        return _sign(self._mac, f"{_token_payload(video_id, variant, viewer_id)}:{self._stamp}")

    def url(self, *, video_id: int, variant: str, viewer_id: int) -> str:
        token = self.token(video_id=video_id, variant=variant, viewer_id=viewer_id)
        return f"{self.origin}{self._head}{video_id}{self._tail}?variant={variant}&token={token}"


# --- generation jobs, drafts, credits ---------------------------------------------------------


def _jobs() -> QuerySet:
    from generation.models import GenerationJob

    return (
        GenerationJob.objects.filter(deleted_at__isnull=True)
        .select_related("result_video")
        .prefetch_related("job_cameos__cameo")
    )


def jobs_of_user(*, user: User, status: str | None = None) -> QuerySet:
    rows = _jobs().filter(user=user)
    return rows.filter(status=status) if status else rows


def job_get_owned(*, user: User, public_id: str):
    """A user's own job by its public id; someone else's reads as absent."""
    job = _jobs().filter(user=user, public_id=public_id).first()
    if job is None:
        raise NotFound("generation_not_found", "No such generation.")
    return job


def job_get_owned_even_deleted(*, user: User, public_id: str):
    """As `job_get_owned`, deleted jobs included (a repeated DELETE answers as the first did)."""
    from generation.models import GenerationJob

    job = GenerationJob.objects.filter(user=user, public_id=public_id).first()
    if job is None:
        raise NotFound("generation_not_found", "No such generation.")
    return job


def drafts_of_user(*, user: User) -> QuerySet:
    """Finished videos not yet posted (and not taken down)."""
    return _jobs().filter(
        user=user,
        status="succeeded",
        result_video__status="ready",
        result_video__rendition__posted_at__isnull=True,
    )


def credit_entries_of(*, user: User) -> QuerySet:
    from generation.models import CreditEntry

    return CreditEntry.objects.filter(user=user).select_related("job")


def job_for_video(*, video_id: int):
    """The generation job that made this video, or None (an upload)."""
    from generation.models import GenerationJob

    return GenerationJob.objects.filter(result_video_id=video_id).prefetch_related("job_cameos__cameo").first()


def served_models() -> list[str]:
    """The model names `/v1/videos` accepts and `GET /v1/models` lists, the default first: the
    configured backend's own model (GENERATION_MODEL_NAME overrides it), then the aliases an app
    written for OpenAI may send (OPENAI_MODEL_ALIASES, default sora-2 and sora-2-pro), all
    rendered by that backend. A job answers with the name it was asked for."""
    primary = settings.GENERATION_MODEL_NAME
    if not primary:
        backend = settings.GENERATION_BACKEND
        if backend == "remote":
            primary = settings.GENERATION_REMOTE_MODEL
        elif backend == "diffusers":
            from pathlib import Path

            model_dir = settings.GENERATION_DIFFUSERS_MODEL_DIR
            primary = settings.GENERATION_DIFFUSERS_MODEL_NAME or (Path(model_dir).name if model_dir else "diffusers")
        else:
            primary = EMBEDDED_MODEL_NAME
    names = [primary]
    names += [alias for alias in settings.OPENAI_MODEL_ALIASES if alias and alias not in names]
    return names
