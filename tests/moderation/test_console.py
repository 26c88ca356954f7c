"""The console pages with a moderator's session: queue order and filters, the case page's
evidence side by side, the inline video stream, one-click actions, bulk actions, appeals."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generation.models import GenerationJob, Video
from moderation.models import Action, Case
from tests.feed.factories import PostFactory
from tests.generation.factories import real_video
from tests.moderation.factories import act, case_of, moderator, report
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/console/moderation/case/"


def _console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _case_ids_in_page(html: str) -> list[int]:
    return [int(x) for x in re.findall(r"/console/moderation/case/(\d+)/change/", html)]


def test_the_queue_lists_waiting_cases_by_priority_then_age():
    spam_old = case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam"))
    Case.objects.filter(pk=spam_old.pk).update(opened_at=timezone.now() - timedelta(hours=5))
    spam_new = case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam"))
    violent = case_of(report(target_type="post", target_id=PostFactory().pk, reason="violence"))
    likeness = case_of(report(target_type="post", target_id=PostFactory().pk, reason="not_me_without_consent"))
    done = case_of(report(target_type="post", target_id=PostFactory().pk, reason="hate"))
    mod = moderator()
    act(done, mod, "dismiss", "Fine.")

    page = _console(mod).get(QUEUE)
    assert page.status_code == 200
    ids = list(dict.fromkeys(_case_ids_in_page(page.content.decode())))
    assert ids == [likeness.pk, violent.pk, spam_old.pk, spam_new.pk]

    everything = _console(mod).get(QUEUE, {"status": "all"}).content.decode()
    assert done.pk in _case_ids_in_page(everything)
    filtered = _console(mod).get(QUEUE, {"reason": "violence"}).content.decode()
    assert list(dict.fromkeys(_case_ids_in_page(filtered))) == [violent.pk]
    typed = _console(mod).get(QUEUE, {"target_type": "user"}).content.decode()
    assert _case_ids_in_page(typed) == []
    searched = _console(mod).get(QUEUE, {"q": likeness.subject_user.handle}).content.decode()
    assert list(dict.fromkeys(_case_ids_in_page(searched))) == [likeness.pk]


def test_the_case_page_shows_video_prompt_cameos_reports_and_history_side_by_side():
    from tests.cameos.factories import CameoFactory

    author = UserFactory()
    video = real_video(author)
    job = GenerationJob.objects.create(
        user=author,
        prompt="a knight juggling flaming swords",
        seed=3,
        seconds=4,
        width=720,
        height=1280,
        backend="embedded",
        model="tiny",
        status="succeeded",
        result_video=video,
        policy={"prompt": {"decision": "review", "layer": "classifier", "code": "violence", "reasons": ["knives"]}},
    )
    cameo = CameoFactory(owner=author, display_name="Sir Ava")
    job.job_cameos.create(cameo=cameo, position=0)
    post = PostFactory(author=author, video=video)
    earlier = case_of(report(target_type="post", target_id=PostFactory(author=author).pk, reason="spam"))
    mod = moderator()
    act(earlier, mod, "strike", "Spam links.")
    case = case_of(report(target_type="post", target_id=post.pk, reason="violence", text="swords on fire!"))

    page = _console(mod).get(reverse("admin:moderation_case_change", args=[case.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    video_url = reverse("admin:moderation_case_video", args=[case.pk])
    assert f'<video id="case-video" src="{video_url}"' in html
    assert "a knight juggling flaming swords" in html and "knives" in html
    assert "Sir Ava" in html
    assert "swords on fire!" in html
    assert "Live strikes: <strong>1</strong>" in html and "Spam links." in html
    for kind in ("remove", "age_restrict", "warn", "strike", "suspend", "ban", "dismiss"):
        assert f'data-action="{kind}"' in html
    # Nothing was removed, so there is nothing to restore.
    assert 'data-action="restore"' not in html


def test_the_video_plays_for_moderators_only_with_byte_ranges(client_for):
    author = UserFactory()
    video = real_video(author)
    post = PostFactory(author=author, video=video)
    case = case_of(report(target_type="post", target_id=post.pk, reason="violence"))
    url = reverse("admin:moderation_case_video", args=[case.pk])
    mod_client = _console(moderator())
    full = mod_client.get(url)
    assert full.status_code == 200 and full["Content-Type"] == "video/mp4"
    data = b"".join(full.streaming_content)
    assert len(data) == video.size_bytes and data[4:8] == b"ftyp"
    part = mod_client.get(url, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 0-99/{video.size_bytes}"
    assert b"".join(part.streaming_content) == data[:100]
    tail = mod_client.get(url, HTTP_RANGE="bytes=-10")
    assert b"".join(tail.streaming_content) == data[-10:]
    assert mod_client.get(url, HTTP_RANGE=f"bytes={video.size_bytes + 5}-").status_code == 416
    # Still playable once taken down (appeals are reviewed on what was removed).
    act(case, moderator(), "remove", "Gore.")
    assert Video.objects.get(pk=video.pk).status == "taken_down"
    assert mod_client.get(url).status_code == 200
    # Not for a plain session or the author's bearer token.
    assert _console(UserFactory()).get(url).status_code == 302
    assert client_for(author).get(url).status_code == 302


def test_one_click_remove_asks_for_a_reason_then_acts_and_logs():
    post = PostFactory()
    case = case_of(report(target_type="post", target_id=post.pk, reason="hate"))
    mod = moderator()
    client = _console(mod)
    act_url = reverse("admin:moderation_case_act", args=[case.pk])
    form = client.get(act_url, {"kind": "remove"})
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()

    refused = client.post(act_url, {"kind": "remove", "reason": "   "})
    assert refused.status_code == 400
    assert not Action.objects.exists()
    post.refresh_from_db()
    assert post.deleted_at is None

    done = client.post(act_url, {"kind": "remove", "reason": "Dehumanising caption."})
    # Back to the queue, for the next case.
    assert done.status_code == 302 and done["Location"] == reverse("console-queue")
    post.refresh_from_db()
    assert post.deleted_at is not None
    action = Action.objects.get()
    assert (action.kind, action.reason, action.moderator_id) == ("remove", "Dehumanising caption.", mod.pk)
    assert f"Case {case.pk} — Remove: done and logged" in client.get(done["Location"]).content.decode()
    page = client.get(reverse("admin:moderation_case_change", args=[case.pk])).content.decode()
    assert "Dehumanising caption." in page and 'class="audit-row" data-kind="remove"' in page


def test_bulk_dismiss_asks_for_one_reason_and_logs_each_case():
    cases = [case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam")) for _ in range(3)]
    mod = moderator()
    client = _console(mod)
    selected = {"action": "bulk_dismiss", "_selected_action": [c.pk for c in cases]}
    confirm = client.post(QUEUE, selected)
    assert confirm.status_code == 200 and 'name="reason"' in confirm.content.decode()
    assert not Action.objects.exists()
    done = client.post(QUEUE, {**selected, "apply": "1", "reason": "Ordinary posts, not spam."})
    assert done.status_code == 302
    assert Action.objects.filter(kind="dismiss", reason="Ordinary posts, not spam.").count() == 3
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("status", flat=True)) == {"decided"}


def test_bulk_remove_skips_what_it_cannot_do_and_says_so():
    post_case = case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam"))
    user_case = case_of(report(target_type="user", target_id=UserFactory().pk, reason="spam"))
    client = _console(moderator())
    response = client.post(
        QUEUE,
        {"action": "bulk_remove", "_selected_action": [post_case.pk, user_case.pk], "apply": "1", "reason": "Spam."},
        follow=True,
    )
    text = response.content.decode()
    assert f"Case {user_case.pk} skipped" in text
    assert Action.objects.filter(case=post_case, kind="remove").exists()
    assert not Action.objects.filter(case=user_case).exists()


def test_appeals_in_the_console_go_to_a_different_moderator():
    from moderation import services

    author = UserFactory()
    post = PostFactory(author=author)
    case = case_of(report(target_type="post", target_id=post.pk, reason="spam"))
    first, second = moderator(), moderator()
    action = act(case, first, "remove", "Spam.")
    services.appeal_create(action_id=action.pk, appellant=author, text="It is my band's video.")
    page_url = reverse("admin:moderation_case_change", args=[case.pk])
    appeal_url = reverse("admin:moderation_case_appeal", args=[case.pk])

    mine = _console(first).get(page_url).content.decode()
    assert "It is my band&#x27;s video." in mine and 'id="appeal-not-yours"' in mine and 'id="appeal-form"' not in mine
    assert 'id="action-buttons"' not in mine  # no other action while the appeal waits
    refused = _console(first).post(appeal_url, {"decision": "upheld", "reason": "Self-check."})
    assert refused.status_code == 403
    assert Case.objects.get(pk=case.pk).status == "appealed"

    theirs = _console(second).get(page_url).content.decode()
    assert 'id="appeal-form"' in theirs
    decided = _console(second).post(appeal_url, {"decision": "overturned", "reason": "A real band video."})
    assert decided.status_code == 302
    post.refresh_from_db()
    assert post.deleted_at is None
    assert Case.objects.get(pk=case.pk).status == "closed"


def test_assigning_a_case():
    case = case_of(report(target_type="post", target_id=PostFactory().pk))
    mod = moderator()
    url = reverse("admin:moderation_case_assign", args=[case.pk])
    assert _console(mod).post(url).status_code == 302
    assert Case.objects.get(pk=case.pk).assigned_to_id == mod.pk
    _console(mod).post(url, {"release": "1"})
    assert Case.objects.get(pk=case.pk).assigned_to_id is None


def test_the_audit_trail_is_read_only_in_the_console():
    case = case_of(report(target_type="post", target_id=PostFactory().pk))
    mod = moderator()
    action = act(case, mod, "warn", "Careful.")
    client = _console(mod)
    listing = client.get(reverse("admin:moderation_action_changelist"))
    assert listing.status_code == 200 and "Careful." in listing.content.decode()
    assert "delete_selected" not in listing.content.decode()
    change = reverse("admin:moderation_action_change", args=[action.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"reason": "edited"}).status_code == 403
    assert Action.objects.get(pk=action.pk).reason == "Careful."
