"""Characters and rights holders: who may create character cameos, and a character's licence."""

from __future__ import annotations

from django.db import transaction

from cameos import constants
from cameos.models import Cameo, CameoKind, CharacterLicence, RightsHolder
from cameos.services.validation import _check_owner, _validate_words
from sora_social.common.errors import ApplicationError
from sora_social.users.models import User


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
        # 422: what kind of cameo the id names, no schema can state.
        raise ApplicationError("not_a_character", "Only character cameos carry a licence.", status_code=422)
    licence, _ = CharacterLicence.objects.select_for_update().get_or_create(cameo=cameo)
    if allowed_themes is not None:
        licence.allowed_themes = _validate_words(allowed_themes, field="themes", limit=constants.MAX_THEMES)
    if forbidden_themes is not None:
        licence.forbidden_themes = _validate_words(forbidden_themes, field="themes", limit=constants.MAX_THEMES)
    if fee_credits is not None:
        if not 0 <= fee_credits <= constants.MAX_LICENCE_FEE:
            raise ApplicationError("invalid_fee", f"fee_credits must be between 0 and {constants.MAX_LICENCE_FEE}.")
        licence.fee_credits = fee_credits
    if rights_holder_share_bps is not None:
        if not 0 <= rights_holder_share_bps <= 10_000:
            raise ApplicationError("invalid_share", "rights_holder_share_bps must be between 0 and 10000.")
        licence.rights_holder_share_bps = rights_holder_share_bps
    licence.save()
    return licence
