"""The cameos a request shows and the checks on them: the cameos it names (by id, @handle or
@mention), those it inherits from its source videos, the prompt policy with their owners'
restrictions, consent, and the royalty fee. Submit makes these checks; the worker re-makes
some at completion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from rest_framework import status

from cameos.models import Cameo, CameoKind, CameoStatus
from cameos.selectors import cameo_is_visible, cameo_policy_subject_fields, can_use_cameo
from generation.models import Video
from sora_social.common.errors import ApplicationError, NotFound
from sora_social.users.models import User

if TYPE_CHECKING:
    from generation.jobs.submit import SubmitRequest


def _resolve_cameo_ref(ref: str | int) -> Cameo | None:
    """A cameo by id, or by @handle: a user's person cameo, else a pet/object/character by name."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        return Cameo.objects.select_related("owner").filter(pk=int(ref)).first()
    return _resolve_cameo_name(str(ref).strip().lstrip("@"))


def _resolve_cameo_name(name: str) -> Cameo | None:
    """A cameo by what a prompt calls it: a person cameo by its owner's handle (one word), else a
    pet, object or character by its name, where "blue mug" also finds the cameo named `blue-mug`
    or shown as "Blue Mug". Never by id: "@2024" in a prompt is a year, not cameo 2024."""
    if not name:
        return None
    qs = Cameo.objects.select_related("owner")
    if " " not in name:
        person = (
            qs.filter(owner__handle__iexact=name, kind=CameoKind.PERSON)
            .exclude(status__in=[CameoStatus.REJECTED, CameoStatus.REVOKED])
            .order_by("-created_at")
            .first()
        )
        if person is not None:
            return person
        return qs.filter(name__iexact=name).exclude(kind=CameoKind.PERSON).order_by("-created_at").first()
    return (
        qs.filter(Q(name__iexact=name.replace(" ", "-")) | Q(display_name__iexact=name))
        .exclude(kind=CameoKind.PERSON)
        .order_by("-created_at")
        .first()
    )


def _resolve_cameos(request: SubmitRequest) -> tuple[list[Cameo], list[str], list[str]]:
    """(cameos, missing, plain): the cameos asked for explicitly (`cameo_refs`, each of which
    must exist, else it is in `missing`) and by @mention in the prompt.

    "@" mentions resolve only to cameos: a mention that names none is plain text ("a neon sign
    that says @home"), and is returned in `plain` for the likeness guard, with the mentions that
    named a cameo by a multi-word name ("@Blue Mug"). A mention that names a cameo is checked for
    consent like an explicit one, whoever's it is."""
    from moderation.policy.likeness import mention_phrases

    found: list[Cameo] = []
    missing: list[str] = []

    def add(cameo: Cameo) -> None:
        if cameo.pk not in {c.pk for c in found}:
            found.append(cameo)

    for ref in request.cameo_refs:
        cameo = _resolve_cameo_ref(ref)
        if cameo is None:
            missing.append(str(ref))
        else:
            add(cameo)
    plain: list[str] = []
    for handle, phrases in mention_phrases(request.prompt):
        for phrase in phrases:
            cameo = _resolve_cameo_name(phrase)
            if cameo is not None:
                add(cameo)
                if phrase != handle:
                    plain.append(handle)
                break
        else:
            plain.append(handle)
    return found, missing, plain


def _policy_subjects(cameos: Sequence[Cameo]) -> list:
    from moderation.policy.subjects import CameoSubject

    return [CameoSubject(**cameo_policy_subject_fields(c)) for c in cameos]


def _check_prompt_policy(
    *, user: User, prompt: str, cameos: Sequence[Cameo], plain_mentions: Sequence[str] = ()
) -> dict[str, Any]:
    """The prompt layers (rules, classifier, likeness guard, cameo restrictions, remote)."""
    from moderation.policy.services import prompt_check

    verdict = prompt_check(
        prompt, cameos=_policy_subjects(cameos), viewer_is_minor=user.is_minor, plain_mentions=plain_mentions
    )
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
        raise NotFound("cameo_not_found", f"No cameo {missing[0]} that you can use.")
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
        raise NotFound("cameo_not_found", message)
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
