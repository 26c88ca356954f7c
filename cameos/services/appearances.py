"""Appearances: the record that a video features a cameo, and the owner removing one."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from cameos import ports
from cameos.models import Cameo, CameoAppearance
from cameos.selectors import can_use_cameo
from cameos.services.validation import _check_owner
from sora_social.common.errors import ApplicationError, Conflict, NotFound
from sora_social.notifications.services import notify
from sora_social.users.models import User


@transaction.atomic
def appearance_record(
    *, cameo: Cameo, creator: User, video_id: int, job_id: int | None = None, via_video_id: int | None = None
) -> CameoAppearance:
    """Record that a video features a cameo; generation calls it when a job finishes, feed when a
    post features a cameo. Idempotent per (cameo, video). The owner is told the first time.

    `via_video_id`: the video this one was made from, when the cameo is inherited from it (a
    remix, edit, extension, matched upload or reference) rather than named; removing that
    video's appearance then removes this one too.

    A new appearance needs consent now (`cameo_permission_denied` otherwise); a removed one
    stays removed (`appearance_removed`), so a taken-down video cannot come back through a post.
    """
    existing = CameoAppearance.objects.filter(cameo=cameo, video_id=video_id).first()
    if existing is not None:
        if existing.status == CameoAppearance.Status.REMOVED:
            raise Conflict("appearance_removed", "The cameo's owner removed this video.")
        return existing
    decision = can_use_cameo(creator, cameo)
    if not decision.allowed:
        raise ApplicationError(
            "cameo_permission_denied", decision.reason, status_code=403, extra={"reason_code": decision.code}
        )
    try:
        with transaction.atomic():
            appearance = CameoAppearance.objects.create(
                cameo=cameo, creator=creator, video_id=video_id, job_id=job_id, via_video_id=via_video_id
            )
    except IntegrityError:  # recorded concurrently (generation and feed racing): same result
        return CameoAppearance.objects.get(cameo=cameo, video_id=video_id)
    notify(
        recipient=cameo.owner,
        kind="cameo_used",
        actor=creator,
        data={
            "cameo_id": cameo.pk,
            "cameo_name": cameo.display_name,
            "video_id": video_id,
            "appearance_id": appearance.pk,
            "via_video_id": via_video_id,
        },
        target=("video", video_id),
    )
    return appearance


def _appearance_remove(*, appearance: CameoAppearance, cameo: Cameo, actor: User, reason: str) -> CameoAppearance:
    # A conditional update: an appearance already removed (by a cascade from its source earlier in
    # this transaction) is neither taken down nor announced twice.
    now = timezone.now()
    changed = CameoAppearance.objects.filter(pk=appearance.pk, status=CameoAppearance.Status.ACTIVE).update(
        status=CameoAppearance.Status.REMOVED, removed_reason=reason[:300], removed_by=actor, removed_at=now
    )
    appearance.status = CameoAppearance.Status.REMOVED
    appearance.removed_reason = reason[:300]
    appearance.removed_by = actor
    appearance.removed_at = now
    if not changed:
        return appearance
    ports.take_down_video(
        video_id=appearance.video_id,
        cameo_id=cameo.pk,
        creator_id=appearance.creator_id,
        reason=appearance.removed_reason,
        actor_id=actor.pk,
    )
    notify(
        recipient=appearance.creator,
        kind="cameo_appearance_removed",
        actor=actor,
        data={
            "cameo_id": cameo.pk,
            "cameo_name": cameo.display_name,
            "video_id": appearance.video_id,
            "reason": appearance.removed_reason,
        },
    )
    # Videos made from this one show the same likeness: they go too, at any depth (each removal
    # cascades from its own derivatives).
    derivatives = CameoAppearance.objects.filter(
        cameo=cameo, via_video_id=appearance.video_id, status=CameoAppearance.Status.ACTIVE
    ).select_related("creator")
    for derivative in derivatives:
        _appearance_remove(
            appearance=derivative,
            cameo=cameo,
            actor=actor,
            reason=f"Made from a video the owner of {cameo.display_name} removed.",
        )
    return appearance


@transaction.atomic
def appearance_remove(*, appearance_id: int, cameo: Cameo, actor: User, reason: str = "") -> CameoAppearance:
    """The cameo's owner removes a video featuring it (drafts included): the video is taken down
    everywhere (the registered takedown handlers) and its creator is told why."""
    _check_owner(cameo, actor)
    appearance = (
        CameoAppearance.objects.select_for_update(of=("self",))
        .select_related("creator")
        .filter(pk=appearance_id, cameo=cameo)
        .first()
    )
    if appearance is None:
        raise NotFound("appearance_not_found", "No such appearance.")
    if appearance.status == CameoAppearance.Status.REMOVED:
        return appearance
    reason = " ".join(reason.split()) or f"The owner of {cameo.display_name} removed this video."
    return _appearance_remove(appearance=appearance, cameo=cameo, actor=actor, reason=reason)
