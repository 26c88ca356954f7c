"""Keeping the candidate pool of a sample of for-you sessions (ranking.PoolLog), for off-policy
evaluation (`manage.py eval_feed --offpolicy`, docs/ranking.md "Off-policy evaluation").

One INSERT of about 2 kB (PostgreSQL compresses the arrays), for
`FEED_RANKING["POOL_LOG_SHARE"]` of the sessions built. It is bookkeeping, so it is written the
cheap way: the arrays go as array literals, one string each (Django's ArrayField prepares the
~700 numbers one by one, 10 ms a row on this machine; psycopg's list adapter 1.5-5 ms), and the
commit does not wait for the WAL flush (a crash may lose
the last rows, never corrupt them). If it fails the page is served all the same and the failure
is logged.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

import numpy as np
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from feed.ranking.models import PoolLog
from feed.ranking.selectors import cfg
from feed.ranking.services.explain import COLUMN, Ranked

logger = logging.getLogger(__name__)


def pool_log_sampled(rng: random.Random | None = None) -> bool:
    """Whether this session's pool is kept (each session independently, with the set share)."""
    share = float(cfg().get("POOL_LOG_SHARE", 0.0))
    return share > 0 and (rng or random).random() < share


def pool_log_write(*, user_id: int, session: str, at: datetime, ranked: Ranked) -> PoolLog | None:
    """Keep `ranked`'s pool, its slots and their propensities under `session`. Never raises
    a database error: a failed write is logged and the caller goes on (None)."""
    if not ranked.post_ids or len(ranked.slots) != len(ranked.post_ids):
        return None
    propensity = np.asarray(ranked.explain[:, COLUMN["propensity"]], dtype=np.float64)
    row = {
        "user_id": user_id,
        "session": session,
        "created_at": at,
        "model": ranked.model[:64],
        "explore_share": float(ranked.explore_share),
        "candidates": [int(p) for p in ranked.pool],
        "shown": [int(i) for i in ranked.slots],
        "propensity": propensity.tolist(),
    }
    values = row | {k: _array_literal(row[k]) for k in ("candidates", "shown", "propensity")}
    try:
        # Its own transaction (a savepoint inside one), so a failed insert leaves the caller's
        # connection usable.
        with transaction.atomic(), connection.cursor() as c:
            c.execute("SET LOCAL synchronous_commit = off")
            c.execute(_INSERT_SQL, values)
            (pk,) = c.fetchone()
    except DatabaseError:
        logger.warning("for-you pool log of session %s (user %s) not written", session, user_id, exc_info=True)
        return None
    return PoolLog(id=pk, **row)


def _array_literal(values: list[int] | list[float]) -> str:
    return "{" + ",".join(map(repr, values)) + "}"


_INSERT_SQL = f"""
INSERT INTO {PoolLog._meta.db_table}
    (user_id, session, created_at, model, explore_share, candidates, shown, propensity)
VALUES (%(user_id)s, %(session)s, %(created_at)s, %(model)s, %(explore_share)s,
        %(candidates)s::bigint[], %(shown)s::smallint[], %(propensity)s::real[])
RETURNING id
"""


def pool_logs_prune(*, days: int | None = None, now: datetime | None = None) -> int:
    """Delete pool logs older than `days` (default POOL_LOG_DAYS); the evaluator reads a
    couple of weeks."""
    days = int(cfg().get("POOL_LOG_DAYS", 30)) if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = PoolLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted
