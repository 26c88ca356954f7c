"""Submit: check a request (input, policy, consent, credits, jobs in flight) and queue its job."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from rest_framework import status

from generation import credits, ports
from generation.demo_domain import demo_domain_check
from generation.jobs._common import _enqueue_on_commit
from generation.jobs.cameo_checks import (
    _check_consent,
    _check_prompt_policy,
    _inherited_cameos,
    _resolve_cameos,
    _royalty_fee,
)
from generation.models import (
    IN_FLIGHT_STATUSES,
    GenerationJob,
    GenerationJobCameo,
    JobKind,
    JobSource,
    JobStatus,
    Video,
    VideoStatus,
)
from sora_social.apikeys.models import ApiKey
from sora_social.common.errors import ApplicationError, Forbidden, NotFound
from sora_social.users.models import User

logger = logging.getLogger(__name__)


MAX_PROMPT_CHARS = 2000


@dataclass(frozen=True)
class SubmitRequest:
    prompt: str
    cameo_refs: tuple[str | int, ...] = ()
    seconds: int = 4
    size: str = ""
    seed: int | None = None
    kind: str = JobKind.CREATE
    remix_of_post_id: int | None = None
    source_job: GenerationJob | None = None  # the job whose video a remix/extension/edit starts from
    remix_strength: float | None = None
    source: str = JobSource.APP
    # A video of the user's own (an upload) an extension or edit starts from, instead of a job's.
    source_video: Video | None = None
    model: str = ""  # the model name asked for (/v1/videos), kept on the job as requested_model

    def fingerprint(self) -> str:
        body = {
            "prompt": self.prompt,
            "cameos": [str(c) for c in self.cameo_refs],
            "seconds": self.seconds,
            "size": self.size,
            "seed": self.seed,
            "kind": self.kind,
            "remix_of": self.remix_of_post_id,
            "source_job": self.source_job.pk if self.source_job else None,
        }
        # Only when given, so the fingerprints of requests that never had them stay the same.
        if self.source_video is not None:
            body["source_video"] = self.source_video.pk
        if self.model:
            body["model"] = self.model
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _parse_size(size: str) -> tuple[int, int]:
    size = size or settings.GENERATION_DEFAULT_SIZE
    if size not in settings.GENERATION_SIZES:
        raise ApplicationError(
            "invalid_size",
            f"size must be one of {', '.join(settings.GENERATION_SIZES)}.",
            fields={"size": ["Unsupported size."]},
        )
    width, height = (int(part) for part in size.split("x"))
    return width, height


SECONDS_CHOICES = (4, 8, 12)


def _validate(request: SubmitRequest) -> None:
    prompt = request.prompt.strip()
    if not prompt:
        raise ApplicationError("prompt_required", "Describe the video you want.", fields={"prompt": ["Required."]})
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ApplicationError(
            "prompt_too_long", f"Prompts are at most {MAX_PROMPT_CHARS} characters.", fields={"prompt": ["Too long."]}
        )
    if request.seconds not in SECONDS_CHOICES:
        raise ApplicationError(
            "invalid_seconds", "seconds must be 4, 8 or 12.", fields={"seconds": ["Use 4, 8 or 12."]}
        )


def _source_for(*, user: User, request: SubmitRequest) -> tuple[Video | None, int | None]:
    if request.remix_of_post_id is not None:
        video, post_id = ports.resolve_remix_source(viewer=user, post_id=request.remix_of_post_id)
        return video, post_id
    if request.source_job is not None:
        source = request.source_job
        if source.user_id != user.pk:
            raise NotFound("video_not_found", "No such video.")
        if source.status != JobStatus.SUCCEEDED or source.result_video is None:
            raise ApplicationError(
                "video_not_completed", "Only a completed video can be remixed, extended or edited.", status_code=409
            )
        if source.result_video.status == VideoStatus.TAKEN_DOWN:
            raise NotFound("video_not_found", "No such video.")
        return source.result_video, None
    if request.source_video is not None:
        video = request.source_video
        if video.created_by_id != user.pk or video.status != VideoStatus.READY:
            raise NotFound("video_not_found", "No such video.")
        return video, None
    return None, None


@transaction.atomic
def generation_job_submit(
    *,
    user: User,
    request: SubmitRequest,
    idempotency_key: str = "",
    input_reference: UploadedFile | None = None,
    api_key: ApiKey | None = None,
) -> tuple[GenerationJob, bool]:
    """Check and queue a generation. Returns (job, created).

    Checks, in order, each with its own 4xx code: input (400), prompt policy (422
    `prompt_blocked` / `cameo_restriction`), cameo consent (404 `cameo_not_found`, 403
    `cameo_permission_denied`), credits (402 `insufficient_credits`), jobs in flight (429
    `too_many_jobs_in_flight`). The same Idempotency-Key again returns the first job.
    With an app's `api_key`, the key's budget and concurrency apply instead of the person's
    (429 `insufficient_quota` / `too_many_jobs_in_flight`).
    """
    if user.is_suspended:
        raise Forbidden("account_suspended", "Your account is suspended.")
    idempotency_key = (idempotency_key or "").strip()[:100]
    if idempotency_key:
        existing = GenerationJob.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.request_fingerprint != request.fingerprint():
                raise ApplicationError(
                    "idempotency_key_reused",
                    "This Idempotency-Key was used for a different request.",
                    status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                )
            return existing, False

    _validate(request)
    width, height = _parse_size(request.size)
    source_video, remix_post_id = _source_for(user=user, request=request)
    if source_video is not None:
        from generation.services import removed_source_check

        # A video restored on appeal may still be one a cameo's owner removed: nothing is made from it.
        removed_source_check(source_video=source_video)
    reference = _normalised_reference(input_reference) if input_reference is not None else None
    reference_video = _recognised_reference(reference)
    cameos, missing, plain_mentions = _resolve_cameos(request)
    # The limit is on cameos the model is asked to draw (named); inherited ones arrive with the
    # source's pixels and are checked just the same, but do not use up the user's two.
    if len(cameos) + len(missing) > settings.GENERATION_MAX_CAMEOS:
        # Too many in the list is what the schema forbids (400); a list within it that @mentions
        # in the prompt take over the limit is a rule no schema can state (422).
        listed_too_many = len(request.cameo_refs) > settings.GENERATION_MAX_CAMEOS
        raise ApplicationError(
            "too_many_cameos",
            f"A video can feature at most {settings.GENERATION_MAX_CAMEOS} cameos.",
            status_code=status.HTTP_400_BAD_REQUEST if listed_too_many else status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    inherited = _inherited_cameos([source_video, reference_video], named=cameos)
    shown = [*cameos, *(link.cameo for link in inherited)]

    # Restrictions and consent cover every cameo the result will show, named or inherited.
    policy = _check_prompt_policy(user=user, prompt=request.prompt, cameos=shown, plain_mentions=plain_mentions)
    # The demo model cannot draw most prompts: tell the user (or refuse, if the operator says so).
    notices = demo_domain_check(prompt=request.prompt, backend=settings.GENERATION_BACKEND)
    _check_consent(user=user, cameos=cameos, missing=missing, inherited=inherited)
    _check_backend_can_render(
        kind=request.kind, cameo_count=len(cameos), has_input_reference=input_reference is not None
    )

    default_strength = {JobKind.EDIT: 0.45, JobKind.REMIX: 0.6}.get(request.kind, 0.6)
    job = GenerationJob(
        user=user,
        kind=request.kind,
        source=request.source,
        prompt=request.prompt.strip(),
        seed=request.seed if request.seed is not None else random.SystemRandom().randrange(2**31),
        seconds=request.seconds,
        width=width,
        height=height,
        # Which backend renders it is fixed at submit; the model's exact name arrives with the render.
        backend=settings.GENERATION_BACKEND,
        model=settings.GENERATION_REMOTE_MODEL if settings.GENERATION_BACKEND == "remote" else "",
        requested_model=request.model,
        source_video=source_video,
        source_job=request.source_job,
        reference_video=reference_video,
        remix_parent_post_id=remix_post_id,
        remix_strength=request.remix_strength if request.remix_strength is not None else default_strength,
        policy=policy,
        notices=notices,
        batch_key=job_batch_key(
            backend=settings.GENERATION_BACKEND,
            kind=request.kind,
            cameo_count=len(cameos),
            has_input_reference=input_reference is not None,
            seconds=request.seconds,
            width=width,
            height=height,
        ),
        idempotency_key=idempotency_key,
        request_fingerprint=request.fingerprint(),
        credits_cost=credits.job_cost(seconds=request.seconds, royalty_fee=_royalty_fee(shown)),
        api_key=api_key,
    )
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race.
        existing = GenerationJob.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    GenerationJobCameo.objects.bulk_create(
        [GenerationJobCameo(job=job, cameo=c, position=i) for i, c in enumerate(cameos)]
        + [
            GenerationJobCameo(
                job=job, cameo=link.cameo, position=len(cameos) + i, inherited=True, via_video=link.via_video
            )
            for i, link in enumerate(inherited)
        ]
    )
    credits.credits_reserve(job=job, amount=job.credits_cost)  # 402, and locks the user row
    _check_in_flight_excluding(user, job)
    if reference is not None:
        job.input_reference.save("reference.png", reference, save=True)
    _enqueue_on_commit(job)
    return job, True


def _check_backend_can_render(*, kind: str, cameo_count: int, has_input_reference: bool) -> None:
    """Refuse at submit (422) what the configured backend's model cannot render (a remix on a
    model with no video-to-video pipeline), rather than charge for a job bound to fail."""
    from generation.backends.base import BackendError, backend_refusal

    try:
        refusal = backend_refusal(
            settings.GENERATION_BACKEND, kind=kind, cameo_count=cameo_count, has_input_reference=has_input_reference
        )
    except BackendError as error:  # the model folder is missing or unreadable: the operator's to fix
        logger.error("generation backend %s unavailable at submit: %s", settings.GENERATION_BACKEND, error.message)
        raise ApplicationError(
            "generation_unavailable",
            "Video generation is not available right now.",
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        ) from error
    if refusal is not None:
        code, message = refusal
        raise ApplicationError(code, message, status_code=status.HTTP_422_UNPROCESSABLE_ENTITY)


def job_batch_key(
    *, backend: str, kind: str, cameo_count: int, has_input_reference: bool, seconds: int, width: int, height: int
) -> str:
    """The key of the jobs this one can share a model pass with ("" = it renders alone): the
    backend's own batch group (generation.backends.base.backend_batch_group), length and size."""
    from generation.backends.base import BackendError, backend_batch_group

    try:
        group = backend_batch_group(
            backend, kind=kind, cameo_count=cameo_count, has_input_reference=has_input_reference
        )
    except BackendError:  # checked (and refused) by _check_backend_can_render already
        group = None
    return "" if group is None else f"{backend}:{group}:{seconds}s:{width}x{height}"[:120]


