"""Write use-cases of the cameos app. One transaction each; side effects only after commit.

Verification itself (the worker's heavy part) is in `cameos.verification`.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from cameos import constants, ports, storage
from cameos.models import (
    LIVE_STATUSES,
    Cameo,
    CameoAccessEntry,
    CameoAppearance,
    CameoAudience,
    CameoChallenge,
    CameoKind,
    CameoReference,
    CameoRequest,
    CameoStatus,
    CharacterLicence,
    RightsHolder,
    RoyaltyEntry,
    RoyaltyParty,
)
from cameos.selectors import can_use_cameo, is_rights_holder
from sora_social.common.errors import ApplicationError, Conflict, Forbidden, NotFound
from sora_social.notifications.services import notify
from sora_social.outbox.services import outbox_send_on_commit
from sora_social.users.models import User

# --- validation helpers ----------------------------------------------------------------------


def _validate_name(name: str) -> str:
    name = name.strip().lstrip("@")
    if not re.match(constants.NAME_PATTERN, name):
        raise ApplicationError(
            "invalid_cameo_name",
            "A cameo name is 3 to 40 letters, digits, underscores, dots or dashes.",
            fields={"name": ["Invalid name."]},
        )
    return name


def _validate_kind(kind: str) -> str:
    if kind not in CameoKind.values:
        raise ApplicationError("invalid_cameo_kind", f"kind must be one of {', '.join(CameoKind.values)}.")
    return kind


def _validate_restrictions(codes: Iterable[str]) -> list[str]:
    codes = list(dict.fromkeys(codes))
    unknown = [c for c in codes if c not in constants.RESTRICTION_CODES]
    if unknown:
        raise ApplicationError(
            "unknown_restriction",
            f"Unknown restriction code(s): {', '.join(unknown)}.",
            fields={"restrictions": [f"Known codes: {', '.join(constants.RESTRICTION_CODES)}."]},
        )
    return codes


def _validate_words(values: Iterable[str], *, field: str, limit: int) -> list[str]:
    out: list[str] = []
    for value in values:
        value = " ".join(str(value).split())
        if not value:
            continue
        if len(value) > constants.MAX_THEME_LENGTH:
            raise ApplicationError(
                f"invalid_{field}", f"Each of {field} is at most {constants.MAX_THEME_LENGTH} characters."
            )
        if value.lower() not in {v.lower() for v in out}:
            out.append(value)
    if len(out) > limit:
        raise ApplicationError(f"invalid_{field}", f"At most {limit} {field}.")
    return out


def _check_owner(cameo: Cameo, actor: User) -> None:
    if cameo.owner_id != actor.pk:
        raise NotFound("No such cameo.", code="cameo_not_found")


def _name_taken(owner: User, name: str, *, exclude_id: int | None = None) -> bool:
    rows = Cameo.objects.filter(owner=owner, name__iexact=name, status__in=LIVE_STATUSES)
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    return rows.exists()


def _has_live_person(owner: User) -> bool:
    return Cameo.objects.filter(owner=owner, kind=CameoKind.PERSON, status__in=LIVE_STATUSES).exists()


def _check_can_create(*, owner: User, kind: str, name: str) -> None:
    if kind == CameoKind.PERSON and _has_live_person(owner):
        raise Conflict("person_cameo_exists", "You already have a person cameo; delete it to make a new one.")
    if kind == CameoKind.CHARACTER and not is_rights_holder(owner):
        raise Forbidden("not_a_rights_holder", "Only rights-holder accounts can create character cameos.")
    if _name_taken(owner, name):
        raise Conflict("cameo_name_taken", f"You already have a cameo named {name}.")


# --- creating: challenge, upload -------------------------------------------------------------


@transaction.atomic
def challenge_create(*, owner: User, kind: str, name: str, display_name: str = "") -> CameoChallenge:
    """Issue a one-time code to show in the verification clip (as the challenge card's QR code)."""
    kind = _validate_kind(kind)
    name = _validate_name(name)
    _check_can_create(owner=owner, kind=kind, name=name)
    now = timezone.now()
    in_last_hour = CameoChallenge.objects.filter(owner=owner, created_at__gte=now - timedelta(hours=1))
    limit = constants.challenges_per_hour()
    if in_last_hour.count() >= limit:
        # Free again when the attempt that fills the hour's window leaves it.
        freeing = in_last_hour.order_by("-created_at").values_list("created_at", flat=True)[limit - 1]
        raise ApplicationError(
            "too_many_challenges",
            "Too many cameo attempts in the last hour; try again later.",
            status_code=429,
            extra={"retry_after_s": max(1, math.ceil((freeing + timedelta(hours=1) - now).total_seconds()))},
        )
    return CameoChallenge.objects.create(
        owner=owner,
        kind=kind,
        name=name,
        display_name=(display_name.strip() or name)[:60],
        code=f"{secrets.randbelow(10**6):06d}",
        created_at=now,
        expires_at=now + timedelta(seconds=constants.challenge_ttl_seconds()),
    )


def _probe(clip: File):
    from cameos import vision

    size = getattr(clip, "size", None)
    if size is not None and size > constants.max_clip_bytes():
        raise ApplicationError(
            "clip_too_large", f"The clip is over {constants.max_clip_bytes() // (1024 * 1024)} MB.", status_code=413
        )
    path = getattr(clip, "temporary_file_path", None)
    clip.seek(0)
    try:
        probe = vision.probe_clip(path() if callable(path) else clip)
    except vision.ClipError as exc:
        raise ApplicationError(exc.code, exc.message) from exc
    finally:
        clip.seek(0)
    if max(probe.width, probe.height) > constants.max_side():
        # Decoding a huge frame size ties up the worker's memory; no phone records like this.
        raise ApplicationError(
            "resolution_too_high",
            f"The clip is {probe.width}x{probe.height}; record at most {constants.max_side()} pixels on a side.",
        )
    # The header can lie either way; the worker measures decoded frames. This refuses the obvious.
    if probe.duration_s > constants.max_clip_seconds() + 0.5:
        raise ApplicationError(
            "clip_too_long",
            f"The clip is {probe.duration_s:.1f} s; the limit is {constants.max_clip_seconds():g} s.",
        )
    return probe


def cameo_submit(
    *,
    owner: User,
    clip: File,
    challenge_id: int | None = None,
    kind: str | None = None,
    name: str | None = None,
    display_name: str = "",
    description: str = "",
) -> Cameo:
    """Accept a verification clip: cheap checks now, the rest on the worker (cameo_verify).

    With a challenge (the REST flow, required for a person): kind and name come from it; it
    must be the owner's, unused and unexpired, and is marked used in the same transaction that
    creates the cameo. Without one (the OpenAI-compatible characters API): only a pet, object or
    character, and verification then skips the challenge check but still refuses a clip of a
    person's face for a pet or object.
    """
    challenge = None
    now = timezone.now()
    if challenge_id is not None:
        challenge = CameoChallenge.objects.filter(pk=challenge_id, owner=owner).first()
        if challenge is None:
            raise NotFound("No such challenge.", code="challenge_not_found")
        if challenge.used_at is not None:
            raise Conflict("challenge_reused", "This challenge was already used; ask for a new code.")
        if challenge.expires_at <= now:
            raise ApplicationError("challenge_expired", "The code expired; ask for a new one and record again.")
        kind, name = challenge.kind, challenge.name
        display_name = display_name or challenge.display_name
    else:
        kind = _validate_kind(kind or "")
        if kind == CameoKind.PERSON:
            raise ApplicationError(
                "challenge_required", "A person cameo needs a challenge: ask for a code and show it in the clip."
            )
        name = _validate_name(name or "")
        _check_can_create(owner=owner, kind=kind, name=name)

    probe = _probe(clip)
    # A clip that is one of the app's own videos showing someone else's cameo (a downloaded post,
    # the challenge card pasted on) would make a cameo of their likeness: generation recognises it.
    clip.seek(0)
    ports.check_clip(owner_id=owner.pk, clip_bytes=clip.read(), kind=kind)
    clip.seek(0)
    if challenge is None:
        # The characters API has no way to show a worker's refusal: a face is refused now.
        from cameos.verification import non_person_clip_check

        clip.seek(0)
        non_person_clip_check(clip.read())
        clip.seek(0)
    folder = storage.new_private_folder(owner.pk)
    clip_path = storage.save(f"{folder}/clip{storage.clip_extension(probe.format_name)}", clip)
    try:
        cameo = _cameo_create_pending(
            owner=owner,
            challenge_id=challenge.pk if challenge else None,
            kind=kind,
            name=name,
            display_name=(display_name.strip() or name)[:60],
            description=description.strip()[:300],
            clip_path=clip_path,
            probe=probe,
        )
    except Exception:
        storage.delete_quietly([clip_path])
        raise
    return cameo


@transaction.atomic
def _cameo_create_pending(
    *, owner: User, challenge_id: int | None, kind: str, name: str, display_name: str, description: str,
    clip_path: str, probe,
) -> Cameo:  # fmt: skip
    if challenge_id is not None:
        # The row lock makes "unused" and "mark used" one step: of two concurrent uploads with
        # the same challenge, the second waits here and then sees it used.
        challenge = CameoChallenge.objects.select_for_update().get(pk=challenge_id)
        if challenge.used_at is not None:
            raise Conflict("challenge_reused", "This challenge was already used; ask for a new code.")
        if challenge.expires_at <= timezone.now():
            raise ApplicationError("challenge_expired", "The code expired; ask for a new one and record again.")
        challenge.used_at = timezone.now()
        challenge.save(update_fields=["used_at"])
    _check_can_create(owner=owner, kind=kind, name=name)
    try:
        with transaction.atomic():
            cameo = Cameo.objects.create(
                owner=owner,
                kind=kind,
                name=name,
                display_name=display_name,
                description=description,
                status=CameoStatus.PENDING,
                challenge_id=challenge_id,
                clip_path=clip_path,
                clip_duration_s=probe.duration_s,
                clip_width=probe.width,
                clip_height=probe.height,
            )
    except IntegrityError as exc:  # a concurrent upload took the person slot or the name
        raise Conflict("cameo_conflict", "Another cameo with this name or kind was just created.") from exc
    if kind == CameoKind.CHARACTER:
        CharacterLicence.objects.create(cameo=cameo)
    # Through the outbox: the verification message commits with the cameo, so a broker outage
    # delays verification and never loses it.
    outbox_send_on_commit(task="cameos.verify", args=[cameo.pk])
    return cameo


# --- settings and consent ----------------------------------------------------------------------


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
        raise NotFound("That person is on neither list.", code="access_entry_not_found")
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


# --- requests ------------------------------------------------------------------------------


@transaction.atomic
def cameo_request_create(*, cameo: Cameo, requester: User, message: str = "") -> CameoRequest:
    """Ask the owner of a "people I approve" cameo for permission. The owner is notified."""
    decision = can_use_cameo(requester, cameo)
    if decision.allowed:
        raise Conflict("already_allowed", "You may already use this cameo.")
    if decision.code == "request_pending":
        raise Conflict("request_pending", "You already asked; the owner has not decided yet.")
    if decision.code != "approval_required":
        # Every other refusal is final for a request; the cameo reads as absent, as in lookups.
        raise NotFound("No such cameo.", code="cameo_not_found")
    last_denied = (
        CameoRequest.objects.filter(cameo=cameo, requester=requester, status=CameoRequest.Status.DENIED)
        .order_by("-decided_at")
        .values_list("decided_at", flat=True)
        .first()
    )
    cooldown = timedelta(seconds=constants.request_cooldown_seconds())
    if last_denied is not None and last_denied > timezone.now() - cooldown:
        wait_s = math.ceil((last_denied + cooldown - timezone.now()).total_seconds())
        raise ApplicationError(
            "request_cooldown",
            "The owner declined recently; you can ask again later.",
            status_code=429,
            extra={"retry_after_s": max(1, wait_s)},
        )
    try:
        with transaction.atomic():
            request = CameoRequest.objects.create(cameo=cameo, requester=requester, message=message.strip()[:300])
    except IntegrityError as exc:
        raise Conflict("request_pending", "You already asked; the owner has not decided yet.") from exc
    notify(
        recipient=cameo.owner,
        kind="cameo_request",
        actor=requester,
        data={
            "cameo_id": cameo.pk,
            "cameo_name": cameo.display_name,
            "request_id": request.pk,
            "message": request.message,
        },
        target=("cameo", cameo.pk),
    )
    return request


@transaction.atomic
def cameo_request_decide(*, request_id: int, actor: User, approve: bool) -> CameoRequest:
    """The owner approves (the requester goes on the allow list) or denies a request."""
    request = (
        CameoRequest.objects.select_for_update(of=("self",))
        .select_related("cameo", "cameo__owner", "requester")
        .filter(pk=request_id, cameo__owner=actor)
        .first()
    )
    if request is None:
        raise NotFound("No such request.", code="request_not_found")
    if request.status != CameoRequest.Status.PENDING:
        raise Conflict("request_already_decided", f"This request was already {request.status}.")
    cameo = request.cameo
    request.status = CameoRequest.Status.APPROVED if approve else CameoRequest.Status.DENIED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    if approve:
        CameoAccessEntry.objects.update_or_create(
            cameo=cameo, user=request.requester, defaults={"effect": CameoAccessEntry.Effect.ALLOW}
        )
    notify(
        recipient=request.requester,
        kind="cameo_request_decided",
        actor=actor,
        data={
            "cameo_id": cameo.pk,
            "cameo_name": cameo.display_name,
            "request_id": request.pk,
            "decision": "approved" if approve else "denied",
        },
        target=("cameo", cameo.pk),
    )
    return request


@transaction.atomic
def cameo_request_withdraw(*, request_id: int, requester: User) -> CameoRequest:
    updated = CameoRequest.objects.filter(
        pk=request_id, requester=requester, status=CameoRequest.Status.PENDING
    ).update(status=CameoRequest.Status.WITHDRAWN, decided_at=timezone.now())
    if not updated:
        raise NotFound("No pending request of yours with that id.", code="request_not_found")
    return CameoRequest.objects.get(pk=request_id)


# --- characters and rights holders ------------------------------------------------------------


@transaction.atomic
def rights_holder_grant(*, user: User, organisation: str) -> RightsHolder:
    """Staff mark an account as a rights holder (it may then create character cameos)."""
    organisation = organisation.strip()[:120]
    if not organisation:
        raise ApplicationError("invalid_organisation", "Name the organisation that holds the rights.")
    holder, _ = RightsHolder.objects.update_or_create(
        user=user, defaults={"organisation": organisation, "is_active": True}
    )
    return holder


@transaction.atomic
def rights_holder_revoke(*, user: User) -> None:
    RightsHolder.objects.filter(user=user).update(is_active=False)


@transaction.atomic
def character_licence_set(
    *,
    cameo: Cameo,
    actor: User,
    allowed_themes: list[str] | None = None,
    forbidden_themes: list[str] | None = None,
    fee_credits: int | None = None,
    rights_holder_share_bps: int | None = None,
) -> CharacterLicence:
    """Set a character's licence: themes, fee per generation (0 = free), the holder's share."""
    _check_owner(cameo, actor)
    if cameo.kind != CameoKind.CHARACTER:
        raise ApplicationError("not_a_character", "Only character cameos carry a licence.")
    licence, _ = CharacterLicence.objects.select_for_update().get_or_create(cameo=cameo)
    if allowed_themes is not None:
        licence.allowed_themes = _validate_words(allowed_themes, field="themes", limit=constants.MAX_THEMES)
    if forbidden_themes is not None:
        licence.forbidden_themes = _validate_words(forbidden_themes, field="themes", limit=constants.MAX_THEMES)
    if fee_credits is not None:
        if not 0 <= fee_credits <= 100_000:
            raise ApplicationError("invalid_fee", "fee_credits must be between 0 and 100000.")
        licence.fee_credits = fee_credits
    if rights_holder_share_bps is not None:
        if not 0 <= rights_holder_share_bps <= 10_000:
            raise ApplicationError("invalid_share", "rights_holder_share_bps must be between 0 and 10000.")
        licence.rights_holder_share_bps = rights_holder_share_bps
    licence.save()
    return licence


# --- appearances -------------------------------------------------------------------------------


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
        raise NotFound("No such appearance.", code="appearance_not_found")
    if appearance.status == CameoAppearance.Status.REMOVED:
        return appearance
    reason = " ".join(reason.split()) or f"The owner of {cameo.display_name} removed this video."
    return _appearance_remove(appearance=appearance, cameo=cameo, actor=actor, reason=reason)


# --- royalties ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoyaltyCharge:
    """The three ledger lines of one generation featuring one paid character; they sum to zero.

    `creator_amount` (negative) is what generation debits from the creator's credits, in the
    same transaction, once the credits ledger exists.
    """

    job_id: int
    cameo_id: int
    fee: int
    creator_amount: int
    rights_holder_amount: int
    platform_amount: int
    created: bool  # False when this job and cameo were charged before (idempotent replay)


def royalty_quote(*, cameos: Iterable[Cameo]) -> int:
    """Credits a generation featuring these cameos would pay in licence fees (for submit checks)."""
    total = 0
    for cameo in cameos:
        if cameo.kind == CameoKind.CHARACTER:
            licence = CharacterLicence.objects.filter(cameo=cameo).first()
            total += licence.fee_credits if licence else 0
    return total


def _split(fee: int, share_bps: int) -> tuple[int, int]:
    holder = fee * share_bps // 10_000  # the platform keeps the rounding remainder
    return holder, fee - holder


def _charge_from_rows(job_id: int, cameo_id: int, rows: list[RoyaltyEntry], *, created: bool) -> RoyaltyCharge:
    by_party = {r.party: r.amount for r in rows}
    return RoyaltyCharge(
        job_id=job_id,
        cameo_id=cameo_id,
        fee=abs(by_party.get(RoyaltyParty.CREATOR, 0)),
        creator_amount=by_party.get(RoyaltyParty.CREATOR, 0),
        rights_holder_amount=by_party.get(RoyaltyParty.RIGHTS_HOLDER, 0),
        platform_amount=by_party.get(RoyaltyParty.PLATFORM, 0),
        created=created,
    )


@transaction.atomic
def royalty_charge(*, job_id: int, cameo: Cameo, creator: User, video_id: int | None = None) -> RoyaltyCharge | None:
    """Charge a generation's licence fee for a character: creator -fee, rights holder +share,
    platform +rest, in one transaction. Idempotent per (job, cameo): a replay returns the first
    charge. None when nothing is owed (not a character, free, or the holder's own generation)."""
    if cameo.kind != CameoKind.CHARACTER or creator.pk == cameo.owner_id:
        return None
    licence = CharacterLicence.objects.filter(cameo=cameo).first()
    if licence is None or licence.fee_credits == 0:
        return None
    existing = list(RoyaltyEntry.objects.filter(job_id=job_id, cameo=cameo, entry_type=RoyaltyEntry.EntryType.CHARGE))
    if existing:
        return _charge_from_rows(job_id, cameo.pk, existing, created=False)
    fee = licence.fee_credits
    holder_amount, platform_amount = _split(fee, licence.rights_holder_share_bps)
    now = timezone.now()
    lines = [
        RoyaltyEntry(party=RoyaltyParty.CREATOR, account=creator, amount=-fee),
        RoyaltyEntry(party=RoyaltyParty.RIGHTS_HOLDER, account_id=cameo.owner_id, amount=holder_amount),
        RoyaltyEntry(party=RoyaltyParty.PLATFORM, account=None, amount=platform_amount),
    ]
    for line in lines:
        line.cameo = cameo
        line.job_id = job_id
        line.video_id = video_id
        line.created_at = now
    try:
        with transaction.atomic():
            RoyaltyEntry.objects.bulk_create(lines)
    except IntegrityError:  # charged concurrently: the unique constraint kept one charge
        rows = list(RoyaltyEntry.objects.filter(job_id=job_id, cameo=cameo, entry_type=RoyaltyEntry.EntryType.CHARGE))
        return _charge_from_rows(job_id, cameo.pk, rows, created=False)
    if holder_amount > 0:
        notify(
            recipient=cameo.owner,
            kind="royalty",
            actor=creator,
            data={"cameo_id": cameo.pk, "cameo_name": cameo.display_name, "amount": holder_amount, "job_id": job_id},
            target=("cameo", cameo.pk),
        )
    return _charge_from_rows(job_id, cameo.pk, lines, created=True)


@transaction.atomic
def royalty_reverse(*, job_id: int, cameo: Cameo) -> RoyaltyCharge | None:
    """Refund a charged generation (failed or cancelled after charging): the mirror lines.
    Idempotent; None when there was no charge."""
    charge = list(RoyaltyEntry.objects.filter(job_id=job_id, cameo=cameo, entry_type=RoyaltyEntry.EntryType.CHARGE))
    if not charge:
        return None
    existing = list(RoyaltyEntry.objects.filter(job_id=job_id, cameo=cameo, entry_type=RoyaltyEntry.EntryType.REVERSAL))
    if existing:
        return _charge_from_rows(job_id, cameo.pk, existing, created=False)
    now = timezone.now()
    lines = [
        RoyaltyEntry(
            party=row.party,
            account_id=row.account_id,
            cameo=cameo,
            entry_type=RoyaltyEntry.EntryType.REVERSAL,
            amount=-row.amount,
            job_id=job_id,
            video_id=row.video_id,
            created_at=now,
        )
        for row in charge
    ]
    try:
        with transaction.atomic():
            RoyaltyEntry.objects.bulk_create(lines)
    except IntegrityError:
        rows = list(RoyaltyEntry.objects.filter(job_id=job_id, cameo=cameo, entry_type=RoyaltyEntry.EntryType.REVERSAL))
        return _charge_from_rows(job_id, cameo.pk, rows, created=False)
    return _charge_from_rows(job_id, cameo.pk, lines, created=True)


@transaction.atomic
def cameo_disable_by_moderation(*, cameo: Cameo, reason: str, by: User | None) -> Cameo:
    """Moderation stops a misused cameo (say, someone else's likeness): nobody may use it, and
    in-flight jobs featuring it are cancelled. Its owner cannot re-enable it; only a moderator's
    restore (`cameo_enable_by_moderation`) can."""
    cameo = Cameo.objects.select_for_update().get(pk=cameo.pk)
    if cameo.status != CameoStatus.ACTIVE:
        return cameo
    cameo.status = CameoStatus.DISABLED
    cameo.rejection_code = "disabled_by_moderation"
    cameo.rejection_reason = reason[:300]
    cameo.save(update_fields=["status", "rejection_code", "rejection_reason", "updated_at"])
    ports.cancel_jobs(cameo_id=cameo.pk, still_allowed=lambda user_id: False, reason=reason)
    return cameo


@transaction.atomic
def cameo_enable_by_moderation(*, cameo: Cameo, by: User | None = None) -> Cameo:
    """Undo `cameo_disable_by_moderation` (an appeal won)."""
    cameo = Cameo.objects.select_for_update().get(pk=cameo.pk)
    if cameo.status == CameoStatus.DISABLED:
        cameo.status = CameoStatus.ACTIVE
        cameo.rejection_code = cameo.rejection_reason = ""
        cameo.save(update_fields=["status", "rejection_code", "rejection_reason", "updated_at"])
    return cameo
