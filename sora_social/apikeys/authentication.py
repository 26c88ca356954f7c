"""`Authorization: Bearer sk-…`: API keys, accepted wherever bearer tokens are (REST)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from sora_social.apikeys.models import ApiKey
from sora_social.apikeys.permissions import ApiKeyScopePermission, required_scope
from sora_social.apikeys.secret import KEY_PREFIX
from sora_social.users.models import User

LAST_USED_GRANULARITY = timedelta(minutes=5)


def _touch(key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
        from sora_social.apikeys.services import api_key_touch  # services import DRF-using modules

        api_key_touch(key_id=key.pk, now=now)
        key.last_used_at = now


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Takes bearer secrets that start with `sk-` (others are left to the token class after
    it). `request.auth` is the ApiKey; its scopes are checked here, at once, by
    ApiKeyScopePermission, so no view can forget them."""

    def authenticate(self, request) -> tuple[User, ApiKey] | None:
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != b"bearer" or not header[1].startswith(KEY_PREFIX.encode()):
            return None
        try:
            secret = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed API key.") from exc
        from sora_social.apikeys.selectors import api_key_for_secret

        key = api_key_for_secret(secret)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        view = (getattr(request, "parser_context", None) or {}).get("view")
        ApiKeyScopePermission.key_may(key, required_scope(request, view))
        _touch(key)
        return key.user, key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "sora_social.apikeys.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An app's API key (`sk-…`), made at /api/v1/api-keys; its scopes limit the endpoints.",
        }


def request_api_key(request) -> ApiKey | None:
    """The API key a request was authenticated with, if any (views pass it to services)."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiKey) else None
