"""/v1's errors as OpenAI answers them (sora_social/common/openai_errors.py): every error the
apps raise becomes a status the openai SDK has an exception class for, with OpenAI's type and
code. The SDK's own status-to-class choice is asked, not restated here."""

from __future__ import annotations

import ast

import httpx
import openai
import pytest
from rest_framework import status as drf_status

from generation.services import _STATUS_FOR_MEDIA_ERROR
from sora_social.common.openai_errors import CODES, TYPES, openai_error
from tests.test_error_constructors import _calls

DEFAULT_STATUS = {"ApplicationError": 400, "NotFound": 404, "Forbidden": 403, "Conflict": 409}
# OpenAI answers these itself and so do we; the SDK raises its bare APIStatusError for them.
UNNAMED_BY_THE_SDK = {405, 413}


def _status(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Attribute) and node.attr.startswith("HTTP_"):
        return getattr(drf_status, node.attr)
    return None  # computed (the media errors' table, below)


def _raised() -> set[tuple[int, str]]:
    """(status, code) of every error the apps raise with a literal code."""
    out = set()
    for _, node in _calls():
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        given = next((k.value for k in node.keywords if k.arg == "status_code"), None)
        status = DEFAULT_STATUS[name] if given is None else _status(given)
        if status is not None:
            out.add((status, first.value))
    out |= {(status, code) for code, status in _STATUS_FOR_MEDIA_ERROR.items()}
    # DRF's own, as sora_social/common/errors.py names them.
    out |= {(401, "not_authenticated"), (401, "authentication_failed"), (403, "insufficient_scope")}
    out |= {(405, "method_not_allowed"), (406, "not_acceptable"), (415, "unsupported_media_type")}
    out |= {(429, "throttled"), (400, "parse_error"), (400, "invalid"), (503, "database_unavailable")}
    return out


def _sdk_error(status: int, body: dict) -> openai.APIStatusError:
    client = openai.OpenAI(api_key="unused", base_url="http://testserver/v1")
    response = httpx.Response(status, json=body, request=httpx.Request("POST", "http://testserver/v1/videos"))
    return client._make_status_error("refused", body=body["error"], response=response)


def test_every_error_the_apps_raise_has_an_exception_class_in_the_sdk():
    raised = _raised()
    assert len(raised) > 150 and (402, "insufficient_credits") in raised  # the scan sees the apps
    unnamed = []
    for status, code in sorted(raised):
        error = openai_error(status=status, code=code, message="m")
        assert error.body["error"]["type"] in TYPES
        sdk = _sdk_error(error.status, error.body)
        if type(sdk) is openai.APIStatusError and error.status not in UNNAMED_BY_THE_SDK:
            unnamed.append(f"{code} ({status} -> {error.status})")
        assert sdk.code == error.body["error"]["code"]
    assert not unnamed, unnamed
    assert set(CODES) <= {code for _, code in raised}  # the table names no code nobody raises


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (402, "insufficient_credits", (429, "insufficient_quota", "insufficient_quota", openai.RateLimitError)),
        (429, "insufficient_quota", (429, "insufficient_quota", "insufficient_quota", openai.RateLimitError)),
        (401, "not_authenticated", (401, "invalid_request_error", "invalid_api_key", openai.AuthenticationError)),
        (401, "authentication_failed", (401, "invalid_request_error", "invalid_api_key", openai.AuthenticationError)),
        (429, "throttled", (429, "requests", "rate_limit_exceeded", openai.RateLimitError)),
        (429, "too_many_jobs_in_flight", (429, "requests", "too_many_jobs_in_flight", openai.RateLimitError)),
        (403, "insufficient_scope", (403, "invalid_request_error", "insufficient_scope", openai.PermissionDeniedError)),
        (404, "generation_not_found", (404, "invalid_request_error", "generation_not_found", openai.NotFoundError)),
        (409, "video_not_ready", (409, "invalid_request_error", "video_not_ready", openai.ConflictError)),
        (410, "export_expired", (404, "invalid_request_error", "export_expired", openai.NotFoundError)),
        (415, "invalid_video", (400, "invalid_request_error", "invalid_video", openai.BadRequestError)),
        (422, "prompt_blocked", (422, "invalid_request_error", "prompt_blocked", openai.UnprocessableEntityError)),
        (501, "remix_unavailable", (501, "server_error", "remix_unavailable", openai.InternalServerError)),
        (503, "generation_unavailable", (503, "server_error", "generation_unavailable", openai.InternalServerError)),
    ],
)
def test_the_table(status, code, expected):
    error = openai_error(status=status, code=code, message="Why.")
    out_status, kind, out_code, sdk_class = expected
    assert (error.status, error.body["error"]["type"], error.body["error"]["code"]) == (out_status, kind, out_code)
    assert error.body["error"]["message"] == "Why."
    assert type(_sdk_error(error.status, error.body)) is sdk_class
    assert error.headers == ({"x-should-retry": "false"} if kind == "insufficient_quota" else {})


def test_param_is_the_field_the_error_is_about():
    def param(**kwargs):
        return openai_error(status=400, message="m", **kwargs).body["error"]["param"]

    assert param(code="invalid_seconds", fields={"seconds": ["Use 4, 8 or 12."]}) == "seconds"
    assert param(code="invalid", fields={"video": {"id": ["Required."]}}) == "video.id"
    assert param(code="invalid", fields={"non_field_errors": ["No."]}) is None
    assert param(code="prompt_blocked") == "prompt"
    assert param(code="prompt_blocked", fields={"characters": ["x"]}) == "characters"  # named fields first
    assert param(code="invalid_video", uploads=["video"]) == "video"
    assert param(code="invalid_video", uploads=["video", "input_reference"]) is None  # which one is not known
    assert param(code="video_not_ready", uploads=["video"]) is None  # not a media error
