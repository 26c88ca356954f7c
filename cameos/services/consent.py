"""Who may use a cameo: its settings, allow and deny lists, revoking and deleting it. Narrowing
consent cancels queued jobs of people no longer allowed and, when the owner asks, takes down
what they made.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from cameos import constants, ports, storage
from cameos.models import (
    Cameo,
    CameoAccessEntry,
    CameoAppearance,
    CameoAudience,
    CameoReference,
    CameoRequest,
    CameoStatus,
)
from cameos.selectors import can_use_cameo
from cameos.services.appearances import _appearance_remove
from cameos.services.validation import _check_owner, _validate_restrictions, _validate_words
from sora_social.common.errors import ApplicationError, Conflict, NotFound
from sora_social.users.models import User


@dataclass(frozen=True)
class ConsentChange:
    """The outcome of a change to who may use a cameo."""

    cameo: Cameo
    cancelled_jobs: int = 0
    taken_down: int = 0


def _enforce(cameo: Cameo, *, actor: User, take_down_existing: bool, reason: str) -> tuple[int, int]:
    """After consent changed: cancel queued jobs of people no longer allowed (always) and, when
    the owner asks, take down the existing videos those people made with the cameo."""

    def still_allowed(user_id: int) -> bool:
        return can_use_cameo(user_id, cameo).allowed

    cancelled = ports.cancel_jobs(cameo_id=cameo.pk, still_allowed=still_allowed, reason=reason)
    taken_down = 0
    if take_down_existing:
        active = CameoAppearance.objects.filter(cameo=cameo, status=CameoAppearance.Status.ACTIVE)
        before = active.count()
        rows = active.exclude(creator_id=cameo.owner_id)
        for appearance in rows.select_related("creator"):
            if not still_allowed(appearance.creator_id):
                if not CameoAppearance.objects.filter(pk=appearance.pk, status=CameoAppearance.Status.ACTIVE).exists():
                    continue  # already removed by a cascade from the video it was made from
                # Derivatives (remixes, edits, extensions, matched uploads) have appearances of
                # their own, so they are among these rows: take-down reaches every depth.
                _appearance_remove(appearance=appearance, cameo=cameo, actor=actor, reason=reason)
        # Counted after, so the videos a removal cascaded to are counted too.
        taken_down = before - active.count()
    return cancelled, taken_down


@transaction.atomic
def cameo_update(
    *,
    cameo: Cameo,
    actor: User,
    display_name: str | None = None,
    description: str | None = None,
    aliases: list[str] | None = None,
    audience: str | None = None,
    instructions: str | None = None,
    restrictions: list[str] | None = None,
    take_down_existing: bool = False,
) -> ConsentChange:
    """Change a cameo's settings. Narrowing the audience cancels the queued jobs of people no
    longer allowed, and with `take_down_existing` takes down their existing videos too."""
    _check_owner(cameo, actor)
    cameo = Cameo.objects.select_for_update().select_related("owner").get(pk=cameo.pk)
    if cameo.status == CameoStatus.REVOKED:
        raise Conflict("cameo_revoked", "This cameo was deleted.")
    if display_name is not None:
        cameo.display_name = display_name.strip()[:60] or cameo.name
    if description is not None:
        cameo.description = description.strip()[:300]
    if aliases is not None:
        cameo.aliases = _validate_words(aliases, field="aliases", limit=constants.MAX_ALIASES)
    if instructions is not None:
        instructions = instructions.strip()
        if len(instructions) > constants.MAX_INSTRUCTIONS:
            raise ApplicationError(
                "instructions_too_long", f"Instructions are at most {constants.MAX_INSTRUCTIONS} characters."
            )
        cameo.instructions = instructions
    if restrictions is not None:
        cameo.restrictions = _validate_restrictions(restrictions)
    audience_changed = audience is not None and audience != cameo.audience
    if audience is not None:
        if audience not in CameoAudience.values:
            raise ApplicationError("invalid_audience", f"audience must be one of {', '.join(CameoAudience.values)}.")
        cameo.audience = audience
    cameo.save()
    cancelled = taken_down = 0
    if audience_changed or take_down_existing:
        label = CameoAudience(cameo.audience).label
        cancelled, taken_down = _enforce(
            cameo,
            actor=actor,
            take_down_existing=take_down_existing,
            reason=f"The owner of {cameo.display_name} changed who may use it ({label}).",
        )
    return ConsentChange(cameo, cancelled, taken_down)


@transaction.atomic
def cameo_access_set(
    *, cameo: Cameo, actor: User, user: User, effect: str, take_down_existing: bool = False
) -> tuple[CameoAccessEntry, ConsentChange]:
    """Put someone on the cameo's allow or deny list (deny always wins)."""
    _check_owner(cameo, actor)
    if user.pk == cameo.owner_id:
        raise ApplicationError("cannot_list_owner", "You always may use your own cameo.")
    if effect not in CameoAccessEntry.Effect.values:
        raise ApplicationError("invalid_effect", "effect must be allow or deny.")
    cameo = Cameo.objects.select_for_update().select_related("owner").get(pk=cameo.pk)
    entry, _ = CameoAccessEntry.objects.update_or_create(cameo=cameo, user=user, defaults={"effect": effect})
    # A list entry answers any pending request from that person.
    decided = CameoRequest.Status.APPROVED if effect == "allow" else CameoRequest.Status.DENIED
    CameoRequest.objects.filter(cameo=cameo, requester=user, status=CameoRequest.Status.PENDING).update(
        status=decided, decided_at=timezone.now()
    )
    cancelled = taken_down = 0
    if effect == CameoAccessEntry.Effect.DENY:
        cancelled, taken_down = _enforce(
            cameo,
            actor=actor,
            take_down_existing=take_down_existing,
            reason=f"The owner of {cameo.display_name} no longer allows you to use it.",
        )
    return entry, ConsentChange(cameo, cancelled, taken_down)


