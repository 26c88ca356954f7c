"""The primary/replica router (sora_social/common/db_router.py), in process.

Here the `replica` alias is a second connection to the test database itself, so what is
checked is where each query goes, not replication: a stand-in replica reports no replay
position (`pg_last_wal_replay_lsn()` is NULL on a primary), so a user with a recorded write
never counts as caught up here, exactly the case of a replica that has not replayed it.
The real streaming replica, replay paused, is in tests/cluster/.
"""

from __future__ import annotations

import copy

import pytest
from django.core.cache import cache
from django.db import connections
from django.test.utils import CaptureQueriesContext, override_settings

from sora_social.common import db_router
from tests.users.factories import UserFactory

ROUTED = {
    "DATABASE_ROUTERS": ["sora_social.common.db_router.PrimaryReplicaRouter"],
    "READ_YOUR_WRITES_MAX_S": 60,
    "REPLICA_MAX_LAG_S": 30.0,
}


# The alias must exist before the test database is set up (then Django points the mirror at
# it) and before a test class lists it in `databases`: so at import, as settings would have it.
if db_router.REPLICA not in connections.settings:
    _alias = copy.deepcopy(connections.settings["default"])
    _alias["TEST"] = {**_alias.get("TEST", {}), "MIRROR": "default"}
    connections.settings[db_router.REPLICA] = _alias

BOTH = ["default", db_router.REPLICA]


@pytest.fixture
def replica(settings):
    """The router and its middleware on, over a `replica` alias (a second connection)."""
    assert db_router.replica_configured()
    middleware = ["sora_social.common.middleware.DatabaseRoutingMiddleware", *settings.MIDDLEWARE]
    db_router._lag["checked"] = 0.0
    with override_settings(MIDDLEWARE=middleware, **ROUTED):
        yield connections[db_router.REPLICA]
    connections[db_router.REPLICA].close()


def _queries(connection):
    return CaptureQueriesContext(connection)


def _signed_in(client_for, user):
    """A client whose token has been used once (its first use writes last_used_at, which pins
    the user to the primary like any write): the pin is dropped so tests start unpinned."""
    client = client_for(user)
    assert client.get("/api/v1/me").status_code == 200
    cache.delete(f"ryw:{user.pk}")
    return client


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_lag_tolerant_gets_read_the_replica_and_writes_stay_on_the_primary(replica, client_for):
    viewer, author = UserFactory(), UserFactory()
    client = _signed_in(client_for, viewer)

    with _queries(replica) as on_replica, _queries(connections["default"]) as on_primary:
        response = client.get(f"/api/v1/users/{author.handle}")
    assert response.status_code == 200, response.content
    assert response.json()["handle"] == author.handle
    # The token lookup reads the primary (a token minted a moment ago must work); the profile
    # itself is read from the replica.
    assert any("users_authtoken" in q["sql"] for q in on_primary.captured_queries)
    assert any("users_user" in q["sql"] for q in on_replica.captured_queries)
    assert not any("users_authtoken" in q["sql"] for q in on_replica.captured_queries)

    # A route not on the list (the viewer's own account) reads the primary only.
    with _queries(replica) as on_replica:
        assert client.get("/api/v1/me").status_code == 200
    assert on_replica.captured_queries == []


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_a_users_own_write_is_read_back_from_the_primary(replica, client_for):
    viewer, author = UserFactory(), UserFactory()
    client = _signed_in(client_for, viewer)

    response = client.post(f"/api/v1/users/{author.handle}/follow")
    assert response.status_code == 204, response.content
    # The write recorded the primary's WAL position for the writer, not for anyone else.
    assert cache.get(f"ryw:{viewer.pk}")
    assert cache.get(f"ryw:{author.pk}") is None

    # The replica has not replayed that position: the writer's lag-tolerant reads go to the
    # primary and see the follow.
    with _queries(replica) as on_replica:
        following = client.get(f"/api/v1/users/{viewer.handle}/following")
    assert following.status_code == 200
    assert [row["user"]["handle"] for row in following.json()["results"]] == [author.handle]
    assert on_replica.captured_queries == [q for q in on_replica.captured_queries if "pg_last_wal" in q["sql"]]

    # Someone who did not write reads the replica.
    other = _signed_in(client_for, UserFactory())
    with _queries(replica) as on_replica:
        assert other.get(f"/api/v1/users/{viewer.handle}/following").status_code == 200
    assert any("users_follow" in q["sql"] for q in on_replica.captured_queries)

    # Once the pin expires, the writer reads the replica again.
    cache.delete(f"ryw:{viewer.pk}")
    with _queries(replica) as on_replica:
        assert client.get(f"/api/v1/users/{viewer.handle}/following").status_code == 200
    assert any("users_follow" in q["sql"] for q in on_replica.captured_queries)


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_a_replica_too_far_behind_serves_nobody(replica, client_for, monkeypatch):
    viewer, author = UserFactory(), UserFactory()
    client = _signed_in(client_for, viewer)
    monkeypatch.setattr(db_router, "replica_lag_s", lambda: 120.0)
    db_router._lag["checked"] = 0.0
    with _queries(replica) as on_replica:
        assert client.get(f"/api/v1/users/{author.handle}").status_code == 200
    assert on_replica.captured_queries == []


def test_router_outside_a_request_and_inside_a_transaction_uses_the_primary():
    router = db_router.PrimaryReplicaRouter()
    assert router.db_for_read(None) == "default"
    state = db_router.begin_request()
    try:
        state.replica_ok = True
        assert router.db_for_read(None) == db_router.REPLICA
        assert router.db_for_write(None) == "default"
        assert state.wrote and not state.replica_ok  # reads after a write see it
        assert router.db_for_read(None) == "default"
        assert router.allow_migrate(db_router.REPLICA, "users") is False
    finally:
        db_router._state.set(None)
