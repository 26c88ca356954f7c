"""Reads of API keys: lookup by secret, a key's effective quota, an owner's keys."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from sora_social.apikeys.models import ApiKey
from sora_social.apikeys.secret import KEY_PREFIX, key_digest
from sora_social.common.errors import NotFound
from sora_social.users.models import User


@dataclass(frozen=True)
class KeyQuota:
    plan: str
    daily_credits: int
    max_in_flight: int


def plan_limits(plan: str) -> dict[str, int | bool]:
    plans = settings.API_KEY_PLANS
    return plans.get(plan) or plans[settings.API_KEY_DEFAULT_PLAN]


def api_key_quota(key: ApiKey) -> KeyQuota:
    """The key's own numbers where staff set them, else its plan's."""
    limits = plan_limits(key.plan)
    return KeyQuota(
        plan=key.plan,
        daily_credits=key.daily_credits if key.daily_credits is not None else limits["daily_credits"],
        max_in_flight=key.max_in_flight if key.max_in_flight is not None else limits["max_in_flight"],
    )


def api_key_output_unmarked(key: ApiKey) -> bool:
    """Does this key's plan get its videos without the visible watermark (another sora_social
    instance using this one as its fleet, which marks them itself)?"""
    return bool(plan_limits(key.plan).get("unmarked_output", False))


def api_key_for_secret(secret: str) -> ApiKey | None:
    """The live key with this secret (and an active owner), else None."""
    if not secret.startswith(KEY_PREFIX):
        return None
    key = ApiKey.objects.select_related("user").filter(digest=key_digest(secret)).first()
    if key is None or not key.is_live or not key.user.is_active:
        return None
    return key


def api_key_is_live(*, key_id: int) -> bool:
    """Not revoked, not expired, its owner active (what authentication accepts)."""
    from django.db.models import Q
    from django.utils import timezone

    return (
        ApiKey.objects.filter(pk=key_id, revoked_at__isnull=True, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .exists()
    )


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    """The owner's keys not revoked (a revoked key is gone, as after any DELETE), newest first."""
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at", "-pk")


def api_key_get_owned(*, user: User, key_id: int) -> ApiKey:
    key = api_key_list(user=user).filter(pk=key_id).first()
    if key is None:
        raise NotFound("api_key_not_found", "No such API key.")
    return key
