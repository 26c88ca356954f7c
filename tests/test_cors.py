"""CORS for browser apps: off unless configured; the API's routes only, never the console."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

APP = "https://studio.example.com"


def preflight(client: Client, path: str, origin: str = APP):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type,idempotency-key,x-stainless-os",
    )


def test_no_cors_unless_configured(settings):
    settings.CORS_ALLOWED_ORIGINS = []
    response = preflight(Client(), "/v1/videos")
    assert "access-control-allow-origin" not in response


def test_a_configured_origin_may_call_the_api_from_a_browser(settings, client_for):
    from tests.users.factories import UserFactory

    settings.CORS_ALLOWED_ORIGINS = [APP]
    response = preflight(Client(), "/v1/videos")
    assert response.status_code == 200
    assert response["access-control-allow-origin"] == APP
    allowed = response["access-control-allow-headers"].lower()
    assert {"authorization", "idempotency-key", "x-stainless-os"} <= set(allowed.split(", "))
    # The real request: the browser may read the headers an SDK relies on.
    api = client_for(UserFactory())
    listed = api.get("/v1/videos", HTTP_ORIGIN=APP)
    assert listed["access-control-allow-origin"] == APP
    exposed = listed["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed and "openai-poll-after-ms" in exposed and "retry-after" in exposed
    assert "access-control-allow-credentials" not in listed
    # Another origin, and the console, get nothing.
    assert "access-control-allow-origin" not in preflight(Client(), "/v1/videos", origin="https://evil.example")
    assert "access-control-allow-origin" not in preflight(Client(), "/console/")
