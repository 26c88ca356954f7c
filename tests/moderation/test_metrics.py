"""Metrics for the dashboard: queue length, time to decision, decisions per moderator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from moderation.models import Case
from tests.feed.factories import PostFactory
from tests.moderation.factories import act, case_of, moderator, report

pytestmark = pytest.mark.django_db


def _case_opened(minutes_ago: float) -> Case:
    case = case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam"))
    Case.objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(minutes=minutes_ago))
    case.refresh_from_db()
    return case


def test_metrics_count_the_queue_time_to_decision_and_decisions_per_moderator(client_for):
    ana, bo = moderator(handle="ana_mod"), moderator(handle="bo_mod")
    # Decided after 10, 20 and 60 minutes (median 20 min = 1200 s).
    for minutes, mod in [(10, ana), (20, ana), (60, bo)]:
        act(_case_opened(minutes), mod, "dismiss", "Fine.")
    waiting = [_case_opened(5), _case_opened(90)]
    appealed_case = _case_opened(30)
    removal = act(appealed_case, bo, "remove", "Spam.")
    from moderation import services

    services.appeal_create(action_id=removal.pk, appellant=removal.subject_user, text="No.")

    body = client_for(ana).get("/api/v1/moderation/metrics", {"period": "day"}).json()
    assert body["queue_length"] == 3
    assert body["queue_by_status"] == {"open": 2, "appealed": 1}
    assert body["queue_by_target_type"] == {"post": 3}
    assert 90 * 60 - 5 <= body["oldest_waiting_s"] <= 90 * 60 + 60
    assert body["cases_decided"] == 4
    # Decision times 10, 20, 30 and 60 minutes: the median is 25 minutes.
    assert abs(body["median_time_to_decision_s"] - 25 * 60) < 30
    assert body["decisions_per_moderator"] == [
        {"moderator_id": ana.pk, "handle": "ana_mod", "decisions": 2, "actions": 2, "appeals": 0},
        {"moderator_id": bo.pk, "handle": "bo_mod", "decisions": 2, "actions": 2, "appeals": 0},
    ]
    # Deciding the appeal is a decision too (its restore action is not counted twice).
    appeal = removal.appeal_made
    services.appeal_decide(appeal=appeal, moderator=ana, uphold=False, reason="Not spam after all.")
    again = client_for(ana).get("/api/v1/moderation/metrics", {"period": "day"}).json()
    assert again["decisions_per_moderator"][0] == {
        "moderator_id": ana.pk,
        "handle": "ana_mod",
        "decisions": 3,
        "actions": 2,
        "appeals": 1,
    }
    assert again["appeals_decided"] == 1 and again["appeals_overturned"] == 1
    assert again["actions_by_kind"] == {"dismiss": 3, "remove": 1, "restore": 1}
    assert body["actions_by_kind"] == {"dismiss": 3, "remove": 1}
    assert len(waiting) == 2

    # A window in the past holds none of today's decisions.
    past = (
        client_for(ana)
        .get(
            "/api/v1/moderation/metrics",
            {
                "since": (timezone.now() - timedelta(days=10)).isoformat(),
                "until": (timezone.now() - timedelta(days=9)).isoformat(),
            },
        )
        .json()
    )
    assert past["cases_decided"] == 0 and past["median_time_to_decision_s"] is None
    assert past["decisions_per_moderator"] == [] and past["queue_length"] == 2  # the queue is "now"


def test_bad_periods_are_refused(client_for):
    client = client_for(moderator())
    assert client.get("/api/v1/moderation/metrics", {"period": "decade"}).json()["error"]["code"] == "invalid_period"
    assert client.get("/api/v1/moderation/metrics", {"since": "yesterday"}).json()["error"]["code"] == "invalid_since"
    impossible = client.get("/api/v1/moderation/metrics", {"until": "2026-13-45T00:00:00"})
    assert impossible.status_code == 400 and impossible.json()["error"]["code"] == "invalid_until"
    now = timezone.now()
    backwards = client.get(
        "/api/v1/moderation/metrics", {"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()}
    )
    assert backwards.status_code == 400