def _check_in_flight_excluding(user: User, job: GenerationJob) -> None:
    # Counted after the user's (or the key's) row lock, taken by the reservation, so concurrent
    # submits cannot both slip under the limit. An app's key has its own limit.
    if job.api_key_id is not None:
        from sora_social.apikeys.selectors import api_key_quota

        mine, limit = GenerationJob.objects.filter(api_key_id=job.api_key_id), api_key_quota(job.api_key).max_in_flight
    else:
        mine, limit = GenerationJob.objects.filter(user=user, api_key__isnull=True), settings.GENERATION_MAX_IN_FLIGHT
    in_flight = mine.filter(status__in=IN_FLIGHT_STATUSES).exclude(pk=job.pk).count()
    if in_flight >= limit:
        raise ApplicationError(
            "too_many_jobs_in_flight",
            f"You already have {in_flight} videos in progress; wait for one to finish.",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            extra={"limit": limit},
        )


def _normalised_reference(upload: UploadedFile) -> ContentFile:
    """An input_reference image, decoded and re-encoded as PNG (never stored as sent)."""
    from io import BytesIO

    from sora_social.common.images import image_decode

    # Refuses a decompression bomb from its header before decoding it.
    with image_decode(
        upload,
        field="input_reference",
        invalid_code="invalid_input_reference",
        invalid_message="input_reference must be a PNG, JPEG or WebP image.",
    ) as image:
        rgb = image.convert("RGB")
    rgb.thumbnail((1024, 1024))
    buffer = BytesIO()
    rgb.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


def _recognised_reference(reference: ContentFile | None) -> Video | None:
    """The video of ours an input_reference image is a frame or the thumbnail of, if any: the job
    is then a derivative of it (it inherits its cameos; a video an owner removed is refused)."""
    if reference is None:
        return None
    from io import BytesIO

    from PIL import Image

    from generation.media_match import match_media
    from generation.services import removed_source_check

    with Image.open(BytesIO(reference.read())) as image:
        image.load()
        match = match_media(image=image)
    reference.seek(0)
    video = Video.objects.filter(pk=match.video_id).first() if match is not None else None
    if video is not None:
        removed_source_check(source_video=video)
    return video
