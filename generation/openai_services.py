"""Writes behind `/v1/videos` that the app's own API does not need: a video the client uploads
to extend or edit (the openai SDK sends `video` as a file), a video as `input_reference`.

Everything else is `generation.jobs.generation_job_submit`, the same checks, charges and
consent as the app: these functions only turn the SDK's shapes into its request.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import transaction

from generation import jobs, selectors
from generation.models import GenerationJob, JobKind, Video
from sora_social.apikeys.models import ApiKey
from sora_social.common.errors import ApplicationError
from sora_social.users.models import User

_MP4_BRANDS = (b"ftyp",)


def _is_video(upload: UploadedFile) -> bool:
    """An MP4/MOV (an ISO media file: `ftyp` at byte 4) or a file the client says is a video."""
    head = upload.read(12)
    upload.seek(0)
    return head[4:8] in _MP4_BRANDS or (upload.content_type or "").startswith("video/")


def reference_image_from_upload(upload: UploadedFile) -> UploadedFile:
    """An input_reference as the image the generator starts from: an image as sent, a video as
    its first frame (PNG). The frame is then recognised like an image reference: a frame of one
    of our videos makes the job a derivative of it (its cameos are checked and travel on)."""
    if not _is_video(upload):
        return upload
    from generation.media import MediaError, decode_mp4, png_bytes

    if upload.size and upload.size > settings.MAX_VIDEO_UPLOAD_BYTES:
        raise ApplicationError(
            "video_too_large",
            f"Videos may be at most {settings.MAX_VIDEO_UPLOAD_BYTES // (1024 * 1024)} MB.",
            status_code=413,
            fields={"input_reference": ["Too large."]},
        )
    try:
        frame = decode_mp4(upload.read(), max_frames=1)[0]
    except MediaError as exc:
        raise ApplicationError(
            "invalid_input_reference",
            f"input_reference: {exc.message}",
            fields={"input_reference": ["Not a readable image or video."]},
        ) from exc
    finally:
        upload.seek(0)
    return SimpleUploadedFile("reference.png", png_bytes(frame), content_type="image/png")


def _sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _size_for(video: Video) -> str:
    """The generation size closest in shape to an uploaded video."""
    portrait = video.height >= video.width
    for size in settings.GENERATION_SIZES:
        width, height = (int(part) for part in size.split("x"))
        if (height >= width) == portrait:
            return size
    return settings.GENERATION_DEFAULT_SIZE


def _seconds_for(video: Video) -> int:
    """An edit of an uploaded video is as long as it, rounded to a length we render (4, 8, 12)."""
    return min((4, 8, 12), key=lambda s: abs(s - video.duration_s))


@transaction.atomic
def openai_video_submit(
    *,
    user: User,
    request: jobs.SubmitRequest,
    idempotency_key: str = "",
    input_reference: UploadedFile | None = None,
    source_upload: UploadedFile | None = None,
    api_key: ApiKey | None = None,
) -> GenerationJob:
    """Submit a `/v1/videos` job, in one transaction with the upload it starts from, if any.

    source_upload: an MP4 to extend or edit; it becomes one of the user's videos (checked and
    recognised as any upload is: a copy of one of our videos carries its cameos) and the job
    starts from it. A retry with the same Idempotency-Key and the same file reuses that video.
    """
    if not request.model:
        request = replace(request, model=selectors.served_models()[0])
    if source_upload is not None:
        from generation.services import video_create_from_upload

        key = (idempotency_key or "").strip()[:100]
        earlier = GenerationJob.objects.filter(user=user, idempotency_key=key).first() if key else None
        if (
            earlier is not None
            and earlier.source_video is not None
            and earlier.source_video.sha256 == _sha256(source_upload)
        ):
            video = earlier.source_video
        else:
            video = video_create_from_upload(user=user, upload=source_upload)
        request = replace(request, source_video=video, size=_size_for(video))
        if request.kind == JobKind.EDIT:
            request = replace(request, seconds=_seconds_for(video))
    job, _ = jobs.generation_job_submit(
        user=user, request=request, idempotency_key=idempotency_key, input_reference=input_reference, api_key=api_key
    )
    return job
