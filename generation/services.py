"""Write use-cases for video assets. One transaction each."""

from __future__ import annotations

import hashlib
import io
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from rest_framework import status

from generation import ports
from generation.media import MediaError, probe_video
from generation.models import LineageVia, Video, VideoLineage, VideoSource, VideoStatus
from sora_social.common.errors import ApplicationError, Conflict
from sora_social.outbox.services import outbox_send_on_commit
from sora_social.users.models import User

# The longest clip the app shows (Sora's are 4 to 25 s); settings may raise it.
MAX_VIDEO_SECONDS: float = float(getattr(settings, "MAX_VIDEO_SECONDS", 60))
MAX_VIDEO_DIMENSION: int = int(getattr(settings, "MAX_VIDEO_DIMENSION", 4096))

# HTTP status per refusal: a non-video is an unsupported media type; a video we can read but
# will not take (too long, too big a frame) is unprocessable.
_STATUS_FOR_MEDIA_ERROR = {
    "invalid_video": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "unsupported_container": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "unsupported_codec": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "no_video_stream": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "video_too_long": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "video_dimensions_too_large": status.HTTP_422_UNPROCESSABLE_ENTITY,
}


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def _size_of(stream: IO[bytes]) -> int:
    size = getattr(stream, "size", None)
    if size is None:
        stream.seek(0, io.SEEK_END)
        size = stream.tell()
        stream.seek(0)
    return int(size)


