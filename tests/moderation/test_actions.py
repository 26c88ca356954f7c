"""Actions: what each does through the owning app, who is told, the append-only audit log,
strikes turning into a suspension, and the machine-flagged case path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from feed.models import Post
from generation import ports as generation_ports
from generation.models import Video
from moderation import selectors, services
from moderation.models import Action, AppendOnlyError, BannedMediaHash, Case
from moderation.policy.services import media_check
from sora_social.common.errors import ApplicationError
from sora_social.notifications.models import Notification
from sora_social.users.models import User
from tests.feed.factories import CommentFactory, PostFactory, remix_chain
from tests.generation.factories import real_video
from tests.moderation.factories import act, case_of, moderator, report
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def _decisions(user: User) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind="moderation_decision").order_by("seq"))


def test_remove_takes_a_post_out_of_every_feed_chain_and_notification(client_for):
    root, post, child = remix_chain(3)
    viewer = UserFactory()
    liker = UserFactory()
    from feed.services import like_create

    like_create(user=liker, post_id=post.pk)
    assert Notification.objects.filter(target_type="post", target_id=post.pk, hidden_at__isnull=True).exists()
    reporter = UserFactory()
    case = case_of(report(reporter=reporter, target_type="post", target_id=post.pk, reason="violence"))
    mod = moderator()

    action = act(case, mod, "remove", "Graphic violence.")

    client = client_for(viewer)
    assert client.get(f"/api/v1/posts/{post.pk}").status_code == 404
    latest = client.get("/api/v1/feed/latest").json()["results"]
    assert post.pk not in [p["id"] for p in latest] and root.pk in [p["id"] for p in latest]
    chain = client.get(f"/api/v1/posts/{child.pk}/chain").json()["results"]
    assert chain[0]["id"] == post.pk and chain[0]["available"] is False and chain[0]["post"] is None
    assert not Notification.objects.filter(target_type="post", target_id=post.pk, hidden_at__isnull=True).exists()
    # The video is taken down too (the post's content is its video), and so stops playing.
    assert Video.objects.get(pk=post.video_id).status == "taken_down"
    assert action.details == {
        "post_removed": True,
        "video_id": post.video_id,
        "video_taken_down": True,
        "category": "violence",  # what the case was about (no preset chosen), for the metrics
    }

    # The audit log holds who, what, why and the post as it was.
    logged = Action.objects.get(case=case)
    assert (logged.kind, logged.moderator_id, logged.reason) == ("remove", mod.pk, "Graphic violence.")
    assert logged.subject_user_id == post.author_id
    assert logged.snapshot["caption"] == post.caption and logged.snapshot["deleted_at"] is None

    # The author is told why and how to appeal; the reporter hears the outcome.
    [told] = _decisions(post.author)
    assert told.hidden_at is None and told.target_type == "moderation_action" and told.target_id == action.pk
    assert "We removed your post: Graphic violence." in told.text and "appeal" in told.text
    assert told.data["appeal_url"] == f"/api/v1/moderation/actions/{action.pk}/appeal"
    [heard] = _decisions(reporter)
    assert heard.data["outcome"] == "removed" and "removed it" in heard.text
    case.refresh_from_db()
    assert case.status == "decided" and case.decided_at is not None and case.assigned_to_id == mod.pk
    assert case.reports.get().status == "resolved"


def test_keep_video_removes_only_the_post():
    post = PostFactory()
    case = case_of(report(target_type="post", target_id=post.pk, reason="harassment"))
    act(case, moderator(), "remove", "The caption insults someone.", keep_video=True)
    post.refresh_from_db()
    assert post.deleted_at is not None and post.delete_kind == "moderation"
    assert Video.objects.get(pk=post.video_id).status == "ready"


def test_a_reason_is_required_and_actions_must_fit_the_target():
    post = PostFactory()
    case = case_of(report(target_type="post", target_id=post.pk))
    mod = moderator()
    with pytest.raises(ApplicationError) as err:
        act(case, mod, "remove", "   ")
    assert err.value.code == "reason_required"
    user_case = case_of(report(target_type="user", target_id=post.author_id, reason="spam"))
    with pytest.raises(ApplicationError) as err:
        act(user_case, mod, "remove")
    assert err.value.code == "action_not_allowed"
    assert not Action.objects.exists()
    assert Post.objects.get(pk=post.pk).deleted_at is None


def test_normal_users_and_plain_staff_cannot_act():
    post = PostFactory()
    case = case_of(report(target_type="post", target_id=post.pk))
    for user in (UserFactory(), UserFactory(is_staff=True)):
        with pytest.raises(ApplicationError) as err:
            act(case, user, "remove")
        assert err.value.status_code == 403 and err.value.code == "not_a_moderator"


def test_a_moderator_cannot_decide_about_themselves_or_discipline_staff():
    mod = moderator()
    own = case_of(report(target_type="post", target_id=PostFactory(author=mod).pk))
    with pytest.raises(ApplicationError) as err:
        act(own, mod, "warn")
    assert err.value.code == "own_case"
    colleague = moderator()
    about_staff = case_of(report(target_type="user", target_id=colleague.pk, reason="harassment"))
    with pytest.raises(ApplicationError) as err:
        act(about_staff, mod, "ban")
    assert err.value.code == "subject_is_staff"
    assert User.objects.get(pk=colleague.pk).is_active


def test_the_audit_log_is_append_only_in_python_and_in_the_database():
    case = case_of(report(target_type="post", target_id=PostFactory().pk))
    action = act(case, moderator(), "warn", "Mind the rules.")
    with pytest.raises(AppendOnlyError):
        action.reason = "rewritten"
        action.save()
    with pytest.raises(AppendOnlyError):
        action.delete()
    with pytest.raises(AppendOnlyError):
        Action.objects.filter(pk=action.pk).update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        Action.objects.filter(pk=action.pk).delete()
    # Even raw SQL: the trigger refuses.
    for sql in (
        "UPDATE moderation_action SET reason = 'rewritten' WHERE id = %s",
        "DELETE FROM moderation_action WHERE id = %s",
    ):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [action.pk])
    assert Action.objects.get(pk=action.pk).reason == "Mind the rules."
    # A blank reason is refused by the database too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Action.objects.create(case=case, kind="warn", reason="  ", target_type="post", target_id=1)


def test_strikes_turn_into_an_automatic_suspension(settings):
    settings.MODERATION_STRIKES_TO_SUSPEND = 3
    settings.MODERATION_STRIKE_SUSPENSION_DAYS = 5
    author = UserFactory()
    mod = moderator()
    posts = [PostFactory(author=author) for _ in range(3)]
    for number, post in enumerate(posts, start=1):
        case = case_of(report(target_type="post", target_id=post.pk, reason="hate"))
        act(case, mod, "strike", f"Hateful caption #{number}.")
        author.refresh_from_db()
        if number < 3:
            assert not author.is_suspended
    assert author.is_suspended
    assert timedelta(days=4, hours=23) < author.suspended_until - timezone.now() <= timedelta(days=5)
    automatic = Action.objects.get(kind="suspend", subject_user=author)
    assert automatic.moderator is None and automatic.details["automatic"] is True
    assert automatic.details["strikes"] == 3
    texts = [n.text for n in _decisions(author)]
    assert any("(1 of 3 before a suspension)" in t for t in texts)
    assert any("(2 of 3 before a suspension)" in t for t in texts)
    assert any("suspended until" in t for t in texts)
    assert selectors.strikes_active(author) == 3


def test_old_strikes_stop_counting(settings):
    settings.MODERATION_STRIKE_WINDOW_DAYS = 90
    author = UserFactory()
    case = case_of(report(target_type="user", target_id=author.pk, reason="spam"))
    act(case, moderator(), "strike", "Spam.")
    assert selectors.strikes_active(author) == 1
    settings.MODERATION_STRIKE_WINDOW_DAYS = 0
    assert selectors.strikes_active(author) == 0


def test_suspend_ban_and_restore_an_account(client_for):
    author = UserFactory()
    mod = moderator()
    case = case_of(report(target_type="user", target_id=author.pk, reason="harassment"))
    suspended = act(case, mod, "suspend", "Repeated harassment.", suspend_days=3)
    author.refresh_from_db()
    assert author.is_suspended and suspended.details["days"] == 3
    act(case, mod, "ban", "Kept going.")
    author.refresh_from_db()
    assert not author.is_active
    restored = act(case, mod, "restore", "Ban was a mistake.")
    author.refresh_from_db()
    assert author.is_active and restored.reverses.kind == "ban"
    assert [a.kind for a in Action.objects.filter(case=case).order_by("pk")] == ["suspend", "ban", "restore"]


def test_restore_undoes_a_removal_and_needs_one():
    post = PostFactory()
    case = case_of(report(target_type="post", target_id=post.pk))
    mod = moderator()
    with pytest.raises(ApplicationError) as err:
        act(case, mod, "restore", "Nothing to restore yet.")
    assert err.value.code == "nothing_to_restore"
    removal = act(case, mod, "remove", "Spam.")
    act(case, mod, "restore", "Second look: it is fine.")
    post.refresh_from_db()
    assert post.deleted_at is None and Video.objects.get(pk=post.video_id).status == "ready"
    assert Action.objects.get(kind="restore").reverses_id == removal.pk


def test_comment_removal_and_dismissal_tell_the_right_people():
    comment = CommentFactory()
    reporter = UserFactory()
    case = case_of(report(reporter=reporter, target_type="comment", target_id=comment.pk, reason="harassment"))
    act(case, moderator(), "remove", "Insult.")
    comment.refresh_from_db()
    assert comment.deleted_at is not None and comment.delete_kind == "moderation"
    assert "We removed your comment: Insult." in _decisions(comment.author)[0].text

    other = PostFactory()
    dismisser = UserFactory()
    case = case_of(report(reporter=dismisser, target_type="post", target_id=other.pk, reason="spam"))
    act(case, moderator(), "dismiss", "Not spam: a normal post.")
    assert _decisions(other.author) == []  # nothing against them, nothing to tell
    [heard] = _decisions(dismisser)
    assert heard.data["outcome"] == "no_violation"
    case.refresh_from_db()
    assert case.status == "decided"
    with pytest.raises(ApplicationError) as err:
        act(case, moderator(), "dismiss", "Again.")
    assert err.value.code == "already_decided"


def test_a_new_report_after_a_decision_opens_a_new_case():
    post = PostFactory()
    first = case_of(report(target_type="post", target_id=post.pk, reason="spam"))
    act(first, moderator(), "dismiss", "Fine.")
    second = case_of(report(target_type="post", target_id=post.pk, reason="hate"))
    assert second.pk != first.pk and second.status == "open"


def test_age_restrict_is_recorded_and_says_whether_feed_enforces_it():
    from moderation.targets import age_restrict_service

    post = PostFactory()
    case = case_of(report(target_type="post", target_id=post.pk, reason="sexual"))
    action = act(case, moderator(), "age_restrict", "Suggestive; adults only.")
    assert action.details["post_ids"] == [post.pk]
    assert action.details["enforced"] is (age_restrict_service() is not None)
    assert "is now shown only to adults" in _decisions(post.author)[0].text


def test_removing_a_video_bans_its_frames_so_a_copy_is_blocked():
    author = UserFactory()
    video = real_video(author, seconds=1.0, seed=11)
    post = PostFactory(author=author, video=video)
    case = case_of(report(target_type="post", target_id=post.pk, reason="violence"))
    action = act(case, moderator(), "remove", "Gore.")
    # The hashing runs in a task after commit; here it is called directly, as the worker does.
    added = services.banned_media_add_for_action(action_id=action.pk)
    assert added > 0
    assert BannedMediaHash.objects.filter(source=f"action:{action.pk}").count() == added
    from generation.media import decode_mp4
    from tests.generation.factories import clip_bytes

    copy = decode_mp4(clip_bytes(seconds=1.0, seed=11))
    assert media_check(copy).blocked
    assert media_check(decode_mp4(clip_bytes(seconds=1.0, seed=99))).allowed


def test_a_policy_flag_opens_a_machine_case_through_the_generation_port():
    from moderation.handlers import policy_review

    assert policy_review in generation_ports.policy_review_handlers()
    creator = UserFactory()
    video = real_video(creator)
    verdict = {"decision": "review", "layer": "classifier", "code": "violence", "category": "violence"}
    for handler in generation_ports.policy_review_handlers():
        handler(video_id=video.pk, creator_id=creator.pk, job_id=41, policy={"prompt": verdict})
    case = Case.objects.get(target_type="video", target_id=video.pk)
    assert case.source == "machine" and case.top_reason == "machine_flag" and case.subject_user_id == creator.pk
    assert case.flags["verdicts"]["prompt"]["category"] == "violence" and case.flags["job_ids"] == [41]
    assert case.priority == 60  # violence severity, one "reporter"
    # Idempotent per job, and user reports join the same case.
    policy_review(video_id=video.pk, creator_id=creator.pk, job_id=41, policy={"prompt": verdict})
    assert Case.objects.filter(target_type="video", target_id=video.pk).count() == 1
    case.refresh_from_db()
    assert case.flags["job_ids"] == [41]
    # A moderator removes it: the draft is taken down for good.
    act(case, moderator(), "remove", "Violent.")
    assert Video.objects.get(pk=video.pk).status == "taken_down"
