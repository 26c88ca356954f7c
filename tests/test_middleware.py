"""The middleware chain: it works the same under WSGI and ASGI, and under ASGI it adds no
thread hops (every middleware is async-capable; docs/ARCHITECTURE.md, "Processes")."""

import re

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client
from django.utils.module_loading import import_string

from sora_social.users.services import token_issue
from tests.users.factories import UserFactory

STATIC_FILE = "/static/rest_framework/css/bootstrap-tweaks.css"


def test_every_middleware_is_async_capable():
    # One sync-only middleware makes Django run the chain around it in a worker thread and
    # hop back to the event loop for the rest, on every request.
    sync_only = [path for path in settings.MIDDLEWARE if not getattr(import_string(path), "async_capable", False)]
    assert sync_only == []


def _total_ms(response) -> float:
    match = re.search(r"total;dur=([0-9.]+)", response["Server-Timing"])
    assert match, response["Server-Timing"]
    return float(match.group(1))


@pytest.mark.django_db
def test_server_timing_total_on_every_response_sync():
    user = UserFactory()
    _, secret = token_issue(user=user)
    response = Client().get("/api/v1/me", headers={"authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert _total_ms(response) > 0
    unauthenticated = Client().get("/api/v1/me")
    assert unauthenticated.status_code == 401
    assert _total_ms(unauthenticated) >= 0


@pytest.mark.django_db(transaction=True)
def test_the_chain_under_asgi_authenticates_times_and_rejects_nul():
    user = UserFactory()
    _, secret = token_issue(user=user)
    client = AsyncClient()
    me = async_to_sync(client.get)("/api/v1/me", headers={"authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json()["handle"] == user.handle
    assert _total_ms(me) > 0
    nul = async_to_sync(client.get)("/api/v1/me", {"x": "a\x00b"}, headers={"authorization": f"Bearer {secret}"})
    assert nul.status_code == 400
    assert nul.json()["error"]["code"] == "invalid_characters"


def _body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.django_db(transaction=True)
def test_static_files_are_served_in_both_modes():
    sync = Client().get(STATIC_FILE)
    assert sync.status_code == 200
    assert b"{" in _body(sync)
    asynchronous = async_to_sync(AsyncClient().get)(STATIC_FILE)
    assert asynchronous.status_code == 200
    assert asynchronous["Content-Type"].startswith("text/css")
    assert "total;dur=" in asynchronous["Server-Timing"]


@pytest.mark.django_db
def test_a_repeated_query_parameter_is_refused_and_an_empty_limit_is_not_the_default(client_for):
    """Every query parameter of the API is one value; QueryDict.get reads the last, so
    `?limit=false&limit=` was a 200 (schemathesis). /v1 answers in OpenAI's shape."""
    user = UserFactory()
    api = client_for(user)
    repeated = api.get("/api/v1/notifications?limit=false&limit=")
    error = repeated.json()["error"]
    assert (repeated.status_code, error["code"], list(error["fields"])) == (400, "invalid_parameter", ["limit"])
    openai = api.get("/v1/videos?order=asc&order=desc")
    assert openai.status_code == 400 and openai.json()["error"]["code"] == "invalid_parameter"
    empty = api.get("/api/v1/notifications?limit=")
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, "invalid_limit")
    assert api.get("/api/v1/notifications?limit=5&unread=true").status_code == 200
    # Outside the API (the console, the admin) a form may repeat a field.
    assert Client().get("/healthz?a=1&a=2").status_code == 200


@pytest.mark.django_db
def test_limits_answered_with_429_are_in_the_schema(client_for):
    paths = client_for(UserFactory()).get("/api/schema/?format=json").json()["paths"]
    for path in ("/api/v1/account/export", "/api/v1/cameos/challenges", "/api/v1/cameos/{cameo_id}/requests"):
        assert "429" in paths[path]["post"]["responses"], path
