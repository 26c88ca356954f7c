import pytest
from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle

from sora_social.users.models import AuthToken, User
from sora_social.users.tokens import token_digest
from tests.users.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = "/api/v1/auth/signup"
LOGIN = "/api/v1/auth/login"


def signup(client, **overrides):
    body = {"handle": "new_person", "password": PASSWORD, "date_of_birth": "2000-01-02", **overrides}
    return client.post(SIGNUP, body, format="json")


def test_signup_returns_a_working_token_stored_only_as_a_digest(anon_client):
    response = signup(anon_client, display_name="New Person")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["user"]["handle"] == "new_person"
    secret = body["token"]
    token = AuthToken.objects.get(pk=body["token_id"])
    assert token.digest == token_digest(secret)
    assert secret not in {token.digest, token.prefix}

    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    me = anon_client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["handle"] == "new_person"
    assert me.json()["is_minor"] is False


@pytest.mark.parametrize(
    ("handle", "status", "code"),
    [
        ("ab", 400, "invalid_handle"),
        ("has space", 400, "invalid_handle"),
        (".dot", 400, "invalid_handle"),
        ("admin", 409, "handle_reserved"),
    ],
)
def test_bad_handles_are_refused_with_a_code(anon_client, handle, status, code):
    response = signup(anon_client, handle=handle)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert "handle" in response.json()["error"]["fields"]
    assert not User.objects.filter(handle__iexact=handle).exists()


def test_duplicate_handle_is_refused_case_insensitively(anon_client):
    UserFactory(handle="Taken_Name")
    response = signup(anon_client, handle="taken_name")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "handle_taken"


def test_invalid_body_gets_the_error_shape(anon_client):
    response = anon_client.post(SIGNUP, {"handle": "someone"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"password", "date_of_birth"}
    assert error["message"]


def test_too_young_and_weak_password_are_refused(anon_client):
    assert signup(anon_client, date_of_birth="2020-01-01").json()["error"]["code"] == "too_young"
    assert signup(anon_client, password="123").json()["error"]["code"] == "weak_password"
    assert not User.objects.exists()


def test_a_password_that_begins_and_ends_with_spaces_logs_in_as_it_was_set(anon_client):
    spaced = f"  {PASSWORD}  "
    assert signup(anon_client, handle="spacey", password=spaced).status_code == 201
    ok = anon_client.post(LOGIN, {"handle": "spacey", "password": spaced}, format="json")
    assert ok.status_code == 200, ok.json()
    trimmed = anon_client.post(LOGIN, {"handle": "spacey", "password": PASSWORD}, format="json")
    assert trimmed.status_code == 401, trimmed.json()


def test_login_logout_and_token_revocation(anon_client, client):
    user = UserFactory(handle="alice")
    first = anon_client.post(LOGIN, {"handle": "ALICE", "password": PASSWORD, "device_name": "phone"}, format="json")
    assert first.status_code == 200
    second = anon_client.post(LOGIN, {"handle": "alice", "password": PASSWORD, "device_name": "tablet"}, format="json")
    phone, tablet = first.json()["token"], second.json()["token"]

    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {phone}")
    listed = anon_client.get("/api/v1/auth/tokens").json()
    assert {t["name"] for t in listed} == {"phone", "tablet"}
    assert all("digest" not in t and "token" not in t for t in listed)

    # Revoke the tablet from the phone: the tablet's token stops working at once.
    tablet_id = second.json()["token_id"]
    assert anon_client.delete(f"/api/v1/auth/tokens/{tablet_id}").status_code == 204
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tablet}")
    refused = anon_client.get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"

    # Log out with the phone: its token is revoked too.
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {phone}")
    assert anon_client.post("/api/v1/auth/logout").status_code == 204
    assert anon_client.get("/api/v1/me").status_code == 401
    assert AuthToken.objects.filter(user=user, revoked_at__isnull=True).count() == 0


def test_wrong_password_is_401_with_a_code(anon_client):
    UserFactory(handle="bob")
    response = anon_client.post(LOGIN, {"handle": "bob", "password": "nope-nope-nope"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_cannot_revoke_someone_elses_token(client_for):
    alice, bob = UserFactory(), UserFactory()
    bob_client = client_for(bob)
    alice_token = AuthToken.objects.create(
        user=alice, digest="x" * 64, prefix="ss_x", expires_at="2999-01-01T00:00:00Z"
    )
    response = bob_client.delete(f"/api/v1/auth/tokens/{alice_token.pk}")
    assert response.status_code == 404
    alice_token.refresh_from_db()
    assert alice_token.revoked_at is None


def test_no_token_is_401(anon_client):
    response = anon_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_login_is_throttled(anon_client, monkeypatch):
    UserFactory(handle="carol")
    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"signup": "3/min", "login": "3/min"})
    try:
        codes = [
            anon_client.post(LOGIN, {"handle": "carol", "password": "wrong-wrong-1"}, format="json").status_code
            for _ in range(5)
        ]
        last = anon_client.post(LOGIN, {"handle": "carol", "password": PASSWORD}, format="json")
    finally:
        cache.clear()
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]
    assert last.status_code == 429
    assert last.json()["error"]["code"] == "throttled"


def test_purging_expired_tokens_keeps_live_ones():
    from datetime import timedelta

    from django.utils import timezone

    from sora_social.users.services import token_issue
    from sora_social.users.tasks import tokens_purge_expired_task

    user = UserFactory()
    live, _ = token_issue(user=user)
    old, _ = token_issue(user=user)
    AuthToken.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=40))
    assert tokens_purge_expired_task() == 1
    assert list(AuthToken.objects.values_list("pk", flat=True)) == [live.pk]


def test_last_used_is_written_at_most_every_few_minutes(client_for, user):
    from datetime import timedelta

    from django.utils import timezone

    client = client_for(user)
    token = AuthToken.objects.get(user=user)
    assert token.last_used_at is None
    assert client.get("/api/v1/me").status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    assert client.get("/api/v1/me").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first  # within the granularity: no write
    AuthToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=10))
    assert client.get("/api/v1/me").status_code == 200
    token.refresh_from_db()
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)
