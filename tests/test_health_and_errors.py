"""/healthz and /readyz are JSON; unknown paths answer the API's error shape; a backing service
that is down answers a JSON 503 with Retry-After, never an HTML 500."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from psycopg_pool import PoolTimeout
from redis.exceptions import ConnectionError as RedisConnectionError

from sora_social.common import warmup

pytestmark = pytest.mark.django_db


def test_healthz_is_liveness_only(anon_client):
    response = anon_client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_each_dependency_and_the_models(anon_client):
    warmup.run()  # in-process: no role to warm, so the models part is done
    body = anon_client.get("/readyz").json()
    assert set(body["checks"]) == {"database", "redis", "channel_layer", "broker"}
    assert all(check["status"] == "ok" for check in body["checks"].values()), body
    assert body["status"] == "ready" and body["models"]["done"] is True


def test_readyz_is_503_json_when_a_model_failed_to_load(anon_client):
    def broken() -> None:
        raise FileNotFoundError("weights.pt")

    warmup.register("broken_for_test", broken, roles=["web"])
    try:
        warmup.run("web")
        response = anon_client.get("/readyz")
        assert response.status_code == 503 and response["Retry-After"]
        assert "broken_for_test" in response.json()["models"]["failed"]
    finally:
        warmup._registry[:] = [entry for entry in warmup._registry if entry[0] != "broken_for_test"]
        warmup._state.failed.pop("broken_for_test", None)


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/posts/1/nope", "/api/nothing"])
def test_unknown_api_paths_answer_json_404(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_v1_paths_answer_openai_error_shape(anon_client):
    response = anon_client.post("/v1/chat/completions", {}, format="json")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "not_found" and "param" in error


def test_wrong_method_on_an_api_path_is_json_405(api):
    response = api.put("/api/v1/notifications")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("exc", "service"),
    [
        (OperationalError("connection refused"), "database"),
        (PoolTimeout("couldn't get a connection after 2.00 sec"), "database"),
        (RedisConnectionError("Error 111 connecting to 127.0.0.1:6379"), "redis"),
    ],
)
def test_a_service_outage_inside_a_view_is_a_json_503_with_retry_after(api, monkeypatch, exc, service):
    def down(*args, **kwargs):
        raise exc

    monkeypatch.setattr("sora_social.notifications.apis.notification_visible_list", down, raising=False)
    monkeypatch.setattr("sora_social.notifications.selectors.notification_visible_list", down)
    response = api.get("/api/v1/notifications")
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == f"{service}_unavailable"


def test_a_bare_does_not_exist_in_a_view_is_a_logged_500_not_a_404(api, monkeypatch, caplog):
    """A .get() that found nothing is a bug: a 404 would hide it. Real not-found paths raise
    NotFound with their own code (tests across the apps hit them)."""
    from sora_social.users.models import User

    def buggy(*args, **kwargs):
        return User.objects.get(pk=-1)

    monkeypatch.setattr("sora_social.notifications.apis.notification_visible_list", buggy, raising=False)
    monkeypatch.setattr("sora_social.notifications.selectors.notification_visible_list", buggy)
    api.raise_request_exception = False
    with caplog.at_level("ERROR", logger="django.request"):
        response = api.get("/api/v1/notifications")
    assert response.status_code == 500, response.content
    assert response.json()["error"]["code"] == "server_error"
    assert any(r.exc_info and r.exc_info[0] is User.DoesNotExist for r in caplog.records)


def test_an_outage_outside_drf_is_a_json_503_too(client, monkeypatch, settings):
    """Django's own last resort (handler500), e.g. the console's session lookup failing."""
    from django.contrib.sessions.backends import db as session_db

    def down(self, *args, **kwargs):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(session_db.SessionStore, "load", down)
    client.raise_request_exception = False
    client.cookies["sessionid"] = "x" * 32
    response = client.get("/console/")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable" and response["Retry-After"] == "5"


def test_a_host_not_allowed_is_a_json_400(anon_client):
    response = anon_client.get("/api/v1/feed/latest", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
