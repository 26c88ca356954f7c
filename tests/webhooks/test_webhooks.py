"""Webhooks: endpoints over REST, events from generation and notifications (through their ports),
signed deliveries to a real HTTP receiver, retries with backoff, and the delivery log. Every
signature is checked with the `standardwebhooks` package, an independent verifier."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from generation import jobs
from generation.models import JobStatus
from sora_social.apikeys.services import api_key_create
from sora_social.users.services import follow_create
from sora_social.webhooks import services, signing
from sora_social.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.users.factories import UserFactory
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _no_dispatch(monkeypatch):
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)


def verified(received, secret: str) -> dict:
    """The body, if its Standard Webhooks signature holds (raises otherwise)."""
    return Webhook(secret).verify(received.body, received.headers)


def test_signatures_verify_with_the_standard_webhooks_library():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    body = b'{"type":"video.completed"}'
    now = int(timezone.now().timestamp())
    headers = signing.headers(secret=secret, message_id="evt_1", timestamp=now, body=body)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers) == {"type": "video.completed"}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


def test_an_app_registers_lists_and_deletes_endpoints(api, client_for):
    created = api.post(
        "/api/v1/webhooks",
        {"url": "https://hooks.example.com/sora", "events": ["video.completed", "video.failed"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["video.completed", "video.failed"]
    listed = api.get("/api/v1/webhooks").json()
    assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]
    assert listed[0]["secret_prefix"] == endpoint["secret"][:10]
    rotated = api.post(f"/api/v1/webhooks/{endpoint['id']}/secret").json()
    assert rotated["secret"] != endpoint["secret"]
    assert client_for(UserFactory()).get(f"/api/v1/webhooks/{endpoint['id']}").status_code == 404
    assert api.delete(f"/api/v1/webhooks/{endpoint['id']}").status_code == 204
    assert api.get(f"/api/v1/webhooks/{endpoint['id']}").status_code == 404


def test_bad_urls_and_event_types_are_refused(api, settings):
    def code(body, status=400):
        response = api.post("/api/v1/webhooks", body, format="json")
        assert response.status_code == status, response.json()
        return response.json()["error"]["code"]

    # What the schema states (http or https, known event types) is a 400; the rest a 422.
    assert code({"url": "ftp://example.com/x"}) == "invalid_webhook_url"
    assert code({"url": "https://example.com/x", "events": ["video.exploded"]}) == "invalid"
    assert code({"url": "https://" + "a" * 64 + ".example.com/x"}, 422) == "invalid_webhook_url"
    assert code({"url": "https:///x"}, 422) == "invalid_webhook_url"
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    for url in ("http://127.0.0.1:8000/hook", "http://localhost/hook", "http://[::1]/hook", "http://10.1.2.3/x"):
        assert code({"url": url}, 422) == "invalid_webhook_url", url
    settings.WEBHOOK_REQUIRE_HTTPS = True
    assert code({"url": "http://example.com/hook"}, 422) == "invalid_webhook_url"


def test_an_api_key_subscribes_only_to_what_its_scopes_cover(client_for):
    from rest_framework.test import APIClient

    user = UserFactory()
    _, secret = api_key_create(user=user, name="render farm", scopes=["videos"])
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    refused = app.post(
        "/api/v1/webhooks", {"url": "https://hooks.example.com/x", "events": ["follower.created"]}, format="json"
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "event_type_not_allowed"
    made = app.post("/api/v1/webhooks", {"url": "https://hooks.example.com/x"}, format="json")
    assert made.status_code == 201 and made.json()["events"] == ["video.completed", "video.failed"]


def _endpoint(user, url: str, events=()) -> WebhookEndpoint:
    return services.webhook_endpoint_create(user=user, url=url, events_wanted=list(events))


def _failed_job(user):
    job, _ = jobs.generation_job_submit(user=user, request=jobs.SubmitRequest(prompt="a red ball bounces"))
    job.status, job.attempts = JobStatus.RUNNING, 1
    job.save(update_fields=["status", "attempts"])
    jobs.generation_job_fail(job_id=job.pk, attempt=1, code="render_failed", message="the GPU fell over")
    return job


def test_video_failed_is_delivered_signed(receiver, django_capture_on_commit_callbacks):
    user = UserFactory()
    endpoint = _endpoint(user, receiver.url, events=["video.failed"])
    other = _endpoint(user, receiver.url, events=["follower.created"])  # does not want it
    with django_capture_on_commit_callbacks(execute=False):
        job = _failed_job(user)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.endpoint_id, delivery.event_type) == (endpoint.pk, "video.failed")
    assert not other.deliveries.exists()

    services.webhook_delivery_attempt(delivery_id=delivery.pk)
    (request,) = receiver.wait_for(1)
    event = verified(request, endpoint.secret)
    assert event["type"] == "video.failed" and event["data"] == {"id": job.public_id}
    assert event["object"] == "event" and event["id"] == request.headers["webhook-id"] == delivery.event_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.SUCCEEDED, 1, 200)


def test_failed_attempts_are_retried_with_backoff_and_logged(receiver, api, user, settings):
    settings.WEBHOOK_RETRY_BASE_S = 5
    receiver.statuses = [500, 503]
    endpoint = _endpoint(user, receiver.url)
    delivery = services.webhook_test_send(endpoint=endpoint)

    services.webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 4 <= wait <= 6  # the base, +-10 %
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None  # not due yet: nothing sent
    assert len(receiver.received) == 1

    for expected_wait in (10, None):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        services.webhook_delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        if expected_wait:  # doubled after the second failure
            assert 9 <= (delivery.next_attempt_at - timezone.now()).total_seconds() <= 11
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    # The same webhook-id on every attempt, each freshly signed and verifiable.
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    for request in receiver.received:
        assert verified(request, endpoint.secret)["type"] == "webhook.test"

    log = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries").json()["results"]
    assert [d["event_id"] for d in log] == [delivery.event_id]
    assert [a["status_code"] for a in log[0]["attempt_log"]] == [500, 503, 200]
    assert log[0]["status"] == "succeeded" and log[0]["payload"]["type"] == "webhook.test"


def test_a_delivery_gives_up_after_the_last_attempt(receiver, user, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [500, 500, 500]
    delivery = services.webhook_test_send(endpoint=_endpoint(user, receiver.url))
    for _ in range(2):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        services.webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 2, "HTTP 500")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None


def test_an_unreachable_endpoint_is_a_failed_attempt_not_an_error(user, settings):
    settings.WEBHOOK_TIMEOUT_S = 2
    delivery = services.webhook_test_send(endpoint=_endpoint(user, "http://127.0.0.1:9/nothing-listens"))
    services.webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.response_status is None and "Connect" in delivery.last_error


def test_social_events_come_from_notifications(receiver):
    me, fan = UserFactory(), UserFactory()
    endpoint = _endpoint(me, receiver.url, events=["follower.created"])
    follow_create(follower=fan, followee=me)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    services.webhook_delivery_attempt(delivery_id=delivery.pk)
    event = verified(receiver.wait_for(1)[0], endpoint.secret)
    assert event["type"] == "follower.created"
    assert event["data"]["actor"] == {"id": fan.pk, "handle": fan.handle}


def test_the_sweep_resends_overdue_deliveries(user, receiver, django_capture_on_commit_callbacks, settings):
    delivery = services.webhook_test_send(endpoint=_endpoint(user, receiver.url))
    assert services.webhook_deliveries_sweep() == 0  # not overdue yet
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.webhook_deliveries_sweep() == 1
    assert callbacks  # the outbox publishes it on commit


def test_leaving_deletes_the_endpoints(user):
    from sora_social.users.services import user_delete

    user.set_password("a long and good password 1")
    user.save()
    _endpoint(user, "https://hooks.example.com/x")
    user_delete(user=user, password="a long and good password 1")
    assert not WebhookEndpoint.objects.exists()


def test_an_events_body_is_compact_json(receiver, user):
    endpoint = _endpoint(user, receiver.url)
    delivery = services.webhook_test_send(endpoint=endpoint)
    services.webhook_delivery_attempt(delivery_id=delivery.pk)
    request = receiver.wait_for(1)[0]
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == delivery.payload and b", " not in request.body
