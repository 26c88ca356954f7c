"""Generation jobs: submit, run-state transitions, finish, cancel, reap. One transaction each.

Every transition takes the job's row lock and checks the state it expects, so a task that
runs twice (a redelivered message, the reaper's retry racing a slow worker) can neither finish
a job twice nor charge or refund it twice. Side effects (enqueueing, websocket pushes) leave
only on commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import status

from cameos.models import Cameo, CameoKind, CameoStatus
from cameos.selectors import cameo_is_visible, cameo_policy_subject_fields, can_use_cameo
from generation import credits, ports
from generation.demo_domain import demo_domain_check
from generation.models import (
    IN_FLIGHT_STATUSES,
    GenerationJob,
    GenerationJobCameo,
    JobKind,
    JobSource,
    JobStatus,
    LineageVia,
    Video,
    VideoRendition,
    VideoSource,
    VideoStatus,
)
from sora_social.common.errors import ApplicationError, Forbidden, NotFound
from sora_social.notifications.services import notify
from sora_social.outbox.services import outbox_send_on_commit
from sora_social.users.models import User

logger = logging.getLogger(__name__)

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_][A-Za-z0-9_.]{1,28}[A-Za-z0-9_])")
MAX_PROMPT_CHARS = 2000


class JobNotRunnable(Exception):
    """The job is no longer this attempt's to work on (cancelled, reaped, finished)."""


# --- submit ------------------------------------------------------------------------------


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


def _validate(request: SubmitRequest) -> None:
    prompt = request.prompt.strip()
    if not prompt:
        raise ApplicationError("prompt_required", "Describe the video you want.", fields={"prompt": ["Required."]})
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ApplicationError(
            "prompt_too_long", f"Prompts are at most {MAX_PROMPT_CHARS} characters.", fields={"prompt": ["Too long."]}
        )
    if request.seconds not in (4, 8, 12):
        raise ApplicationError(
            "invalid_seconds", "seconds must be 4, 8 or 12.", fields={"seconds": ["Use 4, 8 or 12."]}
        )


def _resolve_cameo_ref(ref: str | int) -> Cameo | None:
    """A cameo by id, or by @handle: a user's person cameo, else a pet/object/character by name."""
    qs = Cameo.objects.select_related("owner")
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        return qs.filter(pk=int(ref)).first()
    name = str(ref).strip().lstrip("@")
    if not name:
        return None
    person = (
        qs.filter(owner__handle__iexact=name, kind=CameoKind.PERSON)
        .exclude(status__in=[CameoStatus.REJECTED, CameoStatus.REVOKED])
        .order_by("-created_at")
        .first()
    )
    if person is not None:
        return person
    return qs.filter(name__iexact=name).exclude(kind=CameoKind.PERSON).order_by("-created_at").first()


def _resolve_cameos(request: SubmitRequest) -> tuple[list[Cameo], list[str]]:
    """The cameos asked for explicitly and by @mention in the prompt; and refs that matched none."""
    refs: list[str | int] = list(request.cameo_refs)
    explicit = {str(r).lstrip("@").lower() for r in refs}
    for mention in MENTION.findall(request.prompt):
        if mention.lower() not in explicit:
            refs.append(f"@{mention}")
            explicit.add(mention.lower())
    found: list[Cameo] = []
    missing: list[str] = []
    for ref in refs:
        cameo = _resolve_cameo_ref(ref)
        if cameo is None:
            missing.append(str(ref))
        elif cameo.pk not in {c.pk for c in found}:
            found.append(cameo)
    return found, missing


def _policy_subjects(cameos: Sequence[Cameo]) -> list:
    from moderation.policy.subjects import CameoSubject

    return [CameoSubject(**cameo_policy_subject_fields(c)) for c in cameos]


