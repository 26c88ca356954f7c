"""Password change (revokes the other tokens) and reset by e-mail (revokes them all), through the API."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core import mail
from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle

from sora_social.notifications.services import token_group
from sora_social.users.models import AuthToken
from sora_social.users.services import token_issue
from tests.users.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CHANGE = "/api/v1/auth/password"
RESET = "/api/v1/auth/password/reset"
CONFIRM = "/api/v1/auth/password/reset/confirm"
NEW_PASSWORD = "violet-otter-lantern-42"


@pytest.fixture(autouse=True)
def _mail_task_in_process(monkeypatch):
    """The mail task runs right here, as the worker would run it off the default queue."""
    from sora_social.users.tasks import password_reset_mail_send_task

    def run(args, queue=None, **options) -> None:
        assert queue == "default"
        password_reset_mail_send_task.apply(args=args)

    monkeypatch.setattr(password_reset_mail_send_task, "apply_async", run)


def _login(anon_client, handle: str, password: str) -> int:
    return anon_client.post("/api/v1/auth/login", {"handle": handle, "password": password}, format="json").status_code


# --- change ----------------------------------------------------------------------------------


def test_changing_the_password_keeps_this_token_and_revokes_the_others(client_for, anon_client):
    user = UserFactory(handle="pw_ann")
    phone, tablet, laptop = client_for(user), client_for(user), client_for(user)
    response = phone.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"revoked_tokens": 2}
    assert phone.get("/api/v1/me").status_code == 200
    for other in (tablet, laptop):
        refused = other.get("/api/v1/me")
        assert refused.status_code == 401
    assert _login(anon_client, "pw_ann", PASSWORD) == 401
    assert _login(anon_client, "pw_ann", NEW_PASSWORD) == 200


def test_the_revoked_tokens_websockets_are_told_to_close(client_for, django_capture_on_commit_callbacks):
    """The close message goes to each revoked token's group on the real channel layer; the
    token making the change keeps its socket."""
    user = UserFactory()
    phone = client_for(user)
    other_token, _ = token_issue(user=user, name="tablet")
    phone_token = AuthToken.objects.filter(user=user).exclude(pk=other_token.pk).get()
    layer = get_channel_layer()
    revoked_channel = async_to_sync(layer.new_channel)()
    kept_channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(token_group(other_token.pk), revoked_channel)
    async_to_sync(layer.group_add)(token_group(phone_token.pk), kept_channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = phone.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")
        assert response.status_code == 200

        async def receive(channel: str):
            import asyncio

            try:
                return await asyncio.wait_for(layer.receive(channel), 2.0)
            except TimeoutError:
                return None

        assert async_to_sync(receive)(revoked_channel) == {"type": "token.revoked"}
        assert async_to_sync(receive)(kept_channel) is None
    finally:
        async_to_sync(layer.group_discard)(token_group(other_token.pk), revoked_channel)
        async_to_sync(layer.group_discard)(token_group(phone_token.pk), kept_channel)


def test_a_wrong_current_password_changes_nothing(client_for, anon_client):
    user = UserFactory(handle="pw_bob")
    api, other = client_for(user), client_for(user)
    response = api.post(CHANGE, {"current_password": "not-it-at-all", "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_password"
    assert other.get("/api/v1/me").status_code == 200
    assert _login(anon_client, "pw_bob", PASSWORD) == 200


@pytest.mark.parametrize(
    ("new_password", "code"),
    [("short1", "weak_password"), ("12345678901", "weak_password"), ("password1", "weak_password")],
)
def test_the_validators_apply(client_for, new_password, code):
    api = client_for(UserFactory())
    response = api.post(CHANGE, {"current_password": PASSWORD, "new_password": new_password}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["fields"]["new_password"]


def test_the_new_password_must_differ(client_for):
    api = client_for(UserFactory())
    response = api.post(CHANGE, {"current_password": PASSWORD, "new_password": PASSWORD}, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "password_unchanged"


def test_changing_needs_a_token(anon_client):
    response = anon_client.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 401


# --- reset by e-mail -------------------------------------------------------------------------


def _reset_mail(anon_client, email: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = anon_client.post(RESET, {"email": email}, format="json")
    assert response.status_code == 202
    return response


def _uid_and_token(message) -> tuple[str, str]:
    uid = re.search(r"^uid: (\S+)$", message.body, re.M).group(1)
    token = re.search(r"^token: (\S+)$", message.body, re.M).group(1)
    assert f"uid={uid}&token={token}" in message.body  # the link carries the same
    return uid, token


def test_reset_by_mail_sets_a_new_password_and_revokes_every_token(
    client_for, anon_client, django_capture_on_commit_callbacks
):
    user = UserFactory(handle="pw_cat", email="cat@example.com")
    phone = client_for(user)
    _reset_mail(anon_client, "Cat@Example.com", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["cat@example.com"] and "@pw_cat" in message.body
    uid, token = _uid_and_token(message)

    response = anon_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 204, response.content
    assert phone.get("/api/v1/me").status_code == 401
    assert not AuthToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert _login(anon_client, "pw_cat", PASSWORD) == 401
    assert _login(anon_client, "pw_cat", NEW_PASSWORD) == 200

    # The token works once: the password it was made for is gone.
    again = anon_client.post(
        CONFIRM, {"uid": uid, "token": token, "new_password": "another-fine-pass-9"}, format="json"
    )
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "invalid_reset_token"


def test_asking_tells_nothing_about_whether_an_account_exists(anon_client, django_capture_on_commit_callbacks):
    UserFactory(email="dan@example.com")
    known = _reset_mail(anon_client, "dan@example.com", django_capture_on_commit_callbacks)
    unknown = _reset_mail(anon_client, "nobody@example.com", django_capture_on_commit_callbacks)
    assert known.json() == unknown.json()
    assert [m.to for m in mail.outbox] == [["dan@example.com"]]


def test_no_mail_for_an_inactive_or_deleted_account(anon_client, django_capture_on_commit_callbacks):
    from django.utils import timezone

    UserFactory(email="gone@example.com", is_active=False)
    UserFactory(email="gone@example.com", deleted_at=timezone.now())
    _reset_mail(anon_client, "gone@example.com", django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_a_wrong_token_or_uid_is_refused(anon_client, django_capture_on_commit_callbacks):
    user = UserFactory(handle="pw_eva", email="eva@example.com")
    _reset_mail(anon_client, "eva@example.com", django_capture_on_commit_callbacks)
    uid, token = _uid_and_token(mail.outbox[0])
    for body in (
        {"uid": uid, "token": token[:-1] + ("a" if token[-1] != "a" else "b"), "new_password": NEW_PASSWORD},
        {"uid": "not-base64!", "token": token, "new_password": NEW_PASSWORD},
        {"uid": "MTIzNDU2Nzg5", "token": token, "new_password": NEW_PASSWORD},
    ):
        response = anon_client.post(CONFIRM, body, format="json")
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_reset_token"
    # A weak password is refused by the validators and leaves the token usable.
    weak = anon_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": "pw_eva12"}, format="json")
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
    good = anon_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json")
    assert good.status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_asking_is_throttled(anon_client, monkeypatch, django_capture_on_commit_callbacks):
    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"password_reset": "2/min", "login": "100/min"})
    try:
        first = _reset_mail(anon_client, "x@example.com", django_capture_on_commit_callbacks)
        assert first["RateLimit-Limit"] == "2" and first["RateLimit-Remaining"] == "1"
        _reset_mail(anon_client, "y@example.com", django_capture_on_commit_callbacks)
        refused = anon_client.post(RESET, {"email": "z@example.com"}, format="json")
    finally:
        cache.clear()
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
