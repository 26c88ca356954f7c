"""Making a cameo: the challenge code, then the verification clip (verified on the worker)."""

from __future__ import annotations

import math
import secrets
from datetime import timedelta

from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from cameos import constants, ports, storage
from cameos.models import Cameo, CameoChallenge, CameoKind, CameoStatus, CharacterLicence
from cameos.services.validation import _check_can_create, _validate_kind, _validate_name
from sora_social.common.errors import ApplicationError, Conflict, NotFound
from sora_social.outbox.services import outbox_send_on_commit
from sora_social.users.models import User


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
            raise NotFound("challenge_not_found", "No such challenge.")
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
