"""Primary + streaming replica: which connection a read goes to (docs/SCALING.md).

Only reads that tolerate lag go to the replica: GETs of the routes in `REPLICA_ROUTES` (feeds,
profiles, chains, lists), after authentication (the token lookup itself reads the primary, so a
token minted a moment ago works at once). Everything else, every write and every read inside a
transaction or after a write in the same request, uses the primary.

Read-your-writes: a request by a signed-in user that wrote records the primary's WAL position
(`pg_current_wal_lsn()`) under the user in Redis for `READ_YOUR_WRITES_MAX_S`. While that key
lives, the user's lag-tolerant reads go to the replica only once the replica has replayed past
that position (one `pg_last_wal_replay_lsn()` comparison); until then they read the primary.
A replica further behind than `REPLICA_MAX_LAG_S` (checked at most once a second per process)
serves no one: every read goes to the primary until it catches up.

With no `replica` database configured nothing here is active (development, the test suite).
"""

from __future__ import annotations

import contextvars
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"

# GET routes (URL names) whose reads may be a moment behind.
REPLICA_ROUTES = frozenset(
    {
        # feeds
        "feed-for-you",
        "ranking-feed-following",
        "feed-friends",
        "ranking-feed-latest",
        "cameo-posts",
        "user-posts",
        # posts, chains, comments, likes
        "post-detail",
        "post-chain",
        "post-remixes",
        "post-comments",
        "post-likes",
        "comment-replies",
        # profiles and lists of people
        "profile",
        "followers",
        "following",
        "friends",
    }
)


@dataclass
class RequestDbState:
    """What the router knows about the request being served (one per request; the view's
    thread shares this object with the middleware that made it)."""

    replica_ok: bool = False  # this request's reads may go to the replica
    wrote: bool = False  # something was written to the primary
    user_id: int | None = None


_state: contextvars.ContextVar[RequestDbState | None] = contextvars.ContextVar("db_request_state", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def begin_request() -> RequestDbState:
    state = RequestDbState()
    _state.set(state)
    return state


def current_state() -> RequestDbState | None:
    return _state.get()


def read_alias() -> str:
    """The alias a lag-tolerant raw SQL read of the current request should use."""
    state = _state.get()
    if state is None or not state.replica_ok or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return REPLICA


class PrimaryReplicaRouter:
    """settings.DATABASE_ROUTERS when a replica is configured."""

    def db_for_read(self, model, **hints) -> str:
        # Explicit "default", never None: Django would otherwise follow the hinted instance's
        # own database, and an object read from the replica would pull its relations from there
        # outside a replica-ok request.
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        state = _state.get()
        if state is not None:
            state.wrote = True
            state.replica_ok = False  # what follows in this request reads what it wrote
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db: str, app_label: str, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


# --- read-your-writes ---------------------------------------------------------------------


def _ryw_key(user_id: int) -> str:
    return f"ryw:{user_id}"


def record_write(user_id: int) -> None:
    """The user wrote: until the replica has replayed the primary's current WAL position, the
    user's lag-tolerant reads go to the primary. Called after the request's last write."""
    from django.core.cache import cache

    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (lsn,) = cursor.fetchone()
    cache.set(_ryw_key(user_id), lsn, settings.READ_YOUR_WRITES_MAX_S)


_lag = {"checked": 0.0, "ok": True}


def _replica_fresh_enough() -> bool:
    """False while the replica is more than REPLICA_MAX_LAG_S behind (or unreachable)."""
    now = time.monotonic()
    if now - _lag["checked"] < 1.0:
        return _lag["ok"]
    _lag["checked"] = now
    try:
        _lag["ok"] = replica_lag_s() <= settings.REPLICA_MAX_LAG_S
    except Exception as exc:  # the replica is down: the primary serves everything
        logger.warning("replica unavailable, reading from the primary: %s", exc)
        _lag["ok"] = False
        connections[REPLICA].close()
    return _lag["ok"]


def replica_lag_s() -> float:
    """Seconds the replica is behind: 0 when it has replayed all it received, else the age of
    the last transaction it replayed (the usual measure; grows while replay is paused)."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
            " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
        )
        (lag,) = cursor.fetchone()
    return float(lag)


def replica_may_serve(user_id: int | None) -> bool:
    """May a lag-tolerant read for `user_id` (None: anonymous) go to the replica now?"""
    if not _replica_fresh_enough():
        return False
    if user_id is None:
        return True
    from django.core.cache import cache

    lsn = cache.get(_ryw_key(user_id))
    if lsn is None:
        return True
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            (caught_up,) = cursor.fetchone()
    except Exception:
        return False
    return bool(caught_up)


def request_authenticated(request, user) -> None:
    """Called once the request's user is known (users.authentication): a GET of a lag-tolerant
    route may read the replica from here on, unless the user's own recent write is not there yet."""
    state = _state.get()
    if state is None or not replica_configured():
        return
    user_id = user.pk if user is not None and user.is_authenticated else None
    state.user_id = user_id
    if request.method != "GET" or state.wrote:
        return
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name not in REPLICA_ROUTES:
        return
    state.replica_ok = replica_may_serve(user_id)
