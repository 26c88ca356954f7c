"""Keyset (cursor) pagination: a page never repeats or skips a row, even while rows arrive.

The cursor is the last row's values of the ordering columns, opaque to clients. Ordering must
end in a unique column (usually `id`) so the order is total.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime
from functools import cache
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.request import Request

from sora_social.common.errors import ApplicationError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def cursor_not_of_this_list() -> ApplicationError:
    """A cursor that decodes but was issued for another list: a 422, a rule no schema can state."""
    return ApplicationError("invalid_cursor", "The cursor does not belong to this list.", status_code=422)


def _encode(values: list[Any]) -> str:
    payload = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def fits_bigint(value: int) -> bool:
    """Whether PostgreSQL's bigint can hold `value` (every id is one; raw SQL refuses more)."""
    return -(2**63) <= value < 2**63


def _unstorable(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not fits_bigint(value)
    if isinstance(value, float):
        return not math.isfinite(value)
    return False


def decode_cursor(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, list):
            raise ValueError
        values = [datetime.fromisoformat(v["t"]) if isinstance(v, dict) and "t" in v else v for v in payload]
        # Cursors are not signed: a made-up one must not carry what PostgreSQL refuses (an
        # integer past bigint, NaN) into the raw SQL of the feeds and chains (a 500).
        if any(_unstorable(v) for v in values):
            raise ValueError
        return values
    except (ValueError, TypeError, KeyError, json.JSONDecodeError) as exc:
        raise ApplicationError("invalid_cursor", "The cursor is not one this server issued.", status_code=422) from exc


def encode_cursor(values: list[Any]) -> str:
    return _encode(values)


def page_size_from(request: Request, default: int = DEFAULT_PAGE_SIZE) -> int:
    # `page_size` is the older name; an empty `limit=` is not "the default" but not a number.
    raw = request.query_params.get("limit", request.query_params.get("page_size"))
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError as exc:
        raise ApplicationError("invalid_limit", "limit must be an integer.") from exc
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApplicationError("invalid_limit", f"limit must be between 1 and {MAX_PAGE_SIZE}.")
    return size


_BOOLEAN_VALUES = {"true": True, "false": False, "1": True, "0": False}


def query_bool(request: Request, name: str) -> bool:
    """A boolean query parameter as the schema types it (true/false; 1/0 too); anything else is a
    400, not silently false."""
    raw = request.query_params.get(name)
    if raw is None:
        return False
    value = _BOOLEAN_VALUES.get(raw.lower())
    if value is None or len(request.query_params.getlist(name)) > 1:
        raise ApplicationError("invalid_parameter", f"{name} must be true or false.", fields={name: ["Not a boolean."]})
    return value


def _after_filter(ordering: tuple[str, ...], values: list[Any]) -> Q:
    """Rows strictly after `values` in `ordering`: (a > x) | (a = x & b > y) | ..."""
    condition = Q()
    for index, field in enumerate(ordering):
        name = field.lstrip("-")
        lookup = "lt" if field.startswith("-") else "gt"
        clause = Q(**{f"{name}__{lookup}": values[index]})
        for prior_field, prior_value in zip(ordering[:index], values[:index], strict=True):
            clause &= Q(**{prior_field.lstrip("-"): prior_value})
        condition |= clause
    return condition


def _value(obj: Any, field: str) -> Any:
    for part in field.lstrip("-").split("__"):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


def paginate_queryset(
    queryset: QuerySet,
    request: Request,
    *,
    ordering: tuple[str, ...] = ("-id",),
    default_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Any], str | None]:
    """Return (rows of this page, cursor of the next page or None)."""
    size = page_size_from(request, default_size)
    cursor = request.query_params.get("cursor")
    queryset = queryset.order_by(*ordering)
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != len(ordering):
            raise cursor_not_of_this_list()
        queryset = queryset.filter(_after_filter(ordering, values))
    rows = list(queryset[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    next_cursor = encode_cursor([_value(rows[-1], f) for f in ordering]) if has_more and rows else None
    return rows, next_cursor


def page_payload(request: Request, results: list[Any], next_cursor: str | None) -> dict[str, Any]:
    next_url = None
    if next_cursor:
        params = request.query_params.copy()
        params["cursor"] = next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        # The same URL as a Link header (rel="next"), added by ApiResponseHeadersMiddleware.
        getattr(request, "_request", request).next_page_url = next_url
    return {"results": results, "next_cursor": next_cursor, "next": next_url}


@cache
def page_serializer(item_serializer: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """A serializer class describing one page of `item_serializer` rows, for the schema."""
    name = item_serializer.__name__.removesuffix("Serializer").removesuffix("Output") + "Page"
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item_serializer(many=True),
            "next_cursor": serializers.CharField(allow_null=True),
            "next": serializers.URLField(allow_null=True),
        },
    )
