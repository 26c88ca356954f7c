"""The notifications websocket, /ws/notifications/.

Authenticate with the bearer token (an `Authorization: Bearer …` header, or `?token=` for
clients that cannot set headers). Pass `?after=<seq>` with the last seq the client saw to get
everything missed, oldest first, exactly once, before live ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from sora_social.common.outages import outage_of
from sora_social.notifications.selectors import last_seq, notifications_after, unread_count
from sora_social.notifications.services import notification_payload, token_group, user_group
from sora_social.users.authentication import user_for_token
from sora_social.users.selectors import token_is_live

CLOSE_UNAUTHENTICATED = 4401
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


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception as exc:
            if outage_of(exc) is None:
                raise
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

    async def connect(self) -> None:
        found = await database_sync_to_async(user_for_token)(_token_from_scope(self.scope))
        if found is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user, token = found
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            after = int((query.get("after") or ["-1"])[0])
        except ValueError:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.group = user_group(self.user.pk)
        # Revoking the token sends its group a close (users.services._tokens_revoke).
        self.token_group = token_group(token.pk)
        await self.channel_layer.group_add(self.token_group, self.channel_name)
        # Join first, then read the backlog: live messages that arrive meanwhile wait in the
        # channel and are deduplicated by seq, so nothing is missed or sent twice.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.token_watch = asyncio.ensure_future(self._watch_token(token.pk, token.expires_at))
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
        if hasattr(self, "token_watch"):
            self.token_watch.cancel()
        if hasattr(self, "token_group"):
            await self.channel_layer.group_discard(self.token_group, self.channel_name)
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _watch_token(self, token_id: int, expires_at) -> None:
        """Close the socket when its token stops being live: at its expiry, and every
        WS_TOKEN_RECHECK_S for what sends no message (a lost one, a deactivated account)."""
        while True:
            until_expiry = (expires_at - timezone.now()).total_seconds()
            await asyncio.sleep(max(0.0, min(settings.WS_TOKEN_RECHECK_S, until_expiry)))
            try:
                live = await database_sync_to_async(token_is_live)(token_id=token_id)
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
