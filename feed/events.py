"""Validation of engagement events as clients send them. Plain Python, no Django: it runs
500 times a request, so it is a handful of checks per event, not a serializer."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MAX_BATCH = 500
# A client buffers events while offline; older ones are dropped rather than skew training.
MAX_AGE = timedelta(days=7)
MAX_CLOCK_SKEW = timedelta(minutes=10)
MAX_WATCH_MS = 24 * 60 * 60 * 1000
MAX_POSITION = 32767
MAX_BIGINT = 2**63 - 1

TYPES = {
    "impression": 1,
    "view": 2,
    "like": 3,
    "comment": 4,
    "share": 5,
    "remix_started": 6,
    "remix_posted": 7,
    "hide": 8,
    "report": 9,
}
SURFACES = {
    "unknown": 0,
    "for_you": 1,
    "following": 2,
    "latest": 3,
    "profile": 4,
    "chain": 5,
    "cameo": 6,
    "notification": 7,
    "link": 8,
}
FIELDS = frozenset({"id", "type", "post_id", "at", "watch_ms", "completion", "surface", "position", "propensity"})


@dataclass(frozen=True, slots=True)
class ValidEvent:
    index: int
    event_id: uuid.UUID
    type: int
    post_id: int
    occurred_at: datetime
    watch_ms: int | None
    completion: float | None
    surface: int
    position: int | None
    propensity: float | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    id: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.id, "code": self.code, "message": self.message}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_event(index: int, raw: Any, now: datetime) -> ValidEvent | Rejection:
    """One event, checked field by field; the first problem found is the one reported."""
    if not isinstance(raw, dict):
        return Rejection(index, None, "invalid_event", "Each event is a JSON object.")
    raw_id = raw.get("id")
    shown_id = raw_id if isinstance(raw_id, str) else None

    def reject(code: str, message: str) -> Rejection:
        return Rejection(index, shown_id, code, message)

    unknown = raw.keys() - FIELDS
    if unknown:
        return reject("unknown_field", f"Unknown field {sorted(unknown)[0]!r}.")
    if not isinstance(raw_id, str):
        return reject("invalid_id", "id must be a UUID string chosen by the client.")
    try:
        event_id = uuid.UUID(raw_id)
    except ValueError:
        return reject("invalid_id", "id must be a UUID string chosen by the client.")
    type_code = TYPES.get(raw.get("type")) if isinstance(raw.get("type"), str) else None
    if type_code is None:
        return reject("invalid_type", f"type must be one of: {', '.join(TYPES)}.")
    post_id = raw.get("post_id")
    if not _is_int(post_id) or not 0 < post_id <= MAX_BIGINT:
        return reject("invalid_post_id", "post_id must be a positive integer.")

    at = raw.get("at")
    if at is None:
        occurred_at = now
    else:
        if not isinstance(at, str):
            return reject("invalid_time", "at must be an ISO 8601 time with a zone.")
        try:
            occurred_at = datetime.fromisoformat(at)
        except ValueError:
            return reject("invalid_time", "at must be an ISO 8601 time with a zone.")
        if occurred_at.tzinfo is None:
            return reject("invalid_time", "at must carry a time zone (e.g. ...Z).")
        if occurred_at > now + MAX_CLOCK_SKEW:
            return reject("time_in_future", "at is in the future.")
        if occurred_at < now - MAX_AGE:
            return reject("time_too_old", f"Events older than {MAX_AGE.days} days are not accepted.")

    watch_ms = raw.get("watch_ms")
    completion = raw.get("completion")
    if type_code == TYPES["view"]:
        if not _is_int(watch_ms) or not 0 <= watch_ms <= MAX_WATCH_MS:
            return reject("invalid_watch_ms", "A view needs watch_ms, milliseconds watched (0 to 24 h).")
        if (
            not (_is_int(completion) or isinstance(completion, float))
            or not math.isfinite(completion)
            or not 0 <= completion <= 1
        ):
            return reject("invalid_completion", "A view needs completion, the fraction of the video reached (0 to 1).")
        completion = float(completion)
    elif watch_ms is not None or completion is not None:
        return reject("unexpected_field", "Only view events carry watch_ms and completion.")

    surface_name = raw.get("surface", "unknown")
    surface = SURFACES.get(surface_name) if isinstance(surface_name, str) else None
    if surface is None:
        return reject("invalid_surface", f"surface must be one of: {', '.join(SURFACES)}.")
    position = raw.get("position")
    if position is not None and (not _is_int(position) or not 0 <= position <= MAX_POSITION):
        return reject("invalid_position", "position must be an integer from 0.")
    propensity = raw.get("propensity")
    if propensity is not None:
        if (
            not (_is_int(propensity) or isinstance(propensity, float))
            or not math.isfinite(propensity)
            or not 0 < propensity <= 1
        ):
            return reject("invalid_propensity", "propensity must be a probability in (0, 1].")
        if type_code != TYPES["impression"]:
            return reject("unexpected_field", "Only impression events carry propensity.")
        propensity = float(propensity)
    return ValidEvent(
        index, event_id, type_code, post_id, occurred_at, watch_ms, completion, surface, position, propensity
    )
