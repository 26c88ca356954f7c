"""The notifications websocket's protocol as JSON Schema (draft 2020-12), one schema per message.

Built from the OpenAPI schema's components, so a notification on the socket is described by the
same `NotificationOutput` as in `GET /api/v1/notifications`. Served at
`/api/schema/websocket.json`, written to `docs/websocket.schema.json` by
`manage.py websocket_schema --write` (a test keeps the file current), and checked against real
messages in tests/notifications/test_websocket_protocol.py.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.generators import SchemaGenerator

from sora_social.common.schema import openapi_to_json_schema
from sora_social.notifications.consumers import (
    CLOSE_BAD_REQUEST,
    CLOSE_INSUFFICIENT_SCOPE,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
)
from sora_social.notifications.models import NotificationKind

URL = "/ws/notifications/"


def _components_for(components: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    wanted: dict[str, Any] = {}
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        wanted[name] = components[name]
        text = str(components[name])
        stack.extend(other for other in components if f"'#/components/schemas/{other}'" in text and other not in wanted)
    return {name: openapi_to_json_schema(schema) for name, schema in sorted(wanted.items())}


def _message(type_: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {"type": {"const": type_}, **properties},
        "required": ["type", *required],
    }


def websocket_schema() -> dict[str, Any]:
    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    defs = _components_for(components, ["NotificationOutput"])
    defs.update(
        {
            "HelloMessage": _message(
                "hello",
                "First message after the handshake: where the stream stands.",
                {"last_seq": {"type": "integer"}, "unread_count": {"type": "integer"}},
                ["last_seq", "unread_count"],
            ),
            "NotificationMessage": _message(
                "notification",
                "A stored notification, live or replayed (connect with ?after=<seq> to get the missed ones, "
                "oldest first, exactly once). The same object GET /api/v1/notifications lists.",
                {"notification": {"$ref": "#/$defs/NotificationOutput"}},
                ["notification"],
            ),
            "ProgressMessage": _message(
                "progress",
                "Ephemeral, not stored and not replayed: e.g. a generation's percent done.",
                {
                    "kind": {"enum": list(NotificationKind.values)},
                    "text": {"type": "string"},
                    "data": {"$ref": "#/$defs/NotificationData"},
                },
                ["kind", "text", "data"],
            ),
            "PongMessage": _message("pong", "The answer to a ping.", {}, []),
            "PingMessage": _message("ping", "Client to server: keep-alive; answered with a pong.", {}, []),
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://sora-social.example/schemas/websocket.json",
        "title": f"sora_social notifications websocket ({URL})",
        "description": (
            f"Connect to {URL} with the bearer token or an app's API key (Authorization header, or ?token=). "
            "Optional ?after=<seq>: "
            "replay every stored notification after that seq first. Every frame is one JSON object: the "
            "server sends a ServerMessage, the client may send a ClientMessage. Close codes: "
            f"{CLOSE_UNAUTHENTICATED} missing, invalid, expired or revoked token (or API key); "
            f"{CLOSE_INSUFFICIENT_SCOPE} an API key without the social scope; {CLOSE_BAD_REQUEST} a bad "
            f"?after; {CLOSE_TRY_AGAIN_LATER} a backing service is down: reconnect later with ?after=<last seq>."
        ),
        "$defs": {
            **defs,
            "ServerMessage": {
                "oneOf": [
                    {"$ref": "#/$defs/HelloMessage"},
                    {"$ref": "#/$defs/NotificationMessage"},
                    {"$ref": "#/$defs/ProgressMessage"},
                    {"$ref": "#/$defs/PongMessage"},
                ]
            },
            "ClientMessage": {"oneOf": [{"$ref": "#/$defs/PingMessage"}]},
        },
        "x-close-codes": {
            str(CLOSE_UNAUTHENTICATED): "unauthenticated",
            str(CLOSE_INSUFFICIENT_SCOPE): "insufficient_scope",
            str(CLOSE_BAD_REQUEST): "bad_request",
            str(CLOSE_TRY_AGAIN_LATER): "try_again_later",
        },
    }
