"""Paging for-you: a page is a slice of the session's frozen list, re-checked when served;
the teen daily limit; the nudge slotted into a page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.utils import timezone

from feed.ranking import store
from feed.ranking.rerank import RerankConfig
from feed.ranking.selectors import cfg, hydrate
from feed.ranking.services.explain import COLUMN, EXPLAIN_COLUMNS, Ranked, explain_data
from feed.ranking.services.nudges import nudge_for_session
from feed.ranking.services.pool_log import pool_log_sampled, pool_log_write
from feed.ranking.services.ranking import for_you_rank, timed
from sora_social.common.pagination import cursor_not_of_this_list, decode_cursor, encode_cursor
from sora_social.users.dates import local_day, next_local_midnight
from sora_social.users.models import User


@dataclass
class DailyLimit:
    limit: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass
class ForYouPage:
    items: list[dict[str, Any]]  # {"type": "post", "post": Post, ...} or {"type": "nudge", ...}
    next_cursor: str | None
    limit_reached: bool = False
    daily_limit: DailyLimit | None = None
    personalized: bool = True
    model: str = ""
    nudges: list[dict[str, Any]] = field(default_factory=list)
    lineage: dict[int, Any] = field(default_factory=dict)  # credits of the posts' parents and roots
    timings: dict[str, float] = field(default_factory=dict)  # wall ms per stage (Server-Timing)


def _local_day(user: User, now: datetime) -> tuple[str, datetime]:
    """The user's day (an unknown zone counts as UTC) and when the next one starts."""
    return local_day(user, now).isoformat(), next_local_midnight(user, now)


def daily_limit_of(user: User, now: datetime) -> DailyLimit | None:
    if not user.is_minor:
        return None
    day, resets_at = _local_day(user, now)
    return DailyLimit(limit=int(cfg()["TEEN_DAILY_LIMIT"]), used=store.daily_count(user.pk, day), resets_at=resets_at)


def _decode_for_you_cursor(cursor: str) -> tuple[str, int]:
    values = decode_cursor(cursor)
    if len(values) != 3 or values[0] != "fy" or not isinstance(values[1], str) or not isinstance(values[2], int):
        raise cursor_not_of_this_list()
    if values[2] < 0:
        raise cursor_not_of_this_list()
    return values[1], values[2]


_EXPLAIN_ROW_BYTES = 8 * len(EXPLAIN_COLUMNS)


def _new_session(
    user: User, now: datetime, timings: dict[str, float] | None = None
) -> tuple[str | None, dict[str, Any], Ranked]:
    ranked = for_you_rank(user=user, now=now, timings=timings)
    header = {"personalized": ranked.personalized, "model": ranked.model, "candidates": ranked.candidates}
    if not ranked.post_ids:
        return None, header, ranked
    with timed(timings, "store"):
        sid = store.session_create(
            user.pk,
            header,
            ranked.post_ids,
            ranked.sources,
            ranked.explain.astype("<f8").tobytes(),
            ttl_s=cfg()["SESSION_TTL_S"],
        )
    if pool_log_sampled():
        with timed(timings, "pool_log"):
            pool_log_write(user_id=user.pk, session=sid, at=now, ranked=ranked)
    return sid, header, ranked


def for_you_page(
    *, user: User, cursor: str | None, limit: int, now: datetime | None = None, explain: bool = True
) -> ForYouPage:
    """One page of for-you. Writes nothing to the database (the seen memory, the session and
    the teen counter are in Redis), so it is not a transaction, except a sampled session's
    pool log (services.pool_log: one insert, its failure logged, never the request's). `explain`: fill each item's
    explain (else None). Every post item carries `propensity`, the probability the logging
    policy showed it in its slot (feed/ranking/explore.py), for the client's impression event."""
    now = now or timezone.now()
    settings_ = cfg()
    ttl = settings_["SESSION_TTL_S"]
    max_items = RerankConfig.from_settings(settings_.get("RERANK")).max_items
    daily = daily_limit_of(user, now)
    if daily is not None and daily.remaining <= 0:
        return ForYouPage(items=[], next_cursor=None, limit_reached=True, daily_limit=daily)
    if daily is not None:
        limit = min(limit, daily.remaining)

    sliced = None
    timings: dict[str, float] = {}
    row_bytes = _EXPLAIN_ROW_BYTES  # the propensity is in the row: every page reads it
    if cursor:
        sid, offset = _decode_for_you_cursor(cursor)
        with timed(timings, "slice"):
            sliced = store.session_slice(user.pk, sid, offset, offset + limit, ttl_s=ttl, explain_row_bytes=row_bytes)
        # Expired (or not this user's), or this list ran out: a new list, without what was seen.
        if sliced is not None and not sliced.post_ids and offset >= sliced.length:
            sliced = None
    if sliced is None:
        sid, header, ranked = _new_session(user, now, timings)
        offset = 0
        sliced = store.SessionSlice(
            header=header,
            post_ids=ranked.post_ids[:limit],
            sources=ranked.sources[:limit],
            explain=ranked.explain[:limit].astype("<f8").tobytes(),
            length=len(ranked.post_ids),
        )
    header, length = sliced.header, sliced.length
    rows = np.frombuffer(sliced.explain, dtype="<f8").reshape(-1, len(EXPLAIN_COLUMNS)) if sliced.explain else None
    with timed(timings, "hydrate"):
        found = hydrate(user, sliced.post_ids)
    posts = {p.pk: p for p in found}
    page: list[dict[str, Any]] = []
    for i, (post_id, srcs) in enumerate(zip(sliced.post_ids, sliced.sources, strict=True)):
        post = posts.get(post_id)
        if post is None:
            continue  # removed, hidden, reported or blocked since the list was built
        row = rows[i] if rows is not None and i < len(rows) else None
        x = explain_data(row, srcs, offset + i + 1) if explain and row is not None else None
        propensity = float(row[COLUMN["propensity"]]) if row is not None else None
        page.append({"type": "post", "post": post, "source": srcs[0], "explain": x, "propensity": propensity})
    with timed(timings, "seen"):
        seen = [it["post"].pk for it in page]
        store.seen_add(user.pk, seen, ttl_s=settings_["SEEN_TTL_S"], cap=settings_["SEEN_CAP"])
        if daily is not None and page:
            daily.used = store.daily_add(user.pk, _local_day(user, now)[0], len(page))

    if sid is not None and page:
        with timed(timings, "nudge"):
            nudge = nudge_for_session(user, sid, now)
        if nudge is not None:
            page.insert(min(3, len(page)), nudge)

    end = offset + len(sliced.post_ids)
    # More after this page: the rest of this list, or a next list if this one was cut at
    # max_items (a shorter list means the candidates ran out).
    more = sid is not None and (end < length or length >= max_items)
    if daily is not None and daily.remaining <= 0:
        more = False  # no continuous scroll past the daily limit
    return ForYouPage(
        items=page,
        next_cursor=encode_cursor(["fy", sid, end]) if more else None,
        limit_reached=daily is not None and daily.remaining <= 0,
        daily_limit=daily,
        personalized=bool(header.get("personalized", True)),
        model=str(header.get("model", "")),
        lineage=found.lineage,
        timings=timings,
    )
