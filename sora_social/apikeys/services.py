"""Write use-cases for API keys. One transaction each."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sora_social.apikeys.models import ApiKey, ApiKeyScope
from sora_social.apikeys.ports import keys_revoked
from sora_social.apikeys.secret import SHOWN_PREFIX_CHARS, key_digest, new_key_secret
from sora_social.common.errors import ApplicationError, NotFound
from sora_social.users.models import User


def _check_scopes(scopes: list[str]) -> list[str]:
    valid = set(ApiKeyScope.values)
    unknown = [s for s in scopes if s not in valid]
    if not scopes or unknown:
        raise ApplicationError(
            "invalid_scopes",
            f"scopes must be a non-empty list of {', '.join(ApiKeyScope.values)}.",
            fields={"scopes": [f"Unknown scope {unknown[0]!r}." if unknown else "Give at least one scope."]},
        )
    return sorted(set(scopes))


def _check_plan(plan: str) -> str:
    if plan not in settings.API_KEY_PLANS:
        raise ApplicationError(
            "invalid_plan",
            f"plan must be one of {', '.join(sorted(settings.API_KEY_PLANS))}.",
            fields={"plan": ["Unknown plan."]},
        )
    return plan


@transaction.atomic
def api_key_create(
    *,
    user: User,
    name: str,
    scopes: list[str],
    expires_in_days: int | None = None,
    plan: str | None = None,
    daily_credits: int | None = None,
    max_in_flight: int | None = None,
) -> tuple[ApiKey, str]:
    """Make a key. Returns (key, secret); the secret exists only in this answer.

    Owners choose name, scopes and expiry; `plan` and the quota numbers are for staff (the
    `api_key_create` command, the console): the API does not pass them.
    """
    if user.is_suspended:
        raise ApplicationError("account_suspended", "Your account is suspended.", status_code=403)
    name = name.strip()
    if not name:
        raise ApplicationError(
            "name_required", "Name the key after the app that uses it.", fields={"name": ["Required."]}
        )
    live = ApiKey.objects.filter(user=user, revoked_at__isnull=True).count()
    if live >= settings.API_KEY_MAX_PER_USER:
        raise ApplicationError(
            "too_many_api_keys",
            f"You have {live} keys; revoke one before making another.",
            status_code=409,
            extra={"limit": settings.API_KEY_MAX_PER_USER},
        )
    secret = new_key_secret()
    key = ApiKey.objects.create(
        user=user,
        name=name[:100],
        digest=key_digest(secret),
        prefix=secret[:SHOWN_PREFIX_CHARS],
        scopes=_check_scopes(scopes),
        plan=_check_plan(plan or settings.API_KEY_DEFAULT_PLAN),
        daily_credits=daily_credits,
        max_in_flight=max_in_flight,
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return key, secret


@transaction.atomic
def api_key_revoke(*, user: User, key_id: int) -> ApiKey:
    """Revoke an own key; it stops working at once. Revoking a revoked key is a no-op."""
    key = ApiKey.objects.select_for_update().filter(user=user, pk=key_id).first()
    if key is None:
        raise NotFound("api_key_not_found", "No such API key.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        keys_revoked(key_ids=[key.pk])  # its websockets close
    return key


def api_key_touch(*, key_id: int, now: datetime) -> None:
    """Record that a key was used (authentication calls this at most every few minutes)."""
    ApiKey.objects.filter(pk=key_id).update(last_used_at=now)


@transaction.atomic
def api_keys_erase_for_account(*, user: User) -> dict[str, int]:
    """The account eraser (users.ports): every live key of a person who leaves is revoked."""
    live = list(ApiKey.objects.filter(user=user, revoked_at__isnull=True).values_list("pk", flat=True))
    revoked = ApiKey.objects.filter(pk__in=live).update(revoked_at=timezone.now())
    keys_revoked(key_ids=live)
    return {"apikeys.keys_revoked": revoked}
