"""Checks the cameo write use-cases share: names, kinds, restriction codes, word lists, ownership."""

from __future__ import annotations

import re
from collections.abc import Iterable

from cameos import constants
from cameos.models import LIVE_STATUSES, Cameo, CameoKind
from cameos.selectors import is_rights_holder
from sora_social.common.errors import ApplicationError, Conflict, Forbidden, NotFound
from sora_social.users.models import User


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
        raise NotFound("cameo_not_found", "No such cameo.")


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
