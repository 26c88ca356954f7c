"""Request body parsers: DRF's, refusing what would crash a view or the database later.

Every body is checked once, here, instead of in each view:
- JSON nested deeper than ``MAX_JSON_DEPTH`` (the C scanner raises RecursionError at about
  1,000 levels, and a few hundred levels still overflow the stack of code that walks the
  data recursively: serializers, renderers) is a 400 ``json_too_deep``;
- ``JSONObjectParser`` (the ``/v1/videos`` views, which read fields with ``.get``) also refuses
  a JSON body that is not an object with a 400 ``body_not_an_object``; elsewhere a serializer
  or the view says what it expected;
- a NUL or a lone surrogate in any text, key or value, of a JSON, multipart or form body is a
  422 ``invalid_characters``: PostgreSQL's text cannot hold a NUL, UTF-8 cannot encode a lone
  surrogate, and both would otherwise surface as a 500 when the row is written. A 422, a rule
  the schema cannot state everywhere: it says "no NUL" on each declared string, but not inside
  free-form values and keys (an events batch, OpenAI's extra fields), nor of lone surrogates;
- a multipart body none of whose parts can be read (no part has a name) is a 400
  ``invalid_multipart``, not an empty form;
- a form field over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 ``request_too_large`` and too many
  fields a 400, in the error shape (Django raises them as SuspiciousOperation, an HTML 400).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import QueryDict
from rest_framework import parsers

MAX_JSON_DEPTH = 32  # objects and arrays inside one another; our deepest body nests 3
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _error(code: str, message: str, **kwargs: Any) -> Exception:
    # Imported here: DRF's settings import this module while rest_framework.views, which the
    # error module imports, is still initialising.
    from sora_social.common.errors import ApplicationError

    return ApplicationError(code, message, **kwargs)


def _invalid_characters(field: str | None) -> Exception:
    fields = {field: ["Contains a NUL character or a lone surrogate."]} if field else {}
    return _error(
        "invalid_characters",
        "The request contains a NUL character or an unpaired surrogate, which no text field can hold.",
        fields=fields,
        status_code=422,
    )


def _printable_field(key: Any) -> str | None:
    # A field name is echoed in the error only when it can be encoded itself.
    return key if isinstance(key, str) and not _UNSTORABLE.search(key) else None


def check_json_body(data: Any) -> None:
    """Refuse a parsed JSON body that nests too deep or holds unstorable text. Iterative, so a
    deep body cannot overflow the stack here either."""
    if not isinstance(data, dict | list):
        if isinstance(data, str) and _UNSTORABLE.search(data):
            raise _invalid_characters(None)
        return
    stack: list[tuple[Any, int, str | None]] = [(data, 1, None)]
    while stack:
        node, depth, top_field = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _error("json_too_deep", f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(node, dict):
            items = node.items()
        else:
            items = ((None, child) for child in node)
        for key, child in items:
            field = top_field if top_field is not None or depth > 1 else _printable_field(key)
            if key is not None and _UNSTORABLE.search(key):
                raise _invalid_characters(field)
            if isinstance(child, dict | list):
                stack.append((child, depth + 1, field))
            elif isinstance(child, str) and _UNSTORABLE.search(child):
                raise _invalid_characters(field)


def check_form_fields(data: QueryDict) -> None:
    for key, values in data.lists():
        if _UNSTORABLE.search(key) or any(_UNSTORABLE.search(value) for value in values):
            raise _invalid_characters(_printable_field(key))


def _form_limit_errors(exc: Exception) -> Exception:
    if isinstance(exc, RequestDataTooBig):
        return _error("request_too_large", "A form field is larger than this server accepts.", status_code=413)
    return _error("too_many_fields", "The form has more fields than this server accepts.")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise _error("json_too_deep", f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.") from exc
        check_json_body(data)
        return data


class JSONObjectParser(JSONParser):
    """JSON whose top level must be an object."""

    def parse(self, stream, media_type=None, parser_context=None) -> dict:
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise _error("body_not_an_object", "The request body must be a JSON object.")
        return data


class _ReadRecorder:
    """Reads through to a stream, keeping how many bytes passed and the first few of them."""

    HEAD = 256

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.size = 0
        self.head = b""

    def read(self, *args: Any) -> bytes:
        chunk = self._stream.read(*args)
        if chunk:
            if len(self.head) < self.HEAD:
                self.head += chunk[: self.HEAD - len(self.head)]
            self.size += len(chunk)
        return chunk


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None) -> parsers.DataAndFiles:
        recorder = _ReadRecorder(stream)
        try:
            parsed = super().parse(recorder, media_type, parser_context)
        except (RequestDataTooBig, TooManyFieldsSent) as exc:
            raise _form_limit_errors(exc) from exc
        if not parsed.data and not parsed.files and not _empty_multipart(recorder, media_type):
            # Django skips a part it cannot name (no Content-Disposition, or text that is no
            # multipart at all) without a word, so such a body read as {} (a PATCH of nothing).
            raise _error(
                "invalid_multipart",
                "No part of the multipart body could be read: each needs a Content-Disposition with a name.",
            )
        check_form_fields(parsed.data)
        return parsed


def _empty_multipart(recorder: _ReadRecorder, media_type: str | None) -> bool:
    """Whether the body was nothing, or only the closing delimiter: an empty form, the {} of multipart."""
    from django.utils.http import parse_header_parameters

    boundary = parse_header_parameters(media_type or "")[1].get("boundary", "")
    return recorder.size == 0 or recorder.head.strip() == f"--{boundary}--".encode()


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None) -> QueryDict:
        try:
            data = super().parse(stream, media_type, parser_context)
        except (RequestDataTooBig, TooManyFieldsSent) as exc:
            raise _form_limit_errors(exc) from exc
        check_form_fields(data)
        return data
