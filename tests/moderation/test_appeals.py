"""Appeals: the affected person appeals once; a different moderator decides; overturning restores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from feed.models import Post
from generation.models import Video
from moderation import selectors, services
from moderation.models import Action, Appeal, BannedMediaHash, Case
from sora_social.common.errors import ApplicationError
from sora_social.notifications.models import Notification
from tests.feed.factories import PostFactory
from tests.generation.factories import real_video
from tests.moderation.factories import act, case_of, moderator, report
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def _removed_post(mod=None):
    author = UserFactory()
    post = PostFactory(author=author)
    case = case_of(report(target_type="post", target_id=post.pk, reason="spam"))
    action = act(case, mod or moderator(), "remove", "Looks like spam.")
    return author, post, case, action


def test_the_appeal_flow_over_the_api(client_for):
    first_mod, second_mod = moderator(), moderator()
    author, post, case, action = _removed_post(first_mod)
    author_client = client_for(author)

    # The author finds the decision (from the notification or the list) and appeals it.
    decisions = author_client.get("/api/v1/moderation/decisions").json()["results"]
    assert [(d["id"], d["kind"], d["appealable"]) for d in decisions] == [(action.pk, "remove", True)]
    assert decisions[0]["appeal_url"] == f"/api/v1/moderation/actions/{action.pk}/appeal"
    response = author_client.post(
        f"/api/v1/moderation/actions/{action.pk}/appeal", {"text": "It is my own art, not spam."}, format="json"
    )
    assert response.status_code == 201, response.content
    appeal_id = response.json()["id"]
    assert response.json()["status"] == "pending"
    case.refresh_from_db()
    assert case.status == "appealed" and case.assigned_to_id is None

    # Only once.
    again = author_client.post(f"/api/v1/moderation/actions/{action.pk}/appeal", {"text": "Please!"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_appealed"
    # No other action while the appeal waits.
    with pytest.raises(ApplicationError) as err:
        act(case, second_mod, "ban", "x")
    assert err.value.code == "case_under_appeal"

    # The moderator who removed it may not decide the appeal; another one does.
    same = client_for(first_mod).post(
        f"/api/v1/moderation/appeals/{appeal_id}/decision",
        {"decision": "upheld", "reason": "Still spam."},
        format="json",
    )
    assert same.status_code == 403 and same.json()["error"]["code"] == "same_moderator"
    decided = client_for(second_mod).post(
        f"/api/v1/moderation/appeals/{appeal_id}/decision",
        {"decision": "overturned", "reason": "Original work; not spam."},
        format="json",
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "overturned"

    # Overturned: the post and its video are back, the log shows a restore tied to the appeal.
    post.refresh_from_db()
    assert post.deleted_at is None and Video.objects.get(pk=post.video_id).status == "ready"
    assert client_for(UserFactory()).get(f"/api/v1/posts/{post.pk}").status_code == 200
    restore = Action.objects.get(kind="restore")
    assert restore.reverses_id == action.pk and restore.appeal_id == appeal_id and restore.moderator_id == second_mod.pk
    case.refresh_from_db()
    assert case.status == "closed" and case.closed_at is not None
    latest = Notification.objects.filter(recipient=author, kind="moderation_decision").order_by("-seq").first()
    assert "appeal was granted" in latest.text and latest.data["outcome"] == "overturned"
    after = author_client.get("/api/v1/moderation/decisions").json()["results"]
    removal = next(d for d in after if d["id"] == action.pk)
    assert removal["reversed"] is True and removal["appealable"] is False
    assert removal["appeal"]["status"] == "overturned"


def test_an_upheld_appeal_leaves_the_decision_and_closes_the_case():
    author, post, case, action = _removed_post()
    appeal = services.appeal_create(action_id=action.pk, appellant=author, text="Not spam.")
    services.appeal_decide(appeal=appeal, moderator=moderator(), uphold=True, reason="It is spam.")
    post.refresh_from_db()
    assert post.deleted_at is not None
    assert not Action.objects.filter(kind="restore").exists()
    case.refresh_from_db()
    assert case.status == "closed"
    appeal.refresh_from_db()
    assert appeal.status == "upheld" and appeal.decision_reason == "It is spam."


def test_only_the_affected_person_may_appeal_and_only_what_can_be_appealed(client_for):
    _author, _post, _case, action = _removed_post()
    stranger = client_for(UserFactory())
    response = stranger.post(f"/api/v1/moderation/actions/{action.pk}/appeal", {"text": "x"}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "action_not_found"
    # A dismissal affects nobody and cannot be appealed.
    other = PostFactory()
    dismissed = act(case_of(report(target_type="post", target_id=other.pk)), moderator(), "dismiss", "Fine.")
    with pytest.raises(ApplicationError) as err:
        services.appeal_create(action_id=dismissed.pk, appellant=other.author, text="?")
    assert err.value.code in ("not_appealable", "action_not_found")
    # The database refuses an appeal by someone else, even written directly.
    with pytest.raises(IntegrityError), transaction.atomic():
        Appeal.objects.create(action=action, appellant=UserFactory(), text="Not mine to appeal.")


def test_the_database_keeps_the_deciding_moderator_different():
    mod = moderator()
    author, _post, _case, action = _removed_post(mod)
    appeal = services.appeal_create(action_id=action.pk, appellant=author, text="Please look again.")
    assert appeal.acted_by_id == mod.pk
    # The trigger copies it from the action whatever a write says.
    Appeal.objects.filter(pk=appeal.pk).update(acted_by=None)
    assert Appeal.objects.get(pk=appeal.pk).acted_by_id == mod.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Appeal.objects.filter(pk=appeal.pk).update(
            status="upheld", decided_by=mod, decided_at=timezone.now(), decision_reason="Self-review."
        )
    appeal.refresh_from_db()
    assert appeal.status == "pending"


def test_appeals_close_after_the_window(settings):
    settings.MODERATION_APPEAL_WINDOW_DAYS = 30
    author, _post, _case, action = _removed_post()
    with pytest.MonkeyPatch.context() as patch:
        later = timezone.now() + timedelta(days=31)
        patch.setattr(timezone, "now", lambda: later)
        with pytest.raises(ApplicationError) as err:
            services.appeal_create(action_id=action.pk, appellant=author, text="Late.")
    assert err.value.code == "appeal_window_closed"


def test_a_suspended_person_can_appeal_their_suspension_and_win(client_for):
    author = UserFactory()
    first, second = moderator(), moderator()
    case = case_of(report(target_type="user", target_id=author.pk, reason="harassment"))
    suspension = act(case, first, "suspend", "Harassment.", suspend_days=7)
    author.refresh_from_db()
    assert author.is_suspended
    response = client_for(author).post(
        f"/api/v1/moderation/actions/{suspension.pk}/appeal", {"text": "Wrong account."}, format="json"
    )
    assert response.status_code == 201
    appeal = Appeal.objects.get(pk=response.json()["id"])
    services.appeal_decide(appeal=appeal, moderator=second, uphold=False, reason="Mistaken identity.")
    author.refresh_from_db()
    assert not author.is_suspended and author.is_active


def test_an_overturned_strike_stops_counting_and_an_automatic_suspension_can_be_appealed(settings):
    settings.MODERATION_STRIKES_TO_SUSPEND = 2
    author = UserFactory()
    mod, other = moderator(), moderator()
    strikes = []
    for _ in range(2):
        case = case_of(report(target_type="post", target_id=PostFactory(author=author).pk, reason="hate"))
        strikes.append(act(case, mod, "strike", "Hate."))
    automatic = Action.objects.get(kind="suspend", subject_user=author, moderator__isnull=True)
    author.refresh_from_db()
    assert author.is_suspended and selectors.strikes_active(author) == 2
    appeal = services.appeal_create(action_id=strikes[0].pk, appellant=author, text="Satire.")
    services.appeal_decide(appeal=appeal, moderator=other, uphold=False, reason="It was satire.")
    assert selectors.strikes_active(author) == 1
    # The automatic suspension was nobody's decision: any moderator may decide its appeal.
    appeal = services.appeal_create(action_id=automatic.pk, appellant=author, text="One strike was overturned.")
    assert appeal.acted_by_id is None
    services.appeal_decide(appeal=appeal, moderator=mod, uphold=False, reason="Below the limit now.")
    author.refresh_from_db()
    assert not author.is_suspended


def test_an_overturned_video_removal_takes_its_frames_off_the_banned_list():
    author = UserFactory()
    post = PostFactory(author=author, video=real_video(author, seed=5))
    case = case_of(report(target_type="post", target_id=post.pk, reason="violence"))
    action = act(case, moderator(), "remove", "Gore.")
    assert services.banned_media_add_for_action(action_id=action.pk) > 0
    appeal = services.appeal_create(action_id=action.pk, appellant=author, text="Ketchup, not blood.")
    services.appeal_decide(appeal=appeal, moderator=moderator(), uphold=False, reason="Indeed ketchup.")
    assert not BannedMediaHash.objects.filter(source=f"action:{action.pk}").exists()
    # A hashing task arriving late does nothing for a reversed removal.
    assert services.banned_media_add_for_action(action_id=action.pk) == 0
    assert Post.objects.get(pk=post.pk).deleted_at is None
    assert Case.objects.get(pk=case.pk).status == "closed"
