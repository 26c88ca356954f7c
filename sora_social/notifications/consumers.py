"""The notifications websocket, /ws/notifications/.

Authenticate with the bearer token (an `Authorization: Bearer …` header, or `?token=` for
clients that cannot set headers), or an app's API key (`sk-…`) whose scopes cover `social`
(a key without it is refused with 4403). Pass `?after=<seq>` with the last seq the client saw to get
everything missed, oldest first, exactly once, before live ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from sora_social.apikeys.models import ApiKeyScope
from sora_social.apikeys.secret import KEY_PREFIX
from sora_social.apikeys.selectors import api_key_for_secret, api_key_is_live
from sora_social.common.metrics import WEBSOCKETS
from sora_social.common.outages import outage_of
from sora_social.notifications.selectors import last_seq, notifications_after, unread_count
from sora_social.notifications.services import api_key_group, notification_payload, token_group, user_group
from sora_social.users.authentication import user_for_token
from sora_social.users.models import User
from sora_social.users.selectors import token_is_live

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_INSUFFICIENT_SCOPE = 4403  # an API key without the `social` scope
CLOSE_BAD_REQUEST = 4400
# The database or Redis is unreachable: reconnect after a pause with ?after=<last seq>; nothing
# is lost (notifications are stored and replayed). In the application range like 4401: RFC
# 6455's own 1013 cannot be sent, since daphne's websocket library (autobahn) lets an
# application close only with 1000 or 3000-4999 and raises on anything else, so the socket
# stayed open, deaf, after a Redis outage.
CLOSE_TRY_AGAIN_LATER = 4503


def _token_from_scope(scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode(errors="replace").split()
            if len(parts) == 2 and parts[0].lower() in {"bearer", "token"}:
                return parts[1]
    query = parse_qs(scope.get("query_string", b"").decode())
    return (query.get("token") or [""])[0]


@dataclass(frozen=True)
class _Credential:
    user: User
    group: str  # closed when the token or key is revoked
    is_live: Callable[[], bool]
    expires_at: datetime | None


def _credential(secret: str) -> _Credential | int:
    """Who a socket's secret is (a person's token, or an API key with the `social` scope), or
    the close code to refuse it with."""
    if secret.startswith(KEY_PREFIX):
        key = api_key_for_secret(secret)
        if key is None:
            return CLOSE_UNAUTHENTICATED
        if not key.allows(ApiKeyScope.SOCIAL):
            return CLOSE_INSUFFICIENT_SCOPE
        return _Credential(key.user, api_key_group(key.pk), partial(api_key_is_live, key_id=key.pk), key.expires_at)
    found = user_for_token(secret)
    if found is None:
        return CLOSE_UNAUTHENTICATED
    user, token = found
    return _Credential(user, token_group(token.pk), partial(token_is_live, token_id=token.pk), token.expires_at)


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception as exc:
            service = outage_of(exc)
            if service is None:
                raise
            # Which service and how, for the operator: the client only sees the close code.
            logger.warning(
                "websocket closed %s: %s unavailable: %s: %s", CLOSE_TRY_AGAIN_LATER, service, type(exc).__name__, exc
            )
            # A backing service went away (at connect or while listening on the channel layer):
            # tell the client to come back, instead of the generic 1011 of an unhandled error.
            with contextlib.suppress(Exception):
                if not getattr(self, "_accepted", False):
                    # A close before the handshake is a bare 403; accept so the code arrives.
                    await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})

    async def accept(self, subprotocol=None, headers=None) -> None:
        await super().accept(subprotocol, headers)
        self._accepted = True
        if not getattr(self, "_counted", False):
            self._counted = True
            WEBSOCKETS.inc()

    async def connect(self) -> None:
        credential = await database_sync_to_async(_credential)(_token_from_scope(self.scope))
        if not isinstance(credential, _Credential):
            await self.close(code=credential)
            return
        self.user = credential.user
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            after = int((query.get("after") or ["-1"])[0])
        except ValueError:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.group = user_group(self.user.pk)
        # Revoking the token (or key) sends its group a close (users / apikeys ports).
        self.token_group = credential.group
        await self.channel_layer.group_add(self.token_group, self.channel_name)
        # Join first, then read the backlog: live messages that arrive meanwhile wait in the
        # channel and are deduplicated by seq, so nothing is missed or sent twice.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.token_watch = asyncio.ensure_future(self._watch_token(credential.is_live, credential.expires_at))
        current = await database_sync_to_async(last_seq)(user=self.user)
        self.last_sent = current if after < 0 else after
        await self.send_json(
            {
                "type": "hello",
                "last_seq": current,
                "unread_count": await database_sync_to_async(unread_count)(user=self.user),
            }
        )
        if after >= 0:
            await self._send_backlog(up_to=None)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            WEBSOCKETS.dec()
        if hasattr(self, "token_watch"):
            self.token_watch.cancel()
        if hasattr(self, "token_group"):
            await self.channel_layer.group_discard(self.token_group, self.channel_name)
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _watch_token(self, is_live: Callable[[], bool], expires_at: datetime | None) -> None:
        """Close the socket when its token (or key) stops being live: at its expiry, and every
        WS_TOKEN_RECHECK_S for what sends no message (a lost one, a deactivated account)."""
        while True:
            until_expiry = (expires_at - timezone.now()).total_seconds() if expires_at else settings.WS_TOKEN_RECHECK_S
            await asyncio.sleep(max(0.0, min(settings.WS_TOKEN_RECHECK_S, until_expiry)))
            try:
                live = await database_sync_to_async(is_live)()
            except Exception as exc:
                if outage_of(exc) is None:
                    raise
                continue  # the database is away: check again later rather than drop the client
            if not live:
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return

    async def token_revoked(self, event) -> None:
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def _send_backlog(self, up_to: int | None) -> None:
        while True:
            missed = await database_sync_to_async(notifications_after)(user=self.user, after_seq=self.last_sent)
            if up_to is not None:
                missed = [n for n in missed if n.seq < up_to]
            for notification in missed:
                await self.send_json({"type": "notification", "notification": notification_payload(notification)})
                self.last_sent = notification.seq
            if len(missed) < 500:
                return

    async def notification_stored(self, event) -> None:
        seq = event["seq"]
        if seq <= self.last_sent:
            return  # already sent from the backlog
        if seq > self.last_sent + 1:
            await self._send_backlog(up_to=seq)  # a message was dropped: fill the gap from storage
        await self.send_json({"type": "notification", "notification": event["payload"]})
        self.last_sent = seq

    async def notification_ephemeral(self, event) -> None:
        await self.send_json({"type": "progress", **event["payload"]})
