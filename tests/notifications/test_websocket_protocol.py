"""The websocket's messages, as a live server sends them, match its JSON Schema
(sora_social/notifications/protocol.py, docs/websocket.schema.json)."""

from __future__ import annotations

import asyncio
import json

import httpx
import jsonschema
import pytest
import websockets

from sora_social.notifications.management.commands.websocket_schema import DOC, rendered
from sora_social.notifications.protocol import websocket_schema
from sora_social.notifications.services import notify
from sora_social.users.services import token_issue
from tests.users.factories import UserFactory


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = websocket_schema()
    return jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{name}"})


def test_the_committed_schema_is_current():
    assert DOC.read_text() == rendered(), "run: python manage.py websocket_schema --write"


def test_the_schema_refuses_what_the_protocol_does_not_send():
    server = _validator("ServerMessage")
    assert not server.is_valid({"type": "hello", "last_seq": "3", "unread_count": 0})
    assert not server.is_valid({"type": "notification", "notification": {"id": 1}})
    assert not server.is_valid({"type": "progress", "kind": "no_such_kind", "text": "", "data": {}})
    assert server.is_valid({"type": "pong"})


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_real_messages_match_the_schema(live_stack):
    recipient = UserFactory(handle="wsrita")
    fan = UserFactory(handle="wsfan")
    _, token = token_issue(user=recipient)
    _, fan_token = token_issue(user=fan)
    server = _validator("ServerMessage")
    client = _validator("ClientMessage")
    served = httpx.get(f"{live_stack.base_url}/api/schema/websocket.json", timeout=30).json()
    assert served == json.loads(rendered())

    async def scenario() -> list[dict]:
        seen: list[dict] = []
        url = f"{live_stack.ws_url}/ws/notifications/?token={token}"
        async with websockets.connect(url) as ws:

            async def recv() -> dict:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                seen.append(message)
                return message

            assert (await recv())["type"] == "hello"
            ping = {"type": "ping"}
            client.validate(ping)
            await ws.send(json.dumps(ping))
            assert (await recv())["type"] == "pong"
            response = await asyncio.to_thread(
                httpx.post,
                f"{live_stack.base_url}/api/v1/users/wsrita/follow",
                headers={"Authorization": f"Bearer {fan_token}"},
            )
            assert response.status_code == 204
            assert (await recv())["type"] == "notification"
            await asyncio.to_thread(
                notify,
                recipient=recipient,
                kind="generation_progress",
                data={"job_id": "video_x", "progress": 40, "status": "running"},
                persist=False,
            )
            assert (await recv())["type"] == "progress"
        # A reconnect with ?after replays the stored one, in the same shape.
        async with websockets.connect(f"{url}&after=0") as ws:
            for _ in range(2):
                seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        return seen

    messages = asyncio.run(scenario())
    assert [m["type"] for m in messages] == ["hello", "pong", "notification", "progress", "hello", "notification"]
    for message in messages:
        server.validate(message)
