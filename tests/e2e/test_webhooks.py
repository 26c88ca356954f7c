"""Webhooks on the real stack: an app registers an endpoint (a real HTTP receiver this test
starts), makes a video through /v1/videos, and gets `video.completed` from the default worker,
through the outbox, after a failed first attempt retried with backoff; a follow arrives as
`follower.created`. Every request is verified with the `standardwebhooks` package."""

from __future__ import annotations

import httpx
import pytest
from standardwebhooks import Webhook

from sora_social.users.services import token_issue
from tests.users.factories import UserFactory
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_video_and_social_events_reach_a_real_receiver_signed(live_stack):
    receiver = Receiver(statuses=[500]).start()  # the first attempt fails: the worker retries
    try:
        app_user, fan = UserFactory(handle="hook_app"), UserFactory(handle="hook_fan")
        _, token = token_issue(user=app_user)
        _, fan_token = token_issue(user=fan)
        api = httpx.Client(base_url=live_stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

        made = api.post("/api/v1/webhooks", json={"url": receiver.url, "description": "my app"})
        assert made.status_code == 201, made.text
        endpoint = made.json()
        verifier = Webhook(endpoint["secret"])

        video = api.post("/v1/videos", json={"prompt": "a red ball drops and bounces twice"}).json()
        attempts = receiver.wait_for(2, timeout_s=480)  # the failed attempt, then the retry
        first, retry = attempts[0], attempts[1]
        assert first.headers["webhook-id"] == retry.headers["webhook-id"]
        event = verifier.verify(retry.body, retry.headers)
        assert event["type"] == "video.completed" and event["data"] == {"id": video["id"]}
        assert api.get(f"/v1/videos/{video['id']}").json()["status"] == "completed"

        fan_api = httpx.Client(base_url=live_stack.base_url, headers={"Authorization": f"Bearer {fan_token}"})
        assert fan_api.post(f"/api/v1/users/{app_user.handle}/follow").status_code == 204
        social = verifier.verify(receiver.wait_for(3, timeout_s=60)[2].body, receiver.received[2].headers)
        assert social["type"] == "follower.created" and social["data"]["actor"]["handle"] == "hook_fan"

        log = api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries").json()["results"]
        by_type = {d["event_type"]: d for d in log}
        completed = by_type["video.completed"]
        assert completed["status"] == "succeeded" and completed["attempts"] == 2
        assert [a["status_code"] for a in completed["attempt_log"]] == [500, 200]
        assert by_type["follower.created"]["status"] == "succeeded"
    finally:
        receiver.stop()
