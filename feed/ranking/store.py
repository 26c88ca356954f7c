"""Redis state of the feeds: for-you sessions (frozen ranked lists), the seen memory, teen
daily counters, per-session nudge counts. Keys live under `<REDIS_KEY_PREFIX>:rk:`.

Redis, not the database: all of it is short-lived, written on every page, and safe to lose
(a lost session is rebuilt without what was seen; a lost seen set only means an older post
may come back sooner). The teen counter is the exception that matters: see docs/ranking.md.
"""

from __future__ import annotations

import json
import pickle
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def client() -> redis.Redis:
    # The cache's own timeouts: with Redis down a feed request fails fast (503), never hangs.
    timeouts = settings.CACHES["default"].get("OPTIONS", {})
    return redis.Redis.from_url(
        f"{settings.REDIS_URL}/{settings.REDIS_DB_CACHE}",
        decode_responses=False,
        socket_connect_timeout=timeouts.get("socket_connect_timeout"),
        socket_timeout=timeouts.get("socket_timeout"),
    )


@lru_cache(maxsize=1)
def database_tag() -> str:
    """The current database's incarnation (its OID changes when it is dropped and created
    again): a demo or test database recreated under the same name and Redis prefix must not
    inherit the last one's sessions, seen sets and profiles, whose post and user ids now mean
    other rows."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        return str(c.fetchone()[0])


def key(*parts: object) -> str:
    return ":".join([settings.REDIS_KEY_PREFIX, "rk", database_tag(), *map(str, parts)])


# --- for-you sessions ------------------------------------------------------------------------


@dataclass
class SessionSlice:
    """Part of a stored ranked list: its header, the post ids and sources of items
    [start, stop), their explain rows (float64 bytes, when asked for), and the list's length."""

    header: dict[str, Any]
    post_ids: list[int]
    sources: list[list[str]]
    explain: bytes | None
    length: int


def session_create(
    user_id: int,
    header: dict[str, Any],
    post_ids: list[int],
    sources: list[list[str]],
    explain: bytes,
    *,
    ttl_s: int,
) -> str:
    """Store a ranked list; returns its session id (random; the key also holds the user id,
    so another user's cursor finds nothing).

    Two values: the list itself (header, ids, sources: one small JSON string, read whole on
    every page — a few kB, cheaper than a Redis list of 200 JSON items) and its explain
    matrix as raw float64 rows, of which a page reads its own rows only when it shows them."""
    sid = secrets.token_urlsafe(9)
    body = json.dumps({"h": header, "p": post_ids, "s": sources}, separators=(",", ":"))
    pipe = client().pipeline()
    pipe.set(key("fy", user_id, sid), body, ex=ttl_s)
    pipe.set(key("fyx", user_id, sid), explain, ex=ttl_s)
    pipe.execute()
    return sid


def session_slice(
    user_id: int, sid: str, start: int, stop: int, *, ttl_s: int, explain_row_bytes: int = 0
) -> SessionSlice | None:
    """Items [start, stop) of a session, or None if it expired or is not this user's.
    Reading a session keeps it alive. `explain_row_bytes`: the size of one explain row, to
    read the slice's explain rows too (0: not needed)."""
    k, kx = key("fy", user_id, sid), key("fyx", user_id, sid)
    pipe = client().pipeline()
    pipe.get(k)
    pipe.expire(k, ttl_s)
    pipe.expire(kx, ttl_s)
    if explain_row_bytes:
        pipe.getrange(kx, start * explain_row_bytes, stop * explain_row_bytes - 1)
    raw, *_, explain = pipe.execute()
    if raw is None:
        return None
    body = json.loads(raw)
    return SessionSlice(
        header=body["h"],
        post_ids=body["p"][start:stop],
        sources=body["s"][start:stop],
        explain=explain if explain_row_bytes else None,
        length=len(body["p"]),
    )


def session_nudges(user_id: int, sid: str, *, add: int = 0, ttl_s: int = 3600) -> int:
    k = key("nudges", user_id, sid)
    if not add:
        return int(client().get(k) or 0)
    pipe = client().pipeline()
    pipe.incrby(k, add)
    pipe.expire(k, ttl_s)
    return int(pipe.execute()[0])


# --- seen -------------------------------------------------------------------------------------


def seen_add(user_id: int, post_ids: list[int], *, ttl_s: int, cap: int) -> None:
    if not post_ids:
        return
    now = time.time()
    k = key("seen", user_id)
    pipe = client().pipeline()
    pipe.zadd(k, {str(p): now for p in post_ids})
    pipe.zremrangebyscore(k, "-inf", now - ttl_s)
    pipe.zremrangebyrank(k, 0, -cap - 1)  # keep the newest `cap`
    pipe.expire(k, ttl_s)
    pipe.execute()


def seen_ids(user_id: int, *, ttl_s: int) -> set[int]:
    raw = client().zrangebyscore(key("seen", user_id), time.time() - ttl_s, "+inf")
    return {int(r) for r in raw}


# --- viewer profiles (a short cache: candidate generation reads it once per session) --------


def profile_get(user_id: int) -> Any | None:
    raw = client().get(key("profile", user_id))
    return pickle.loads(raw) if raw else None


def profile_set(user_id: int, profile: Any, *, ttl_s: int) -> None:
    client().set(key("profile", user_id), pickle.dumps(profile, protocol=pickle.HIGHEST_PROTOCOL), ex=ttl_s)


def profile_forget(user_id: int) -> None:
    client().delete(key("profile", user_id))


# --- teens ------------------------------------------------------------------------------------


def daily_count(user_id: int, day: str) -> int:
    return int(client().get(key("teen", user_id, day)) or 0)


def daily_add(user_id: int, day: str, n: int) -> int:
    k = key("teen", user_id, day)
    pipe = client().pipeline()
    pipe.incrby(k, n)
    pipe.expire(k, 2 * 86400)
    return int(pipe.execute()[0])


def flush_all() -> int:
    """Delete every key of this prefix (tests, and `seed_feed_bench`)."""
    c = client()
    n = 0
    for k in c.scan_iter(match=key("*"), count=1000):
        n += c.delete(k)
    return n
