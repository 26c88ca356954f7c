"""Whatever a client sends to the moderation API, the answer is a 2xx or a 4xx in the one error
shape, never a 500 (property-based, with hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.feed.factories import PostFactory
from tests.moderation.factories import case_of, clear_report_throttle, moderator, report
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
target_types = st.one_of(st.sampled_from(["post", "comment", "user", "video", "cameo"]), junk)
reasons = st.one_of(st.sampled_from(["spam", "not_me_without_consent", "machine_flag", "violence"]), junk)
kinds = st.one_of(
    st.sampled_from(["remove", "restore", "age_restrict", "warn", "strike", "suspend", "ban", "dismiss"]), junk
)


def _assert_clean(response) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]


@pytest.fixture
def world(client_for, settings):
    settings.MODERATION_REPORT_RATE = "100000/hour"
    post = PostFactory()
    reporter = UserFactory()
    clear_report_throttle(reporter)
    case = case_of(report(target_type="post", target_id=post.pk, reason="spam"))
    return {
        "post": post,
        "case": case,
        "reporter": client_for(reporter),
        "moderator": client_for(moderator()),
    }


@FUZZ
@given(target_type=target_types, target_id=junk, reason=reasons, text=junk)
def test_report_payloads(world, target_type, target_id, reason, text):
    payload = {"target_type": target_type, "target_id": target_id, "reason": reason, "text": text}
    _assert_clean(world["reporter"].post("/api/v1/reports", payload, format="json"))


@FUZZ
@given(kind=kinds, reason=junk, days=junk, keep=junk)
def test_action_payloads(world, kind, reason, days, keep):
    payload = {"kind": kind, "reason": reason, "suspend_days": days, "keep_video": keep}
    url = f"/api/v1/moderation/cases/{world['case'].pk}/actions"
    _assert_clean(world["moderator"].post(url, payload, format="json"))


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["period", "since", "until", "status", "target_type", "reason", "limit", "mine"]),
        st.text(max_size=30),
        max_size=4,
    )
)
def test_moderator_query_params(world, params):
    _assert_clean(world["moderator"].get("/api/v1/moderation/metrics", params))
    _assert_clean(world["moderator"].get("/api/v1/moderation/cases", params))
    _assert_clean(world["reporter"].get("/api/v1/reports", params))


@FUZZ
@given(text=junk, action_id=st.integers(min_value=1, max_value=2**40))
def test_appeal_payloads(world, client_for, text, action_id):
    client = client_for(world["post"].author)
    _assert_clean(client.post(f"/api/v1/moderation/actions/{action_id}/appeal", {"text": text}, format="json"))
