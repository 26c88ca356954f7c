"""An app's API key on the notifications websocket (live ASGI server and Redis): a `social` key
connects and gets the owner's stream, a videos-only key is refused, revoking closes it."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sora_social.apikeys.services import api_key_create, api_key_revoke
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_social_key_opens_the_websocket_and_revoking_it_closes_it(live_stack):
    user = UserFactory()
    social, social_secret = api_key_create(user=user, name="app", scopes=["social"])
    _, videos_secret = api_key_create(user=user, name="renderer", scopes=["videos"])
    url = f"{live_stack.ws_url}/ws/notifications/"

    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {videos_secret}"}):
                pass
        assert refused.value.response.status_code == 403
        async with websockets.connect(f"{url}?token={social_secret}") as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert hello["type"] == "hello"
            await asyncio.to_thread(api_key_revoke, user=user, key_id=social.pk)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd.code == 4401

    asyncio.run(scenario())
