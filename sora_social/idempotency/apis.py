"""The `idempotent` view decorator and its schema parameter.

Semantics are the generations' (generation/jobs/submit.py): the same key with the same request gets
the first response again (same status and body, plus `Idempotent-Replayed: true`); the same key
with a different request is 422 `idempotency_key_reused`; concurrent duplicates are resolved by
the unique constraint on (user, key, path). Only successful (2xx) responses are kept: a refused
request may be retried with the same key once its cause is fixed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from sora_social.common.errors import ApplicationError
from sora_social.idempotency import services

MAX_KEY_LENGTH = 255

# Printable ASCII and tabs: what an HTTP header can carry as is. Tabs are allowed because a
# server strips them (and spaces) around a header value before we see it; the key is stripped too.
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": "^[\\t\\x20-\\x7e]*$"}
_IDEMPOTENCY_KEY_RE = re.compile(f"[\\t\\x20-\\x7e]{{0,{MAX_KEY_LENGTH}}}")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    IDEMPOTENCY_KEY_SCHEMA,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID, say), at most 255 printable characters. A retry with the same key and "
        "the same request gets the first response again (header Idempotent-Replayed: true) and creates "
        "nothing; the same key with a different request is 422 idempotency_key_reused. Kept 24 hours."
    ),
)


def _canonical(value: Any) -> Any:
    """A JSON-able stand-in for request data: dict keys sorted, files by their content's digest."""
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        value.seek(0)
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file_sha256": digest.hexdigest()}
    if isinstance(value, QueryDict):
        return {k: [_canonical(v) for v in value.getlist(k)] for k in sorted(value.keys())}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def request_fingerprint(request: Request) -> str:
    payload = {"method": request.method, "path": request.path, "data": _canonical(request.data)}
    return hashlib.sha256(json.dumps(payload, cls=JSONEncoder, sort_keys=True).encode()).hexdigest()


def _idempotency_key(request: Request) -> str:
    raw = request.headers.get("Idempotency-Key", "")
    key = raw.strip()
    if not _IDEMPOTENCY_KEY_RE.fullmatch(raw):
        raise ApplicationError(
            "invalid_idempotency_key",
            f"Idempotency-Key must be at most {MAX_KEY_LENGTH} printable characters.",
        )
    return key


def _replay(*, record, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise ApplicationError(
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request.",
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if record.response_status is None:  # cannot be seen committed; kept as a safe answer
        raise ApplicationError(
            "idempotency_request_in_progress",
            "A request with this Idempotency-Key is still being processed.",
            status_code=status.HTTP_409_CONFLICT,
        )
    return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Make a creating POST honour `Idempotency-Key` (declare IDEMPOTENCY_KEY_PARAMETER in its
    schema). The record is claimed and the response stored in one transaction with the view's
    own write, so a retry can never see the write without the response or the other way round."""

    @functools.wraps(view_method)
    def wrapper(view, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = _idempotency_key(request)
        if not key or not request.user.is_authenticated:
            return view_method(view, request, *args, **kwargs)
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            record, claimed = services.idempotency_record_claim(
                user=request.user, key=key, method=request.method, path=request.path, fingerprint=fingerprint
            )
            if not claimed:
                return _replay(record=record, fingerprint=fingerprint)
            # An exception from the view rolls the claim back with everything else.
            response = view_method(view, request, *args, **kwargs)
            if isinstance(response, Response) and status.is_success(response.status_code):
                body = json.loads(json.dumps(response.data, cls=JSONEncoder))
                services.idempotency_record_complete(record=record, status_code=response.status_code, body=body)
            else:
                services.idempotency_record_release(record=record)
        return response

    wrapper.honours_idempotency_key = True  # the schema adds its 409 and 422 (common/schema.py)
    return wrapper
