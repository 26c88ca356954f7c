"""List paths take a fixed number of queries however many rows they show."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.feed.factories import PostFactory
from tests.moderation.factories import act, case_of, moderator, report
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _add_cases(author, mod, n: int) -> None:
    for _ in range(n):
        case = case_of(report(target_type="post", target_id=PostFactory(author=author).pk, reason="spam"))
        act(case, mod, "warn", "Careful.")
        report(target_type="post", target_id=PostFactory(author=author).pk, reason="hate")


def test_queue_decisions_and_console_queue_do_not_grow_with_rows(client_for):
    author, mod = UserFactory(), moderator()
    api_mod, api_author = client_for(mod), client_for(author)
    console = Client()
    console.force_login(mod)
    _add_cases(author, mod, 2)
    # Warm up: a token's first use writes last_used_at, a session's first page loads permissions.
    api_mod.get("/api/v1/moderation/cases")
    api_author.get("/api/v1/moderation/decisions")
    counts_small = (
        _queries(lambda: api_mod.get("/api/v1/moderation/cases")),
        _queries(lambda: api_author.get("/api/v1/moderation/decisions")),
        _queries(lambda: console.get("/console/moderation/case/")),
        _queries(lambda: console.get("/console/moderation/action/")),
    )
    _add_cases(author, mod, 6)
    counts_large = (
        _queries(lambda: api_mod.get("/api/v1/moderation/cases")),
        _queries(lambda: api_author.get("/api/v1/moderation/decisions")),
        _queries(lambda: console.get("/console/moderation/case/")),
        _queries(lambda: console.get("/console/moderation/action/")),
    )
    assert counts_small == counts_large
