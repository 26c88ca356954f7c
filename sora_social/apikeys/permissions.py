"""Which scope a request needs, and the permission class that holds an API key to it.

A view may say what it needs with `api_key_scope` ("videos", "social", "account", or "any");
otherwise its path decides (ROUTE_SCOPES, first match). "account" routes (key management,
tokens, password, account deletion and export) are a person's: no key reaches them, whatever
its scopes, so a leaked key can neither mint keys nor take over the account.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from sora_social.apikeys.models import ApiKey, ApiKeyScope

SCOPE_ACCOUNT = "account"  # a person's own routes; no key has it
SCOPE_ANY = "any"  # every live key (e.g. a key reading its own quota)

ROUTE_SCOPES: tuple[tuple[str, str], ...] = (
    ("/api/v1/api-keys/current", SCOPE_ANY),
    ("/api/v1/api-keys", SCOPE_ACCOUNT),
    ("/api/v1/auth/", SCOPE_ACCOUNT),
    ("/api/v1/account", SCOPE_ACCOUNT),
    ("/v1/", ApiKeyScope.VIDEOS),
    ("/api/v1/generations", ApiKeyScope.VIDEOS),
    ("/api/v1/drafts", ApiKeyScope.VIDEOS),
)


class InsufficientScope(exceptions.APIException):
    status_code = 403
    default_code = "insufficient_scope"
    default_detail = "This API key's scopes do not cover this endpoint."


def required_scope(request, view) -> str:
    declared = getattr(view, "api_key_scope", None)
    if declared:
        return declared
    path = request.path
    return next((scope for prefix, scope in ROUTE_SCOPES if path.startswith(prefix)), ApiKeyScope.SOCIAL)


class ApiKeyScopePermission(BasePermission):
    """Requests authenticated with an API key reach only what its scopes cover (403
    `insufficient_scope`); requests with a person's token or session are not this class's concern.

    ApiKeyAuthentication runs it as soon as a key is recognised, so it holds on every view,
    including those that list their own permission classes.
    """

    def has_permission(self, request, view) -> bool:
        key = request.auth if isinstance(request.auth, ApiKey) else None
        if key is None:
            return True
        return self.key_may(key, required_scope(request, view))

    @staticmethod
    def key_may(key: ApiKey, scope: str) -> bool:
        if scope == SCOPE_ANY:
            return True
        if scope == SCOPE_ACCOUNT:
            raise InsufficientScope("API keys cannot use this endpoint; use your own login token.")
        if not key.allows(scope):
            raise InsufficientScope(
                f"This API key has the scopes {', '.join(key.scopes)}; this endpoint needs {scope!r}."
            )
        return True