def _create(*, user: User, content: File, source: str) -> Video:
    size = _size_of(content)
    if size > settings.MAX_VIDEO_UPLOAD_BYTES:
        raise ApplicationError(
            "video_too_large",
            f"Videos may be at most {settings.MAX_VIDEO_UPLOAD_BYTES // (1024 * 1024)} MB.",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if size == 0:
        raise ApplicationError("invalid_video", "The file is empty.", status_code=415)
    digest = _sha256(content)
    try:
        probe = probe_video(content, max_duration_s=MAX_VIDEO_SECONDS, max_dimension=MAX_VIDEO_DIMENSION)
    except MediaError as exc:
        raise ApplicationError(exc.code, exc.message, status_code=_STATUS_FOR_MEDIA_ERROR.get(exc.code, 400)) from exc
    content.seek(0)
    video = Video(
        created_by=user,
        source=source,
        content_type="video/mp4",
        size_bytes=size,
        sha256=digest,
        duration_s=probe.duration_s,
        width=probe.width,
        height=probe.height,
        frame_count=probe.frame_count,
        fps=probe.fps,
        codec=probe.codec,
        has_audio=probe.has_audio,
    )
    # upload_to picks random names; the client's file name is never used.
    video.file.save("upload.mp4", content, save=False)
    try:
        video.thumbnail.save("thumbnail.jpg", ContentFile(probe.thumbnail_jpeg), save=False)
        video.save()
    except Exception:
        # The row did not make it: do not leave unreferenced files behind in storage.
        video.file.delete(save=False)
        if video.thumbnail:
            video.thumbnail.delete(save=False)
        raise
    # Every video's frames are hashed so that a copy coming back is recognised (media_match).
    # Off the request path (~0.1-0.5 s of decoding), through the outbox so it is never lost.
    outbox_send_on_commit(task="generation.video_frames_index", args=[video.pk])
    return video


@transaction.atomic
def video_create_from_upload(*, user: User, upload: File) -> Video:
    """Make a Video from an uploaded file, decoded with PyAV to check it is a video we take.

    An upload that is one of our videos, or cut from one (its C2PA manifest, or perceptual
    hashes of its frames: `generation.media_match`), is a derivative of it: it shows every cameo
    that video shows, so the uploader must be allowed to use each (checked before anything is
    stored, with a direct use's codes), and it is recorded as an appearance of each.

    Refusals: video_too_large (413); invalid_video, unsupported_container, unsupported_codec,
    no_video_stream (415); video_too_long, video_dimensions_too_large (422); cameo_not_found
    (404), cameo_permission_denied (403), appearance_removed (409) for a recognised video.
    """
    source = _recognised_source(user=user, upload=upload)
    video = _create(user=user, content=upload, source=VideoSource.UPLOAD)
    if source is not None and source.pk != video.pk:
        video_lineage_link(video=video, source_video=source, via=LineageVia.UPLOAD_MATCH)
    return video


def _recognised_source(*, user: User, upload: File) -> Video | None:
    """The video of ours the upload is (a copy or a cut of), with its cameos cleared for `user`."""
    from generation.media_match import match_media

    size = _size_of(upload)
    if size == 0 or size > settings.MAX_VIDEO_UPLOAD_BYTES:
        return None  # _create refuses it with its own code
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    match = match_media(video_bytes=data)
    source = Video.objects.filter(pk=match.video_id).first() if match is not None else None
    if source is not None:
        inheritance_check(user=user, source_video=source)
    return source


@transaction.atomic
def video_create_from_bytes(*, user: User, data: bytes, source: str = VideoSource.GENERATED) -> Video:
    """Make a Video from MP4 bytes produced on the server (the generation pipeline)."""
    return _create(user=user, content=ContentFile(data, name="generated.mp4"), source=source)


@transaction.atomic
def video_take_down(*, video: Video, reason: str) -> Video:
    """Take a video down everywhere: it stops being served, and posts showing it vanish.

    Posts read the video's status, so they vanish and come back with it; registered handlers
    hide what else points at them (notifications).
    """
    video = Video.objects.select_for_update().get(pk=video.pk)
    if video.status != VideoStatus.TAKEN_DOWN:
        video.status = VideoStatus.TAKEN_DOWN
        video.taken_down_at = timezone.now()
        video.taken_down_reason = reason[:300]
        video.save(update_fields=["status", "taken_down_at", "taken_down_reason"])
        # Same transaction: the video and what shows it go down together or not at all.
        for handler in ports.taken_down_handlers():
            handler(video.pk, reason)
    return video


@transaction.atomic
def video_restore(*, video: Video) -> Video:
    """Undo a takedown (an appeal won): the video and the posts showing it come back."""
    video = Video.objects.select_for_update().get(pk=video.pk)
    if video.status == VideoStatus.TAKEN_DOWN:
        video.status = VideoStatus.READY
        video.taken_down_at = None
        video.taken_down_reason = ""
        video.save(update_fields=["status", "taken_down_at", "taken_down_reason"])
        for handler in ports.restored_handlers():
            handler(video.pk)
    return video


# --- lineage: cameos travel with the pixels ----------------------------------------------------


def lineage_record(*, video: Video, source_video: Video, via: str) -> VideoLineage | None:
    """The lineage row alone (idempotent); the caller has recorded the inherited appearances."""
    if video.pk == source_video.pk:
        return None
    via = via if via in LineageVia.values else LineageVia.REMIX
    row, _ = VideoLineage.objects.get_or_create(video=video, source_video=source_video, defaults={"via": via})
    return row


@transaction.atomic
def video_lineage_link(*, video: Video, source_video: Video, via: str) -> None:
    """`video` was made from `source_video` (a matched upload, a reference, any derivation found
    after the fact): it shows every cameo the source shows, inherited ones included.

    Consent is checked for each as for a direct use by the video's creator, with the same codes
    (404 `cameo_not_found` where they may not even see it, 403 `cameo_permission_denied`), and
    nothing is written if one fails; otherwise an appearance is recorded for each (the owner sees
    and is told of it; removing the source's appearance removes this one) and the lineage row.
    """
    from cameos.selectors import cameos_shown_by_video
    from cameos.services import appearance_record

    if video.pk == source_video.pk:
        return
    creator = video.created_by
    inheritance_check(user=creator, source_video=source_video)
    for cameo in cameos_shown_by_video(video_id=source_video.pk):
        appearance_record(cameo=cameo, creator=creator, video_id=video.pk, via_video_id=source_video.pk)
    lineage_record(video=video, source_video=source_video, via=via)


def inheritance_check(*, user: User, source_video: Video) -> None:
    """May `user` have a video made from `source_video`? Every cameo it shows must be one they
    may use (404 `cameo_not_found` / 403 `cameo_permission_denied`, as for a direct use), and
    none may be one whose owner removed that video (409 `appearance_removed`: a copy of a video
    the owner took down stays down)."""
    from cameos.selectors import cameos_shown_by_video
    from generation.jobs import check_cameo_use

    removed_source_check(source_video=source_video)
    for cameo in cameos_shown_by_video(video_id=source_video.pk):
        check_cameo_use(user, cameo, via_video_id=source_video.pk)


def removed_source_check(*, source_video: Video) -> None:
    """409 `appearance_removed` if a cameo's owner removed `source_video`: nothing may be made
    from it any more (a re-upload, a reference to one of its frames)."""
    from cameos.models import CameoAppearance

    if CameoAppearance.objects.filter(video_id=source_video.pk, status=CameoAppearance.Status.REMOVED).exists():
        raise Conflict("appearance_removed", "The owner of a cameo in this video removed it.")
