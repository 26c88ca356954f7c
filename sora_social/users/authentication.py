"""Bearer-token authentication for mobile clients (REST and websockets)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from sora_social.common import db_router
from sora_social.users.models import AuthToken, User
from sora_social.users.tokens import token_digest

# Writing last_used_at on every request would turn every read into a write.
LAST_USED_GRANULARITY = timedelta(minutes=5)


def user_for_token(secret: str) -> tuple[User, AuthToken] | None:
    """The live token's (user, token), or None for an unknown, revoked or expired one."""
    if not secret:
        return None
    token = AuthToken.objects.select_related("user").filter(digest=token_digest(secret)).first()
    if token is None or not token.is_live or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        # Imported here: services import the error module, which imports DRF, whose settings
        # import this module.
        from sora_social.users.services import token_touch

        token_touch(token_id=token.pk, now=now)
        token.last_used_at = now
    return token.user, token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            secret = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed token.") from exc
        found = user_for_token(secret)
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        # From here on a lag-tolerant GET may read the replica (common/db_router.py).
        db_router.request_authenticated(request, found[0])
        return found

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "sora_social.users.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
