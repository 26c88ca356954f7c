"""One error shape for the whole API: {"error": {"code", "message", "fields"}}.

Services raise `ApplicationError` (or Django's ValidationError / PermissionDenied); they
never raise DRF exceptions. `exception_handler` turns all of them into the error shape with a
4xx status. Every constructor takes `(code, message)`, in that order.

Something a client asked for that does not exist (or that they may not see) is a `NotFound`
raised on purpose, with its own code. A bare `ObjectDoesNotExist` (a `.get()` that found
nothing) is not turned into a 404: it is a bug, and it is a logged 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A refusal a client can act on: a machine-readable code, a message, an HTTP status."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int | None = None,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields or {}
        self.extra = extra or {}


class NotFound(ApplicationError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status_code=status.HTTP_404_NOT_FOUND)


class Forbidden(ApplicationError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status_code=status.HTTP_403_FORBIDDEN)


class Conflict(ApplicationError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status_code=status.HTTP_409_CONFLICT)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


def _flatten_fields(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {
            key: _flatten_fields(value) if isinstance(value, dict) else _messages(value)
            for key, value in detail.items()
        }
    return {"non_field_errors": _messages(detail)}


def _messages(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            out.extend(_messages(item) if isinstance(item, list | tuple) else [str(item)])
        return out
    if isinstance(value, dict):
        return [f"{k}: {', '.join(_messages(v))}" for k, v in value.items()]
    return [str(value)]


def _first_message(fields: dict[str, Any]) -> str:
    for key, value in fields.items():
        if isinstance(value, dict):
            return _first_message(value)
        if value:
            prefix = "" if key == "non_field_errors" else f"{key}: "
            return f"{prefix}{value[0]}"
    return "Invalid input."


_DRF_CODES = {
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
    drf_exceptions.ParseError: "parse_error",
}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    from sora_social.common.outages import RETRY_AFTER_S, outage_of

    service = outage_of(exc)
    if service is not None:
        # A backing service is down or out of connections: a clean, retryable answer. Logged
        # with its traceback: a deadlock or a lock timeout also lands here, and those are bugs.
        logger.warning("%s unavailable: %s: %s", service, type(exc).__name__, exc, exc_info=exc)
        return Response(
            error_body(
                f"{service}_unavailable",
                f"The service is briefly unavailable ({service} unreachable); retry in a few seconds.",
            ),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    if isinstance(exc, ApplicationError):
        extra = dict(exc.extra)
        if exc.status_code == status.HTTP_429_TOO_MANY_REQUESTS and extra.get("retry_after_s") is None:
            # Every 429 says when to try again; where the wait is unknown (jobs in flight), a default.
            from django.conf import settings

            extra["retry_after_s"] = settings.RETRY_AFTER_DEFAULT_S
        retry_after_s = extra.get("retry_after_s")
        return Response(
            error_body(exc.code, exc.message, exc.fields, **extra),
            status=exc.status_code,
            headers={"Retry-After": str(retry_after_s)} if retry_after_s is not None else None,
        )
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        fields = {k: _messages(v) for k, v in fields.items()}
        code = getattr(exc, "code", None) or "invalid"
        return Response(error_body(code, _first_message(fields), fields), status=400)
    if isinstance(exc, Http404):  # a URL that names nothing (and get_object_or_404)
        return Response(error_body("not_found", "Not found."), status=404)
    if isinstance(exc, ObjectDoesNotExist):
        return None  # a .get() that found nothing: a bug, not a 404 (a 500, logged by Django)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("permission_denied", str(exc) or "Permission denied."), status=403)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let it be a 500 and show up in logs
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        response.data = error_body("invalid", _first_message(fields), fields)
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
    if code is None:
        code = getattr(exc, "default_code", "error")
    detail = exc.detail if isinstance(exc, drf_exceptions.APIException) else str(exc)
    message = str(detail) if not isinstance(detail, dict | list) else _first_message(_flatten_fields(detail))
    extra = {}
    if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
        extra["retry_after_s"] = int(exc.wait)
    response.data = error_body(code, message, **extra)
    return response
