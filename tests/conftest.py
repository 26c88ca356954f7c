"""Fixtures shared by every app's tests: API clients with real bearer tokens, live servers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from sora_social.demo.database import database_url_with_name
from sora_social.demo.stack import LiveStack
from sora_social.users.services import token_issue
from tests.schema_responses import SchemaCheckedAPIClient
from tests.users.factories import UserFactory

ROOT = Path(__file__).resolve().parents[1]
_RUN_LOCK_PATH = Path(os.environ.get("SORA_TEST_LOCK_FILE", "/tmp/sora_social-pytest.lock"))
_run_lock = None


def _flush_retrying_on_deadlock() -> None:
    """Between transactional tests pytest-django TRUNCATEs every table. A live stack's Celery
    worker may still be finishing a task the test queued (a post's embedding, say), holding a
    lock the TRUNCATE wants while waiting for one it holds: PostgreSQL then kills one side with
    "deadlock detected". The worker's task is disposable once its test is over; the flush is not,
    so it is retried."""
    import time

    from django.db.backends.postgresql.operations import DatabaseOperations
    from psycopg import errors

    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        for attempt in range(5):
            try:
                return flush(self, sql_list)
            except Exception as exc:  # Django wraps psycopg's error in its own OperationalError
                if not isinstance(exc.__cause__, errors.DeadlockDetected) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    DatabaseOperations.execute_sql_flush = execute_sql_flush


def pytest_configure(config) -> None:
    """One test run at a time per machine: runs share the test database and Redis namespace,
    and a second run would flush or drop tables under the first one's feet."""
    global _run_lock
    _flush_retrying_on_deadlock()
    if os.environ.get("SORA_TEST_LOCK", "1") == "0":
        return
    import fcntl

    _run_lock = open(_RUN_LOCK_PATH, "w")  # held for the whole session
    try:
        fcntl.flock(_run_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"[tests] another test run holds {_RUN_LOCK_PATH}; waiting for it to finish ...", flush=True)
        fcntl.flock(_run_lock, fcntl.LOCK_EX)


def pytest_unconfigure(config) -> None:
    global _run_lock
    if _run_lock is not None:
        _run_lock.close()
        _run_lock = None


@pytest.fixture
def anon_client() -> APIClient:
    return SchemaCheckedAPIClient()


@pytest.fixture
def client_for(db):
    """client_for(user) -> an APIClient that sends that user's fresh bearer token."""

    def make(user) -> APIClient:
        _, secret = token_issue(user=user, name="pytest")
        client = SchemaCheckedAPIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        client.token_secret = secret
        return client

    return make


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def api(client_for, user) -> APIClient:
    return client_for(user)


@pytest.fixture(scope="session")
def live_stack(django_db_setup, django_db_blocker):
    """One server + workers for the whole e2e session, pointed at pytest's test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sora_social.settings_test",
        "DATABASE_URL": database_url_with_name(settings.DATABASE_URL, settings.DATABASES["default"]["NAME"]),
        "REDIS_KEY_PREFIX": os.environ.get("REDIS_KEY_PREFIX", "sora-test"),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    stack = LiveStack(env, log_dir=ROOT / "var" / "e2e-logs", beat=False)
    stack.start()
    yield stack
    stack.stop()