def _check_prompt_policy(*, user: User, prompt: str, cameos: Sequence[Cameo]) -> dict[str, Any]:
    """The prompt layers (rules, classifier, likeness guard, cameo restrictions, remote)."""
    from moderation.policy.services import prompt_check

    verdict = prompt_check(prompt, cameos=_policy_subjects(cameos), viewer_is_minor=user.is_minor)
    if verdict.blocked and verdict.layer == "cameo_restrictions":
        raise ApplicationError(
            "cameo_restriction",
            "A cameo's owner does not allow this: " + "; ".join(verdict.reasons[:2]),
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
            extra={"policy_code": verdict.code},
        )
    if verdict.blocked:
        raise ApplicationError(
            "prompt_blocked",
            "This prompt is against the content policy"
            + (f" ({verdict.category.replace('_', ' ')})." if verdict.category else "."),
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
            extra={"policy_code": verdict.code, "category": verdict.category},
        )
    return {"prompt": verdict.as_dict()}


def _check_consent(
    *, user: User, cameos: Sequence[Cameo], missing: Sequence[str], inherited: Sequence[InheritedCameo] = ()
) -> None:
    """Every cameo the video will show, named or inherited from its source, with the same codes."""
    if missing:
        raise NotFound(f"No cameo {missing[0]} that you can use.", code="cameo_not_found")
    for cameo in cameos:
        check_cameo_use(user, cameo)
    for link in inherited:
        check_cameo_use(user, link.cameo, via_video_id=link.via_video.pk)


def check_cameo_use(user: User, cameo: Cameo, *, via_video_id: int | None = None) -> None:
    decision = can_use_cameo(user, cameo)
    if decision.allowed:
        return
    shown_by = "The video this is made from shows a cameo" if via_video_id else "A cameo"
    if not cameo_is_visible(decision):
        # Do not reveal that a cameo the user may not even see exists (nor whose it is).
        message = f"{shown_by} you cannot use." if via_video_id else f"No cameo {cameo.pk} that you can use."
        raise NotFound(message, code="cameo_not_found")
    extra: dict[str, Any] = {"cameo_id": cameo.pk, "reason_code": decision.code}
    if via_video_id:
        extra["inherited_from_video_id"] = via_video_id
    raise ApplicationError(
        "cameo_permission_denied",
        f"You may not use {cameo.display_name or cameo.name}: {decision.reason}"
        + (" (the video this is made from shows it)." if via_video_id else ""),
        status_code=status.HTTP_403_FORBIDDEN,
        extra=extra,
    )


@dataclass(frozen=True)
class InheritedCameo:
    cameo: Cameo
    via_video: Video


def _inherited_cameos(sources: Sequence[Video | None], *, named: Sequence[Cameo] = ()) -> list[InheritedCameo]:
    """The cameos the source videos show (their appearances record inherited ones too, so this is
    transitive without walking the chain), less those the user names anyway."""
    from cameos.selectors import cameos_shown_by_video

    seen = {c.pk for c in named}
    inherited: list[InheritedCameo] = []
    for source in sources:
        if source is None:
            continue
        for cameo in cameos_shown_by_video(video_id=source.pk):
            if cameo.pk not in seen:
                seen.add(cameo.pk)
                inherited.append(InheritedCameo(cameo=cameo, via_video=source))
    return inherited


def _royalty_fee(cameos: Sequence[Cameo]) -> int:
    from cameos.services import royalty_quote

    return royalty_quote(cameos=cameos) if cameos else 0


def _source_for(*, user: User, request: SubmitRequest) -> tuple[Video | None, int | None]:
    if request.remix_of_post_id is not None:
        video, post_id = ports.resolve_remix_source(viewer=user, post_id=request.remix_of_post_id)
        return video, post_id
    if request.source_job is not None:
        source = request.source_job
        if source.user_id != user.pk:
            raise NotFound("No such video.", code="video_not_found")
        if source.status != JobStatus.SUCCEEDED or source.result_video is None:
            raise ApplicationError(
                "video_not_completed", "Only a completed video can be remixed, extended or edited.", status_code=409
            )
        if source.result_video.status == VideoStatus.TAKEN_DOWN:
            raise NotFound("No such video.", code="video_not_found")
        return source.result_video, None
    return None, None