@transaction.atomic
def cameo_access_remove(*, cameo: Cameo, actor: User, user: User, take_down_existing: bool = False) -> ConsentChange:
    """Take someone off the lists; losing an allow entry may cost them access."""
    _check_owner(cameo, actor)
    cameo = Cameo.objects.select_for_update().select_related("owner").get(pk=cameo.pk)
    removed, _ = CameoAccessEntry.objects.filter(cameo=cameo, user=user).delete()
    if not removed:
        raise NotFound("access_entry_not_found", "That person is on neither list.")
    cancelled, taken_down = _enforce(
        cameo,
        actor=actor,
        take_down_existing=take_down_existing,
        reason=f"The owner of {cameo.display_name} changed who may use it.",
    )
    return ConsentChange(cameo, cancelled, taken_down)


@transaction.atomic
def cameo_revoke(*, cameo: Cameo, actor: User, take_down_existing: bool = False) -> ConsentChange:
    """Withdraw everyone's permission: audience "only me", allow list emptied, pending requests
    denied, queued jobs of everyone but the owner cancelled; existing videos by others taken
    down if the owner asks. The owner keeps using the cameo."""
    _check_owner(cameo, actor)
    cameo = Cameo.objects.select_for_update().select_related("owner").get(pk=cameo.pk)
    if cameo.status == CameoStatus.REVOKED:
        raise Conflict("cameo_revoked", "This cameo was deleted.")
    now = timezone.now()
    cameo.audience = CameoAudience.ONLY_ME
    cameo.revoked_at = now
    cameo.save(update_fields=["audience", "revoked_at", "updated_at"])
    CameoAccessEntry.objects.filter(cameo=cameo, effect=CameoAccessEntry.Effect.ALLOW).delete()
    CameoRequest.objects.filter(cameo=cameo, status=CameoRequest.Status.PENDING).update(
        status=CameoRequest.Status.DENIED, decided_at=now
    )
    cancelled, taken_down = _enforce(
        cameo,
        actor=actor,
        take_down_existing=take_down_existing,
        reason=f"The owner of {cameo.display_name} withdrew permission to use it.",
    )
    return ConsentChange(cameo, cancelled, taken_down)


@transaction.atomic
def cameo_delete(*, cameo: Cameo, actor: User, take_down_existing: bool = False) -> ConsentChange:
    """Delete a cameo for good: nobody, the owner included, can use it; its private media are
    erased; every queued job featuring it is cancelled. The row stays (status revoked) because
    appearances and the royalty ledger point at it."""
    _check_owner(cameo, actor)
    cameo = Cameo.objects.select_for_update().select_related("owner").get(pk=cameo.pk)
    if cameo.status == CameoStatus.REVOKED:
        return ConsentChange(cameo)
    now = timezone.now()
    paths = [cameo.clip_path, *CameoReference.objects.filter(cameo=cameo).values_list("path", flat=True)]
    CameoReference.objects.filter(cameo=cameo).delete()
    cameo.status = CameoStatus.REVOKED
    cameo.revoked_at = now
    cameo.clip_path = ""
    cameo.embedding = None
    cameo.save()
    CameoRequest.objects.filter(cameo=cameo, status=CameoRequest.Status.PENDING).update(
        status=CameoRequest.Status.WITHDRAWN, decided_at=now
    )
    cancelled, taken_down = _enforce(
        cameo,
        actor=actor,
        take_down_existing=take_down_existing,
        reason=f"The owner deleted the cameo {cameo.display_name}.",
    )
    transaction.on_commit(lambda: storage.delete_quietly(paths))
    return ConsentChange(cameo, cancelled, taken_down)
