"""How large a request may be, decided from its head alone, and the refusals in the error shape.

The ASGI server (`sora_social/serve.py`) asks this before it reads a body: a body over the
limit is answered 413 without being stored anywhere, a request line over the server's limit
414 and header lines over it 431. The rule:
- a view may declare ``max_body_bytes`` (its class attribute) for its own routes;
- otherwise a multipart body (the only way files arrive) may be as large as the largest upload,
  MAX_VIDEO_UPLOAD_BYTES plus room for the form around it;
- any other body (JSON, forms) DATA_UPLOAD_MAX_MEMORY_SIZE, Django's own limit for non-file data.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.urls import Resolver404, resolve

from sora_social.common.errors import error_body
from sora_social.common.openai_errors import openai_error

MULTIPART_OVERHEAD_BYTES = 1024 * 1024  # boundaries, part headers and the form's other fields


def request_body_limit(*, path: str, content_type: str) -> int:
    """The most bytes a request to `path` with this Content-Type may carry."""
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    if match is not None:
        view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
        declared = getattr(view_class, "max_body_bytes", None)
        if declared is not None:
            return int(declared)
    if content_type.split(";", 1)[0].strip().lower() == "multipart/form-data":
        return settings.MAX_VIDEO_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def refusal_body(*, path: str, code: str, message: str, **extra: object) -> bytes:
    """A refusal in the error shape of the API `path` belongs to (OpenAI's under /v1/)."""
    if path.startswith("/v1/"):
        # Every refusal here is a 4xx the server sends as it is (413, 414, 431, 400): only the body.
        body = openai_error(status=400, code=code, message=message).body
    else:
        body = error_body(code, message, **extra)
    return json.dumps(body).encode()


def body_too_large(*, path: str, limit: int) -> bytes:
    return refusal_body(
        path=path,
        code="request_too_large",
        message=f"The request body is larger than this endpoint accepts ({limit:,} bytes).",
        limit_bytes=limit,
    )
