"""The console in a real browser: Playwright drives Debian's headless Chromium against the live
server (daphne + Celery workers on the test database). A moderator logs in, opens the queue,
plays the reported video, removes the post with a reason; then the API and the database show
the post gone from feeds and chains, the author told, and the audit log written.

Run: .venv/bin/pytest tests/moderation/test_console_browser.py -m browser
The queue's screenshot is saved to tests/artifacts/moderation_queue.png (gitignored).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import Group

from moderation.models import Action, BannedMediaHash, Case
from moderation.presets import preset_get
from moderation.roles import MODERATOR_GROUP, moderator_group_sync
from sora_social.users.services import token_issue
from tests.feed.factories import PostFactory
from tests.generation.factories import real_video
from tests.users.factories import PASSWORD, UserFactory

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Debian's Chromium is not installed at {CHROMIUM}"),
]


def _api(base_url: str, token: str, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(
        method, f"{base_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs
    )


def test_a_moderator_removes_a_reported_post_in_the_console(live_stack):
    from playwright.sync_api import sync_playwright

    base = live_stack.base_url
    author = UserFactory(handle="remy_author")
    video = real_video(author, seconds=2.0, seed=21)
    post = PostFactory(author=author, video=video, caption="a very bad post")
    remix = PostFactory(remix_of=post, caption="a remix of it")
    reporter, viewer = UserFactory(handle="rita_reporter"), UserFactory(handle="vic_viewer")
    if not Group.objects.filter(name=MODERATOR_GROUP).exists():
        moderator_group_sync()
    mod = UserFactory(handle="mia_mod", is_staff=True)
    mod.groups.add(Group.objects.get(name=MODERATOR_GROUP))
    tokens = {u.handle: token_issue(user=u)[1] for u in (author, reporter, viewer)}

    # A real report through the live API opens the case.
    reported = _api(
        base,
        tokens["rita_reporter"],
        "POST",
        "/api/v1/reports",
        json={"target_type": "post", "target_id": post.pk, "reason": "violence", "text": "graphic"},
    )
    assert reported.status_code == 201, reported.text
    case = Case.objects.get(target_type="post", target_id=post.pk)
    assert _api(base, tokens["vic_viewer"], "GET", f"/api/v1/posts/{post.pk}").status_code == 200

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(f"{base}/console/login/?next=/console/moderation/case/")
            page.fill("#id_username", "mia_mod")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url("**/console/moderation/case/")

            # The queue, with our case in it; its screenshot is the artifact.
            row = page.locator("#result_list tbody tr", has_text=f"Post {post.pk}")
            assert row.count() == 1
            assert "Violence or terrorism" in row.inner_text()
            page.screenshot(path=str(ARTIFACTS / "moderation_queue.png"), full_page=True)

            row.locator(f"a[href*='/console/moderation/case/{case.pk}/change/']").first.click()
            page.wait_for_selector("#case-review")
            assert "graphic" in page.inner_text("#panel-reports")
            assert "a very bad post" in page.inner_text("#panel-content")

            # Play the video inline: play() resolves and time moves on.
            playback = page.evaluate(
                """async () => {
                    const video = document.getElementById("case-video");
                    video.muted = true;
                    await video.play();
                    const start = video.currentTime;
                    await new Promise(resolve => setTimeout(resolve, 1200));
                    return {readyState: video.readyState, start, now: video.currentTime,
                            duration: video.duration, error: video.error && video.error.code};
                }"""
            )
            assert playback["error"] is None, playback
            assert playback["readyState"] >= 2 and playback["now"] > playback["start"], playback
            assert abs(playback["duration"] - 2.0) < 0.2, playback

            # One click on Remove opens the dialog with the case's preset; words added follow it.
            page.click("#action-buttons [data-action=remove]")
            page.wait_for_selector("dialog#action-dialog[open]")
            assert page.input_value("#id_preset") == "violence.remove"
            page.fill("#id_reason", "Graphic violence is not allowed.")
            page.click("#action-submit")
            page.wait_for_selector(".messagelist .success")
            assert "Remove: done and logged" in page.inner_text(".messagelist")
            page.goto(f"{base}/console/moderation/case/{case.pk}/change/")
            assert "Graphic violence is not allowed." in page.inner_text("#audit-trail")
            page.screenshot(path=str(ARTIFACTS / "moderation_case_after_remove.png"), full_page=True)
        finally:
            browser.close()

    # Gone for everyone else: the post, the feed, the chain; the video stops playing.
    viewer_token = tokens["vic_viewer"]
    assert _api(base, viewer_token, "GET", f"/api/v1/posts/{post.pk}").status_code == 404
    latest = _api(base, viewer_token, "GET", "/api/v1/feed/latest").json()["results"]
    assert post.pk not in [p["id"] for p in latest] and remix.pk in [p["id"] for p in latest]
    chain = _api(base, viewer_token, "GET", f"/api/v1/posts/{remix.pk}/chain").json()["results"]
    assert chain[0]["id"] == post.pk and chain[0]["available"] is False
    content = _api(base, viewer_token, "GET", f"/api/v1/videos/{video.pk}/content")
    assert content.status_code == 404

    # The author has the decision, with the reason and how to appeal.
    notes = _api(base, tokens["remy_author"], "GET", "/api/v1/notifications").json()["results"]
    decision = next(n for n in notes if n["kind"] == "moderation_decision")
    assert "Graphic violence is not allowed." in decision["text"]
    assert decision["data"]["appeal_url"].endswith(f"/actions/{decision['data']['action_id']}/appeal")
    reporter_notes = _api(base, tokens["rita_reporter"], "GET", "/api/v1/notifications").json()["results"]
    assert any(n["kind"] == "moderation_decision" and n["data"]["outcome"] == "removed" for n in reporter_notes)

    # The audit log has the entry.
    action = Action.objects.get(case=case)
    reason = preset_get("violence.remove").message + " Graphic violence is not allowed."
    assert (action.kind, action.moderator_id, action.reason) == ("remove", mod.pk, reason)
    assert action.snapshot["caption"] == "a very bad post"
    # The default worker hashes the removed video onto the banned list.
    deadline = time.monotonic() + 60
    while not BannedMediaHash.objects.filter(source=f"action:{action.pk}").exists():
        assert time.monotonic() < deadline, "the banned-media task did not run"
        time.sleep(0.5)
    assert (ARTIFACTS / "moderation_queue.png").stat().st_size > 10_000