@transaction.atomic
def generation_job_submit(
    *,
    user: User,
    request: SubmitRequest,
    idempotency_key: str = "",
    input_reference: UploadedFile | None = None,
) -> tuple[GenerationJob, bool]:
    """Check and queue a generation. Returns (job, created).

    Checks, in order, each with its own 4xx code: input (400), prompt policy (422
    `prompt_blocked` / `cameo_restriction`), cameo consent (404 `cameo_not_found`, 403
    `cameo_permission_denied`), credits (402 `insufficient_credits`), jobs in flight (429
    `too_many_jobs_in_flight`). The same Idempotency-Key again returns the first job.
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
    cameos, missing = _resolve_cameos(request)
    # The limit is on cameos the model is asked to draw (named); inherited ones arrive with the
    # source's pixels and are checked just the same, but do not use up the user's two.
    if len(cameos) + len(missing) > settings.GENERATION_MAX_CAMEOS:
        raise ApplicationError(
            "too_many_cameos", f"A video can feature at most {settings.GENERATION_MAX_CAMEOS} cameos."
        )
    inherited = _inherited_cameos([source_video, reference_video], named=cameos)
    shown = [*cameos, *(link.cameo for link in inherited)]

    # Restrictions and consent cover every cameo the result will show, named or inherited.
    policy = _check_prompt_policy(user=user, prompt=request.prompt, cameos=shown)
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
        source_video=source_video,
        source_job=request.source_job,
        reference_video=reference_video,
        remix_parent_post_id=remix_post_id,
        remix_strength=request.remix_strength if request.remix_strength is not None else default_strength,
        policy=policy,
        notices=notices,
        idempotency_key=idempotency_key,
        request_fingerprint=request.fingerprint(),
        credits_cost=credits.job_cost(seconds=request.seconds, royalty_fee=_royalty_fee(shown)),
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


def _check_in_flight_excluding(user: User, job: GenerationJob) -> None:
    # Counted after the user's row lock (taken by the reservation), so concurrent submits
    # cannot both slip under the limit.
    in_flight = GenerationJob.objects.filter(user=user, status__in=IN_FLIGHT_STATUSES).exclude(pk=job.pk).count()
    if in_flight >= settings.GENERATION_MAX_IN_FLIGHT:
        raise ApplicationError(
            "too_many_jobs_in_flight",
            f"You already have {in_flight} videos in progress; wait for one to finish.",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            extra={"limit": settings.GENERATION_MAX_IN_FLIGHT},
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


def _enqueue_on_commit(job: GenerationJob) -> None:
    """The job's run message, through the outbox: it commits with the job (and its credit
    reservation), is published right after commit, and if the broker is down then, by the
    relay once it is back. A submit during a broker outage is a 201 that runs later."""
    GenerationJob.objects.filter(pk=job.pk).update(enqueued_at=timezone.now())
    outbox_send_on_commit(task="generation.tasks.generation_job_run", args=[job.pk], queue="gpu")


# --- the worker's side -------------------------------------------------------------------


def _locked(job_id: int) -> GenerationJob:
    return GenerationJob.objects.select_for_update().get(pk=job_id)


@transaction.atomic
def generation_job_start(*, job_id: int, worker: str) -> GenerationJob | None:
    """queued → running for this attempt; None if the job is not queued (a duplicate delivery)."""
    job = _locked(job_id)
    if job.status != JobStatus.QUEUED:
        return None
    now = timezone.now()
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.worker = worker[:200]
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    job.progress = 0
    job.save(update_fields=["status", "attempts", "worker", "started_at", "heartbeat_at", "progress"])
    _push_progress(job)
    return job


@transaction.atomic
def generation_job_progress(*, job_id: int, attempt: int, percent: int) -> None:
    """Record progress (and a heartbeat). Raises JobNotRunnable if the job was taken away."""
    job = _locked(job_id)
    if job.status != JobStatus.RUNNING or job.attempts != attempt:
        raise JobNotRunnable(job.status)
    percent = max(job.progress, min(99, int(percent)))
    job.progress = percent
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["progress", "heartbeat_at"])
    _push_progress(job)


def generation_job_heartbeat(*, job_id: int, attempt: int) -> bool:
    """This attempt is alive (a worker's heartbeat thread). False once the job has moved on.
    One conditional UPDATE, no row lock: it must never wait behind a transition."""
    return bool(
        GenerationJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=attempt).update(
            heartbeat_at=timezone.now()
        )
    )


def _push_progress(job: GenerationJob) -> None:
    notify(
        recipient=job.user,
        kind="generation_progress",
        data={"job_id": job.public_id, "progress": job.progress, "status": job.status},
        persist=False,
    )


@dataclass
class RenderedMedia:
    mp4: bytes
    thumbnail_jpeg: bytes
    spritesheet_jpeg: bytes
    backend: str
    model: str
    watermark_text: str
    c2pa_signed: bool
    c2pa_manifest_label: str
    media_policy: dict[str, Any]
    media_blocked: bool
    remote_id: str = ""


def _inherit_late_cameos(job: GenerationJob) -> None:
    """A source can come to show more cameos after submit (an upload posted with a cameo, a
    matched re-upload): the result shows them too, so they join the job before the re-check."""
    inherited = _inherited_cameos(
        [job.source_video, job.reference_video], named=[link.cameo for link in job.job_cameos.select_related("cameo")]
    )
    if not inherited:
        return
    start = job.job_cameos.count()
    GenerationJobCameo.objects.bulk_create(
        [
            GenerationJobCameo(job=job, cameo=link.cameo, position=start + i, inherited=True, via_video=link.via_video)
            for i, link in enumerate(inherited)
        ],
        ignore_conflicts=True,
    )


def _consent_still_given(job: GenerationJob) -> tuple[bool, str]:
    for link in job.job_cameos.select_related("cameo__owner"):
        decision = can_use_cameo(job.user, link.cameo)
        if not decision.allowed:
            return False, f"{link.cameo.display_name or link.cameo.name}: {decision.reason}"
    return True, ""


def _restrictions_still_kept(job: GenerationJob) -> tuple[bool, str]:
    """The owners' restrictions now (one may have added "no political" while the job queued),
    for every cameo the video shows."""
    from moderation.policy.services import cameo_restrictions_check

    cameos = [link.cameo for link in job.job_cameos.select_related("cameo__owner")]
    if not cameos:
        return True, ""
    verdict = cameo_restrictions_check(job.prompt, _policy_subjects(cameos))
    if verdict.blocked:
        return False, "; ".join(verdict.reasons[:2]) or "a cameo's owner does not allow this"
    return True, ""


@transaction.atomic
def generation_job_complete(*, job_id: int, attempt: int, media: RenderedMedia) -> GenerationJob:
    """Finish a rendered job: consent re-checked, media policy applied, draft made, credits settled.

    If consent was withdrawn meanwhile or the media check blocks, the result is discarded,
    the job is `blocked` and its credits refunded.
    """
    job = _locked(job_id)
    if job.status != JobStatus.RUNNING or job.attempts != attempt:
        raise JobNotRunnable(job.status)
    _inherit_late_cameos(job)
    consent_ok, why = _consent_still_given(job)
    if not consent_ok:
        return _finish_unsuccessfully(
            job, JobStatus.BLOCKED, "cameo_permission_revoked", f"A cameo's permission changed while rendering ({why})."
        )
    restrictions_ok, why = _restrictions_still_kept(job)
    if not restrictions_ok:
        return _finish_unsuccessfully(
            job, JobStatus.BLOCKED, "cameo_restriction", f"A cameo's owner does not allow this ({why})."
        )
    if media.media_blocked:
        reasons = "; ".join(media.media_policy.get("reasons", [])[:2]) or "the result broke the content policy"
        job.policy = {**job.policy, "media": media.media_policy}
        return _finish_unsuccessfully(job, JobStatus.BLOCKED, "media_blocked", f"The video was blocked: {reasons}.")

    from generation.services import video_create_from_bytes

    video = video_create_from_bytes(user=job.user, data=media.mp4, source=VideoSource.GENERATED)
    video.thumbnail.save("thumbnail.jpg", ContentFile(media.thumbnail_jpeg), save=True)
    rendition = VideoRendition(
        video=video,
        c2pa_signed=media.c2pa_signed,
        c2pa_manifest_label=media.c2pa_manifest_label[:200],
        watermark_text=media.watermark_text[:120],
        backend=media.backend,
        model=media.model,
        media_policy=media.media_policy,
        remote_video_id=media.remote_id[:200],
    )
    rendition.spritesheet.save("spritesheet.jpg", ContentFile(media.spritesheet_jpeg), save=False)
    rendition.save()

    now = timezone.now()
    job.status = JobStatus.SUCCEEDED
    job.progress = 100
    job.result_video = video
    job.finished_at = now
    job.heartbeat_at = now
    job.model = media.model or job.model
    job.policy = {**job.policy, "media": media.media_policy}
    job.save(update_fields=["status", "progress", "result_video", "finished_at", "heartbeat_at", "model", "policy"])
    credits.credits_settle(job=job)
    _record_cameo_use(job, video)
    _ask_for_review_if_flagged(job, video)
    notify(
        recipient=job.user,
        kind="generation_completed",
        data={"job_id": job.public_id, "video_id": video.pk, "status": "succeeded"},
        target=("video", video.pk),
    )
    return job


def _ask_for_review_if_flagged(job: GenerationJob, video: Video) -> None:
    """A layer said "review" (prompt or media): hand it to whoever handles reviews (moderation)."""
    flagged = {
        name: verdict
        for name, verdict in (job.policy or {}).items()
        if isinstance(verdict, dict) and verdict.get("decision") == "review"
    }
    if not flagged:
        return
    for handler in ports.policy_review_handlers():
        handler(video_id=video.pk, creator_id=job.user_id, job_id=job.pk, policy=flagged)


def _record_cameo_use(job: GenerationJob, video: Video) -> None:
    """Appearances for every cameo the draft shows (inherited ones point at the video they came
    from, so the owner sees the derivative and removing the source removes it), royalties for
    characters, and the lineage rows."""
    from cameos.services import appearance_record, royalty_charge
    from generation.services import lineage_record

    for link in job.job_cameos.select_related("cameo__owner"):
        appearance_record(
            cameo=link.cameo,
            creator=job.user,
            video_id=video.pk,
            job_id=job.pk,
            via_video_id=link.via_video_id if link.inherited else None,
        )
        if link.cameo.kind == CameoKind.CHARACTER:
            royalty_charge(job_id=job.pk, cameo=link.cameo, creator=job.user, video_id=video.pk)
    if job.source_video_id is not None:
        lineage_record(video=video, source_video=job.source_video, via=job.kind)
    if job.reference_video_id is not None:
        lineage_record(video=video, source_video=job.reference_video, via=LineageVia.INPUT_REFERENCE)


def _finish_unsuccessfully(job: GenerationJob, final_status: str, code: str, message: str) -> GenerationJob:
    now = timezone.now()
    job.status = final_status
    job.error_code = code
    job.error_message = message[:500]
    job.finished_at = now
    job.save(update_fields=["status", "error_code", "error_message", "finished_at", "policy"])
    credits.credits_refund(job=job, note=code)
    kind = "generation_failed"
    notify(
        recipient=job.user,
        kind=kind,
        data={"job_id": job.public_id, "status": final_status, "code": code, "message": message},
    )
    return job


@transaction.atomic
def generation_job_fail(*, job_id: int, attempt: int | None, code: str, message: str) -> GenerationJob | None:
    """The render failed for good: failed, refunded once. None if the job had moved on."""
    job = _locked(job_id)
    if job.status != JobStatus.RUNNING or (attempt is not None and job.attempts != attempt):
        return None
    return _finish_unsuccessfully(job, JobStatus.FAILED, code, message)


@transaction.atomic
def generation_job_retry(*, job_id: int, attempt: int, reason: str) -> GenerationJob | None:
    """A retryable failure: back to queued (another attempt), or failed if attempts are used up."""
    job = _locked(job_id)
    if job.status != JobStatus.RUNNING or job.attempts != attempt:
        return None
    if job.attempts >= settings.GENERATION_MAX_ATTEMPTS:
        return _finish_unsuccessfully(job, JobStatus.FAILED, "render_failed", reason)
    job.status = JobStatus.QUEUED
    job.progress = 0
    job.worker = ""
    job.error_message = reason[:500]
    job.save(update_fields=["status", "progress", "worker", "error_message"])
    _enqueue_on_commit(job)
    return job


# --- the user's side ---------------------------------------------------------------------


@transaction.atomic
def generation_job_cancel(*, job: GenerationJob, actor: User, reason: str = "cancelled") -> GenerationJob:
    """Cancel a queued or running job and refund it. A running render's result is discarded."""
    job = _locked(job.pk)
    if job.user_id != actor.pk:
        raise NotFound("No such generation.", code="generation_not_found")
    if job.is_final:
        raise ApplicationError(
            "job_already_finished", f"This generation already {job.status}.", status_code=status.HTTP_409_CONFLICT
        )
    return _cancel(job, code="cancelled", message=reason)


def _cancel(job: GenerationJob, *, code: str, message: str) -> GenerationJob:
    job.status = JobStatus.CANCELLED
    job.error_code = code
    job.error_message = message[:500]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error_code", "error_message", "finished_at"])
    credits.credits_refund(job=job, note=code)
    return job


@transaction.atomic
def generation_jobs_cancel_for_cameo(*, cameo_id: int, still_allowed, reason: str) -> int:
    """The cameos port: a cameo's permission narrowed; cancel in-flight jobs of people no longer allowed."""
    jobs = list(
        GenerationJob.objects.select_for_update(of=("self",))
        .filter(status__in=IN_FLIGHT_STATUSES, job_cameos__cameo_id=cameo_id)
        .select_related("user")
    )
    cancelled = 0
    for job in jobs:
        if still_allowed(job.user_id):
            continue
        _cancel(job, code="cameo_permission_revoked", message=reason or "A cameo's owner withdrew permission.")
        notify(
            recipient=job.user,
            kind="generation_failed",
            data={
                "job_id": job.public_id,
                "status": job.status,
                "code": "cameo_permission_revoked",
                "message": "A cameo's owner changed who may use it; your video was cancelled and refunded.",
            },
        )
        cancelled += 1
    return cancelled


@transaction.atomic
def generation_job_delete(*, job: GenerationJob, actor: User) -> None:
    """The OpenAI API's DELETE: cancel if in flight; take the draft down if finished."""
    job = _locked(job.pk)
    if job.user_id != actor.pk:
        raise NotFound("No such video.", code="video_not_found")
    if not job.is_final:
        _cancel(job, code="deleted", message="Deleted by its creator.")
    elif job.result_video_id is not None:
        from generation.services import video_take_down

        video_take_down(video=job.result_video, reason="Deleted by its creator.")


@transaction.atomic
def video_mark_posted(*, video: Video) -> None:
    """A post now shows this video: it stops being a draft. Feed calls this from post_create."""
    VideoRendition.objects.filter(video=video, posted_at__isnull=True).update(posted_at=timezone.now())


# --- the reaper ----------------------------------------------------------------------------


@dataclass
class ReapReport:
    requeued: int = 0
    failed: int = 0
    resent: int = 0


@transaction.atomic
def generation_jobs_reap() -> ReapReport:
    """Find jobs whose worker died (stale heartbeat) and retry or fail them; resend lost messages."""
    now = timezone.now()
    report = ReapReport()
    stale = GenerationJob.objects.select_for_update(skip_locked=True).filter(
        status=JobStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=settings.GENERATION_STALE_AFTER_S)
    )
    for job in stale:
        if job.attempts >= settings.GENERATION_MAX_ATTEMPTS:
            _finish_unsuccessfully(
                job, JobStatus.FAILED, "worker_lost", "The worker rendering this video stopped, too many times."
            )
            report.failed += 1
            continue
        logger.warning(
            "job %s: worker %s stopped answering; queueing attempt %s", job.public_id, job.worker, job.attempts + 1
        )
        job.status = JobStatus.QUEUED
        job.progress = 0
        job.worker = ""
        job.error_message = "The worker stopped; trying again."
        job.save(update_fields=["status", "progress", "worker", "error_message"])
        _enqueue_on_commit(job)
        report.requeued += 1
    lost = GenerationJob.objects.select_for_update(skip_locked=True).filter(
        Q(enqueued_at__lt=now - timedelta(seconds=settings.GENERATION_REQUEUE_AFTER_S)) | Q(enqueued_at__isnull=True),
        status=JobStatus.QUEUED,
        created_at__lt=now - timedelta(seconds=settings.GENERATION_REQUEUE_AFTER_S),
    )
    for job in lost:
        _enqueue_on_commit(job)
        report.resent += 1
    return report
