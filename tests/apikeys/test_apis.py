"""API keys: made, listed and revoked by their owner; scopes; a budget apart from the person's."""

from __future__ import annotations

import pytest

from generation import credits
from generation.models import CreditEntry, GenerationJob
from sora_social.apikeys.models import ApiKey
from sora_social.users.tokens import token_digest
from tests.apikeys.factories import key_client
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_dispatch(monkeypatch):
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)


def test_owner_creates_lists_and_revokes_a_key_whose_secret_is_shown_once(api, user):
    made = api.post("/api/v1/api-keys", {"name": "my app", "scopes": ["videos"]}, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    secret = body["key"]
    assert secret.startswith("sk-") and body["prefix"] == secret[:10] and body["scopes"] == ["videos"]
    assert body["quota"] == {"plan": "standard", "daily_credits": 300, "max_in_flight": 10}
    assert body["usage"]["credits_used_today"] == 0 and body["revoked_at"] is None
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.digest == token_digest(secret) and secret not in str(stored.__dict__)

    listed = api.get("/api/v1/api-keys").json()
    assert [k["id"] for k in listed] == [body["id"]] and "key" not in listed[0]

    app = api.__class__()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert app.get("/api/v1/api-keys/current").json()["id"] == body["id"]

    assert api.delete(f"/api/v1/api-keys/{body['id']}").status_code == 204
    refused = app.get("/api/v1/api-keys/current")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "authentication_failed"
    # Gone, as after any DELETE (the row stays, revoked, for the ledger's entries).
    assert api.get(f"/api/v1/api-keys/{body['id']}").status_code == 404
    assert api.get("/api/v1/api-keys").json() == []
    assert api.delete(f"/api/v1/api-keys/{body['id']}").status_code == 204  # again: the same answer
    assert ApiKey.objects.get(pk=body["id"]).revoked_at is not None


def test_bad_scopes_and_other_peoples_keys(api, client_for):
    bad = api.post("/api/v1/api-keys", {"name": "x", "scopes": ["admin"]}, format="json")
    assert bad.status_code == 400 and "scopes" in bad.json()["error"]["fields"]
    empty = api.post("/api/v1/api-keys", {"name": "x", "scopes": []}, format="json")
    assert empty.status_code == 400
    _, theirs, _ = key_client(UserFactory())
    assert api.get(f"/api/v1/api-keys/{theirs.pk}").status_code == 404
    assert api.delete(f"/api/v1/api-keys/{theirs.pk}").json()["error"]["code"] == "api_key_not_found"
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None


def test_a_videos_key_reaches_videos_but_gets_insufficient_scope_on_social_endpoints(user):
    app, _, _ = key_client(user, scopes=["videos"])
    assert app.get("/v1/videos").status_code == 200
    assert app.get("/api/v1/generations").status_code == 200
    for path in ("/api/v1/feed/latest", "/api/v1/me", f"/api/v1/users/{user.handle}"):
        refused = app.get(path)
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "insufficient_scope"
    # Views that list their own permission classes are covered too (posts: WritesNeedGoodStanding).
    post = app.post("/api/v1/posts", {"video_id": 1}, format="json")
    assert post.status_code == 403 and post.json()["error"]["code"] == "insufficient_scope"


def test_a_social_key_is_refused_on_videos_and_no_key_reaches_the_account(user):
    social, _, _ = key_client(user, scopes=["social"])
    assert social.get("/api/v1/me").status_code == 200
    refused = social.get("/v1/videos")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"
    everything, _, _ = key_client(user, scopes=["all"])
    assert everything.get("/v1/videos").status_code == 200 and everything.get("/api/v1/me").status_code == 200
    # A leaked key can neither mint keys, nor log out, change the password or delete the account.
    for method, path in (
        ("post", "/api/v1/api-keys"),
        ("get", "/api/v1/api-keys"),
        ("post", "/api/v1/auth/logout"),
        ("post", "/api/v1/auth/password"),
        ("get", "/api/v1/auth/tokens"),
        ("delete", "/api/v1/account"),
    ):
        answer = getattr(everything, method)(path, {}, format="json")
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "insufficient_scope", path


def test_a_keys_generations_spend_its_budget_not_the_persons_credits(user, settings):
    settings.GENERATION_DAILY_FREE_CREDITS = 1
    app, key, _ = key_client(user, scopes=["videos"], daily_credits=5, max_in_flight=100)
    ids = []
    for _ in range(2):
        made = app.post("/v1/videos", {"prompt": "a red ball bounces", "seconds": "8"}, format="json")
        assert made.status_code == 200, made.json()
        ids.append(made.json()["id"])
    jobs = GenerationJob.objects.filter(public_id__in=ids)
    assert {j.api_key_id for j in jobs} == {key.pk}
    assert credits.key_budget(key=key).remaining == 1  # 2 + 2 of 5
    assert credits.credit_balance(user=user).free_remaining == 1  # the person's untouched
    assert set(CreditEntry.objects.filter(job__in=jobs).values_list("pool", "api_key_id")) == {("app", key.pk)}

    over = app.post("/v1/videos", {"prompt": "a blue ball", "seconds": "8"}, format="json")
    assert over.status_code == 429 and over.json()["error"]["code"] == "insufficient_quota"
    assert int(over["Retry-After"]) > 0

    # Cancelling gives the credits back to the key's day.
    assert app.delete(f"/v1/videos/{ids[0]}").status_code == 200
    assert credits.key_budget(key=key).remaining == 3
    usage = app.get("/api/v1/api-keys/current").json()["usage"]
    assert (usage["credits_used_today"], usage["jobs_in_flight"]) == (2, 1)


def test_a_keys_concurrency_is_its_own(user, client_for, settings):
    settings.GENERATION_MAX_IN_FLIGHT = 1
    app, _, _ = key_client(user, scopes=["videos"], max_in_flight=3)
    for _ in range(3):
        assert app.post("/v1/videos", {"prompt": "a red ball bounces"}, format="json").status_code == 200
    fourth = app.post("/v1/videos", {"prompt": "a red ball bounces"}, format="json")
    assert fourth.status_code == 429 and fourth.json()["error"]["code"] == "too_many_jobs_in_flight"
    assert fourth["Retry-After"]
    # The person's own limit (1) is counted apart from the app's jobs.
    person = client_for(user)
    assert person.post("/v1/videos", {"prompt": "a red ball bounces"}, format="json").status_code == 200


def test_the_app_generations_api_also_charges_the_key(user):
    app, key, _ = key_client(user, scopes=["videos"])
    made = app.post("/api/v1/generations", {"prompt": "a red ball bounces"}, format="json")
    assert made.status_code == 201, made.json()
    assert GenerationJob.objects.get(public_id=made.json()["id"]).api_key_id == key.pk


def test_expired_keys_and_deleted_accounts_stop_working(user):
    from datetime import timedelta

    from django.utils import timezone

    app, key, _ = key_client(user, scopes=["all"])
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert app.get("/v1/videos").status_code == 401
    app2, key2, _ = key_client(user, scopes=["all"])
    from sora_social.users.services import user_delete

    user.set_password("correct horse battery")
    user.save()
    user_delete(user=user, password="correct horse battery")
    assert ApiKey.objects.get(pk=key2.pk).revoked_at is not None
    assert app2.get("/v1/videos").status_code == 401


def test_the_schema_declares_the_key_scheme(anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()
    assert "apiKeyAuth" in schema["components"]["securitySchemes"]
    assert "/api/v1/api-keys" in schema["paths"]


def test_staff_put_a_key_on_a_plan_and_revoke_it_in_the_console(client, user):
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="apikeys"))
    client.force_login(staff)
    app, key, _ = key_client(user, scopes=["videos"])
    page = f"/console/apikeys/apikey/{key.pk}/change/"
    assert client.get("/console/apikeys/apikey/").status_code == 200 and client.get(page).status_code == 200
    changed = client.post(
        page,
        {"name": "renderer", "scopes": "videos", "plan": "fleet", "daily_credits": "", "max_in_flight": "2"},
    )
    assert changed.status_code == 302, changed.content[:500]
    assert app.get("/api/v1/api-keys/current").json()["quota"] == {
        "plan": "fleet",
        "daily_credits": 100_000,
        "max_in_flight": 2,
    }
    client.post("/console/apikeys/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert app.get("/api/v1/api-keys/current").status_code == 401
