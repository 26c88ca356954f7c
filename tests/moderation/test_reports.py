"""Reports: who may report what, grouping into one case per object, and the queue's priority."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feed.models import Visibility
from moderation import selectors
from moderation.models import Case, CaseSource, Report
from moderation.priority import TOP, case_priority
from tests.cameos.factories import CameoFactory
from tests.feed.factories import CommentFactory, PostFactory
from tests.moderation.factories import clear_report_throttle, report
from tests.users.factories import BlockFactory, UserFactory

pytestmark = pytest.mark.django_db


def _post_report(client, post_id: int, reason: str = "spam", text: str = ""):
    return client.post(
        "/api/v1/reports",
        {"target_type": "post", "target_id": post_id, "reason": reason, "text": text},
        format="json",
    )


def test_a_report_opens_a_case_and_the_reporter_sees_it(client_for):
    post = PostFactory()
    reporter = UserFactory()
    clear_report_throttle(reporter)
    client = client_for(reporter)
    response = _post_report(client, post.pk, "harassment", "  mocks my   friend ")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["target_type"] == "post" and body["target_id"] == post.pk
    assert body["reason"] == "harassment" and body["status"] == "open" and body["outcome"] == ""
    assert body["text"] == "mocks my friend"
    case = Case.objects.get(target_type="post", target_id=post.pk)
    assert case.status == "open" and case.subject_user_id == post.author_id and case.reporter_count == 1
    assert case.top_reason == "harassment" and case.source == CaseSource.REPORTS

    mine = client.get("/api/v1/reports").json()
    assert [r["id"] for r in mine["results"]] == [body["id"]]
    assert client_for(UserFactory()).get("/api/v1/reports").json()["results"] == []


def test_reports_on_one_object_group_into_one_case_and_raise_its_priority():
    post = PostFactory()
    first = report(target_type="post", target_id=post.pk, reason="spam")
    case = Case.objects.get(pk=first.case_id)
    priorities = [case.priority]
    for _ in range(3):
        report(target_type="post", target_id=post.pk, reason="spam")
        case.refresh_from_db()
        priorities.append(case.priority)
    assert Case.objects.filter(target_type="post", target_id=post.pk).count() == 1
    assert case.reporter_count == 4 and Report.objects.filter(case=case).count() == 4
    assert priorities == sorted(priorities) and priorities[-1] > priorities[0]
    assert priorities == [case_priority(reasons=["spam"] * n, distinct_reporters=n) for n in (1, 2, 3, 4)]

    # A worse reason lifts it again, and becomes the case's top reason.
    report(target_type="post", target_id=post.pk, reason="violence")
    case.refresh_from_db()
    assert case.top_reason == "violence" and case.priority > priorities[-1]


def test_this_is_me_without_my_consent_jumps_the_queue():
    # A pile-up of serious reports, waiting a long time ...
    crowded = PostFactory()
    for _ in range(30):
        report(target_type="post", target_id=crowded.pk, reason="child_safety")
    Case.objects.filter(target_type="post", target_id=crowded.pk).update(opened_at=timezone.now() - timedelta(days=3))
    spam = PostFactory()
    report(target_type="post", target_id=spam.pk, reason="spam")
    # ... and one fresh cameo-misuse report from the person whose likeness it is.
    cameo = CameoFactory()
    victim = UserFactory()
    misuse = PostFactory()
    report(reporter=victim, target_type="post", target_id=misuse.pk, reason="not_me_without_consent")
    also = report(target_type="cameo", target_id=cameo.pk, reason="not_me_without_consent")

    queue = list(selectors.case_queue())
    top = {(c.target_type, c.target_id) for c in queue[:2]}
    assert top == {("post", misuse.pk), ("cameo", also.target_id)}
    assert all(c.priority >= TOP for c in queue[:2])
    assert (queue[2].target_type, queue[2].target_id) == ("post", crowded.pk)
    assert queue[-1].target_id == spam.pk
    # The age bonus is capped: three days of waiting still cannot reach the top tier.
    assert queue[2].queue_score < TOP


def test_not_me_is_only_for_things_that_can_show_a_likeness(client_for):
    comment = CommentFactory()
    reporter = UserFactory()
    clear_report_throttle(reporter)
    response = client_for(reporter).post(
        "/api/v1/reports",
        {"target_type": "comment", "target_id": comment.pk, "reason": "not_me_without_consent"},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_reason"
    assert not Report.objects.exists()


def test_reporters_can_only_report_what_they_can_see(client_for):
    author = UserFactory()
    private = PostFactory(author=author, visibility=Visibility.PRIVATE)
    public = PostFactory(author=author)
    stranger = UserFactory()
    blocked = UserFactory()
    BlockFactory(blocker=author, blocked=blocked)
    clear_report_throttle(stranger, blocked)
    refused = _post_report(client_for(stranger), private.pk)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "post_not_found"
    assert _post_report(client_for(blocked), public.pk).status_code == 404
    missing = _post_report(client_for(stranger), 10**9)
    assert missing.status_code == 404
    assert not Case.objects.exists()
    # An account can be reported even by someone it blocked (harassment victims block first).
    response = client_for(blocked).post(
        "/api/v1/reports", {"target_type": "user", "target_id": author.pk, "reason": "harassment"}, format="json"
    )
    assert response.status_code == 201


def test_one_open_report_per_reporter_and_object_and_not_your_own(client_for):
    post = PostFactory()
    reporter = UserFactory()
    clear_report_throttle(reporter, post.author)
    client = client_for(reporter)
    assert _post_report(client, post.pk).status_code == 201
    again = _post_report(client, post.pk, "violence")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reported"
    own = _post_report(client_for(post.author), post.pk)
    assert own.status_code == 422 and own.json()["error"]["code"] == "cannot_report_own"
    assert Report.objects.count() == 1


def test_reports_are_rate_limited(client_for, settings):
    settings.MODERATION_REPORT_RATE = "3/hour"
    reporter = UserFactory()
    clear_report_throttle(reporter)
    client = client_for(reporter)
    posts = [PostFactory() for _ in range(4)]
    codes = [_post_report(client, p.pk).status_code for p in posts]
    assert codes == [201, 201, 201, 429]
    limited = _post_report(client, posts[-1].pk).json()
    assert limited["error"]["code"] == "throttled" and limited["error"]["retry_after_s"] > 0
    assert client.get("/api/v1/reports").status_code == 200  # reading is not limited
    clear_report_throttle(reporter)


def test_a_suspended_account_cannot_report(client_for):
    post = PostFactory()
    reporter = UserFactory(suspended_until=timezone.now() + timedelta(days=1))
    clear_report_throttle(reporter)
    response = _post_report(client_for(reporter), post.pk)
    assert response.status_code == 403 and response.json()["error"]["code"] == "account_suspended"


def test_every_target_type_resolves_to_the_person_it_is_about(client_for):
    from tests.generation.factories import VideoFactory

    author = UserFactory()
    comment = CommentFactory(author=author)
    video = VideoFactory(created_by=author)
    PostFactory(author=author, video=video)
    cameo = CameoFactory(owner=author, audience="everyone")
    reporter = UserFactory()
    clear_report_throttle(reporter)
    client = client_for(reporter)
    for target_type, target_id in [
        ("comment", comment.pk),
        ("video", video.pk),
        ("cameo", cameo.pk),
        ("user", author.pk),
    ]:
        response = client.post(
            "/api/v1/reports",
            {"target_type": target_type, "target_id": target_id, "reason": "impersonation"},
            format="json",
        )
        assert response.status_code == 201, (target_type, response.content)
        assert Case.objects.get(target_type=target_type, target_id=target_id).subject_user_id == author.pk
