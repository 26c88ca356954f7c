"""The notifications websocket against the live ASGI server and Redis."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from sora_social.users.services import token_issue, token_revoke
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def _recv(ws, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def _recv_nothing(ws, wait: float = 0.7) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), wait)


def _follow(base_url: str, token: str, handle: str) -> float:
    sent = time.monotonic()
    response = httpx.post(f"{base_url}/api/v1/users/{handle}/follow", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204, response.text
    return sent


def test_live_delivery_then_exact_replay_after_reconnect(live_stack):
    recipient = UserFactory(handle="rita")
    actors = [UserFactory(handle=f"fan{i}") for i in range(4)]
    _, recipient_token = token_issue(user=recipient)
    actor_tokens = [token_issue(user=a)[1] for a in actors]
    url = f"{live_stack.ws_url}/ws/notifications/"

    async def scenario() -> None:
        async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {recipient_token}"}) as ws:
            hello = await _recv(ws)
            assert hello["type"] == "hello" and hello["last_seq"] == 0
            sent = await asyncio.to_thread(_follow, live_stack.base_url, actor_tokens[0], "rita")
            message = await _recv(ws, timeout=1.0)
            latency = time.monotonic() - sent
            assert message["type"] == "notification"
            assert message["notification"]["kind"] == "new_follower"
            assert message["notification"]["actor"]["handle"] == "fan0"
            assert latency < 1.0
            last_seen = message["notification"]["seq"]

        # Offline: three notifications happen while the client is away.
        for token in actor_tokens[1:]:
            await asyncio.to_thread(_follow, live_stack.base_url, token, "rita")

        async with websockets.connect(f"{url}?after={last_seen}&token={recipient_token}") as ws:
            hello = await _recv(ws)
            assert hello["last_seq"] == last_seen + 3
            missed = [await _recv(ws) for _ in range(3)]
            assert [m["notification"]["actor"]["handle"] for m in missed] == ["fan1", "fan2", "fan3"]
            assert [m["notification"]["seq"] for m in missed] == [last_seen + 1, last_seen + 2, last_seen + 3]
            await _recv_nothing(ws)  # exactly once: nothing is sent twice

    asyncio.run(scenario())


@pytest.mark.parametrize("case", ["garbage", "revoked", "missing"])
def test_bad_or_revoked_tokens_are_refused(live_stack, case):
    user = UserFactory()
    token, secret = token_issue(user=user)
    if case == "revoked":
        token_revoke(user=user, token_id=token.pk)
    headers = {} if case == "missing" else {"Authorization": f"Bearer {'ss_nonsense' if case == 'garbage' else secret}"}

    async def attempt() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(f"{live_stack.ws_url}/ws/notifications/", additional_headers=headers) as ws:
                await _recv(ws)
        assert refused.value.response.status_code == 403

    asyncio.run(attempt())
