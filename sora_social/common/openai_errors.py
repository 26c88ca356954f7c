"""The OpenAI-compatible API's errors (everything under /v1/): OpenAI's body, statuses and codes.

OpenAI answers `{"error": {"message", "type", "param", "code"}}`. The openai SDK picks its
exception class by the status alone (400 BadRequestError, 401 AuthenticationError, 403
PermissionDeniedError, 404 NotFoundError, 409 ConflictError, 422 UnprocessableEntityError,
429 RateLimitError, 500 and above InternalServerError; any other status only the bare
APIStatusError) and reads `.code`, `.param` and `.type` from the body. So each of our errors (a
status and a code, sora_social/common/errors.py) becomes, by the table below:

- a status the SDK names: 402 (out of credits) is OpenAI's 429 `insufficient_quota`; 410 (gone)
  is 404; 415 (an upload that is not a video) and 406 (an Accept we cannot answer) are 400.
  405 and 413 stay: OpenAI answers them too (a wrong method, an upload over the size limit),
  and the SDK never sends the first;
- OpenAI's `type`: `invalid_request_error` for every 4xx as OpenAI sends it (a bad key's 401
  included), `insufficient_quota` for out of credits, `requests` for a rate limit, and
  `server_error` from 500 on;
- OpenAI's `code` where OpenAI has one for the same case (`invalid_api_key`,
  `insufficient_quota`, `rate_limit_exceeded`), else ours, so a client can tell every refusal
  apart (`video_not_ready`, `model_not_found`, `too_many_jobs_in_flight`, ...);
- `param`: the request field the error is about: the first field it names (`video.id` for a
  nested one), else the table's field for the code, else the uploaded file a media error is
  about, else null.

Out of credits also sends `x-should-retry: false`: the SDK retries a 429 by default, and waiting
a few seconds does not bring credits back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Statuses the openai SDK has no exception class for, to the nearest one it has.
STATUSES: dict[int, int] = {402: 429, 406: 400, 410: 404, 415: 400}

INVALID_REQUEST = "invalid_request_error"
SERVER_ERROR = "server_error"
TYPES = (INVALID_REQUEST, "insufficient_quota", "requests", SERVER_ERROR)


@dataclass(frozen=True)
class Rule:
    """How one of our codes differs from the default: None keeps the default."""

    status: int | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None
    should_retry: bool | None = None


_OUT_OF_CREDITS = Rule(status=429, type="insufficient_quota", code="insufficient_quota", should_retry=False)

CODES: dict[str, Rule] = {
    # A person's credits (402) or an app key's budget (429): OpenAI's quota error.
    "insufficient_credits": _OUT_OF_CREDITS,
    "insufficient_quota": _OUT_OF_CREDITS,
    # No token or key, a malformed, expired or revoked one: OpenAI's bad-key 401.
    "not_authenticated": Rule(code="invalid_api_key"),
    "authentication_failed": Rule(code="invalid_api_key"),
    # A throttle is OpenAI's request rate limit; jobs in flight a limit of the same kind, ours
    # by name (a client waits for a video to finish rather than slows down).
    "throttled": Rule(type="requests", code="rate_limit_exceeded"),
    "too_many_jobs_in_flight": Rule(type="requests"),
    # Refusals of what the prompt asks for.
    "prompt_blocked": Rule(param="prompt"),
    "cameo_restriction": Rule(param="prompt"),
    "prompt_out_of_domain": Rule(param="prompt"),
    "too_many_cameos": Rule(param="characters"),
    "idempotency_key_reused": Rule(param="Idempotency-Key"),
    "invalid_idempotency_key": Rule(param="Idempotency-Key"),
}

# Errors about an uploaded file whose raiser does not name the field: the param is the upload's
# (`video` for an extension or an edit, `input_reference` for a create).
MEDIA_CODES = frozenset(
    {
        "invalid_video",
        "unsupported_container",
        "unsupported_codec",
        "no_video_stream",
        "video_too_long",
        "video_dimensions_too_large",
        "video_too_large",
    }
)


@dataclass(frozen=True)
class OpenAIError:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _first_field(fields: Mapping[str, Any]) -> str | None:
    for key, value in fields.items():
        if key == "non_field_errors":
            continue
        if isinstance(value, Mapping) and value:
            inner = _first_field(value)
            return f"{key}.{inner}" if inner else key
        return key
    return None


def openai_error(
    *,
    status: int,
    code: str | None,
    message: str,
    fields: Mapping[str, Any] | None = None,
    uploads: Iterable[str] = (),
) -> OpenAIError:
    """One of our errors (its status, code, message, the fields it names and the names of the
    request's uploaded files) as OpenAI answers it."""
    rule = CODES.get(code or "", Rule())
    out_status = rule.status or STATUSES.get(status, status)
    kind = rule.type or (SERVER_ERROR if out_status >= 500 else INVALID_REQUEST)
    param = _first_field(fields or {}) or rule.param
    if param is None and code in MEDIA_CODES:
        files = list(uploads)
        param = files[0] if len(files) == 1 else None
    headers = {} if rule.should_retry is None else {"x-should-retry": str(rule.should_retry).lower()}
    body = {"error": {"message": message, "type": kind, "param": param, "code": rule.code or code}}
    return OpenAIError(status=out_status, body=body, headers=headers)
