"""The moderator's console as a place to work (issue 21): the queue it opens on, claims, reason
presets and the exact message they send, the metrics page against the API, and the small
things (restore only on removed things, readable details, labels, recent decisions)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from moderation import services
from moderation.console import message_frames
from moderation.constants import ActionKind
from moderation.models import Action, Case
from moderation.presets import CASE_CATEGORIES, PRESETS, compose_reason, preset_get
from sora_social.common.errors import ApplicationError
from sora_social.notifications.models import Notification
from tests.feed.factories import PostFactory
from tests.generation.factories import real_video
from tests.moderation.factories import act, case_of, moderator, report
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/console/"


def _console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _queue_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr class="queue-row" data-case-id="(\d+)"', html)]


# --- the queue -----------------------------------------------------------------------------------


def test_the_console_opens_on_the_queue_with_what_each_case_needs_at_a_glance():
    author = UserFactory(handle="quinn_author")
    video = real_video(author)
    post = PostFactory(author=author, video=video)
    rita, rob = UserFactory(handle="rita_r"), UserFactory(handle="rob_r")
    case = case_of(report(reporter=rita, target_type="post", target_id=post.pk, reason="violence", text="gore"))
    report(reporter=rob, target_type="post", target_id=post.pk, reason="hate")
    flagged = services.case_open_for_policy_review(
        video_id=real_video(author, seed=3).pk,
        creator_id=author.pk,
        job_id=7,
        policy={"prompt": {"decision": "review", "layer": "classifier", "code": "violence", "category": "violence"}},
    )
    mod = moderator()

    page = _console(mod).get(QUEUE)
    html = page.content.decode()
    assert page.status_code == 200 and "Site administration" not in html and "Case queue" in html
    assert _queue_ids(html) == [case.pk, flagged.pk]  # two reporters outrank one flag
    row = html[html.index(f'data-case-id="{case.pk}"') : html.index(f'data-case-id="{flagged.pk}"')]
    assert "Graphic violence or cruelty" in row and "Hate or dehumanisation" in row  # categories
    assert "2 reports by @rita_r, @rob_r" in row and "gore" in row  # reports and reporters
    assert re.search(r"due in (\d+ h \d\d min|\d+ min)", row)  # the SLA clock (violence: 12 h)
    thumb = reverse("console-case-thumbnail", args=[case.pk])
    assert f'src="{thumb}"' in row
    image = _console(mod).get(thumb)
    assert image.status_code == 200 and b"".join(image.streaming_content)[:2] == b"\xff\xd8"  # a JPEG
    flagged_row = html[html.index(f'data-case-id="{flagged.pk}"') :]
    assert "classifier: review" in flagged_row  # the machine's verdict

    # An old case is overdue.
    Case.objects.filter(pk=flagged.pk).update(opened_at=timezone.now() - timedelta(hours=30))
    assert "overdue by" in _console(mod).get(QUEUE).content.decode()
    # Not for plain accounts.
    assert _console(UserFactory()).get(QUEUE).status_code == 302


def test_queue_filters_category_source_and_likeness_first():
    spam = case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam"))
    violent = case_of(report(target_type="post", target_id=PostFactory().pk, reason="violence"))
    impersonation = case_of(report(target_type="post", target_id=PostFactory().pk, reason="impersonation"))
    machine = services.case_open_for_policy_review(
        video_id=real_video(UserFactory()).pk,
        creator_id=UserFactory().pk,
        job_id=1,
        policy={"prompt": {"decision": "review", "layer": "likeness", "code": "x", "category": "likeness"}},
    )
    client = _console(moderator())

    assert _queue_ids(client.get(QUEUE).content.decode()) == [violent.pk, machine.pk, impersonation.pk, spam.pk]
    assert _queue_ids(client.get(QUEUE, {"category": "violence"}).content.decode()) == [violent.pk]
    assert _queue_ids(client.get(QUEUE, {"category": "likeness"}).content.decode()) == [machine.pk]
    assert _queue_ids(client.get(QUEUE, {"source": "machine"}).content.decode()) == [machine.pk]
    assert machine.pk not in _queue_ids(client.get(QUEUE, {"source": "reported"}).content.decode())
    first = _queue_ids(client.get(QUEUE, {"likeness_first": "1"}).content.decode())
    assert first == [machine.pk, impersonation.pk, violent.pk, spam.pk]


# --- claims --------------------------------------------------------------------------------------


def test_a_claimed_case_is_not_worked_by_a_second_moderator_until_the_claim_runs_out(client_for):
    case = case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam"))
    other = case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam"))
    ana, bo = moderator(handle="ana_claims"), moderator(handle="bo_claims")

    opened = _console(ana).post(reverse("console-case-claim", args=[case.pk]))
    assert opened.status_code == 302 and opened["Location"] == reverse("admin:moderation_case_change", args=[case.pk])
    claimed = Case.objects.get(pk=case.pk)
    assert claimed.claimed_by_id == ana.pk and claimed.claimed_until > timezone.now() + timedelta(minutes=14)

    with pytest.raises(ApplicationError) as refused:
        services.case_claim(case=case, moderator=bo)
    assert refused.value.code == "case_claimed" and "@ana_claims" in refused.value.message
    with pytest.raises(ApplicationError) as acting:
        act(case, bo, "dismiss", "Fine.")
    assert acting.value.code == "case_claimed" and acting.value.status_code == 409
    # The REST API says who is on it, and refuses Bo's decision there too.
    detail = client_for(bo).get(f"/api/v1/moderation/cases/{case.pk}").json()["case"]
    assert detail["claimed_by"]["handle"] == "ana_claims" and detail["claimed_until"]
    refused_api = client_for(bo).post(
        f"/api/v1/moderation/cases/{case.pk}/actions", {"kind": "dismiss", "preset": "none.dismiss"}, format="json"
    )
    assert refused_api.status_code == 409 and refused_api.json()["error"]["code"] == "case_claimed"
    # Bo's page says who is on it and offers no decision.
    page = _console(bo).get(reverse("admin:moderation_case_change", args=[case.pk])).content.decode()
    assert 'id="claimed-by-other"' in page and "@ana_claims" in page and 'id="action-buttons"' not in page
    # "Next" gives Bo another case.
    assert services.case_claim_next(moderator=bo).pk == other.pk

    # Ana's claim runs out: Bo may take it over.
    Case.objects.filter(pk=case.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert services.case_claim(case=case, moderator=bo).claimed_by_id == bo.pk
    # Deciding ends the claim.
    act(case, bo, "dismiss", "Fine.")
    assert Case.objects.filter(pk=case.pk, claimed_by__isnull=True, claimed_until__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_moderators_asking_for_the_next_case_at_once_get_different_cases():
    cases = [case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam")) for _ in range(2)]
    mods = [moderator(), moderator()]
    barrier = threading.Barrier(2)
    got: dict[int, int | None] = {}

    def claim(mod) -> None:
        try:
            barrier.wait(timeout=10)
            case = services.case_claim_next(moderator=mod)
            got[mod.pk] = case.pk if case else None
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(m,)) for m in mods]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(got.values()) == sorted(c.pk for c in cases)
    for mod in mods:
        assert Case.objects.get(pk=got[mod.pk]).claimed_by_id == mod.pk


# --- reason presets ------------------------------------------------------------------------------


def test_presets_are_tied_to_the_policy_and_cover_every_decision():
    assert len({p.code for p in PRESETS}) == len(PRESETS)
    for preset in PRESETS:
        assert preset.category in CASE_CATEGORIES or (
            preset.category == "none" and preset.kind in ("dismiss", "restore")
        )
        assert preset.kind in {k.value for k in ActionKind}
        assert preset.rule.strip() and preset.message.strip()[-1] in ".!"
    assert {p.kind for p in PRESETS} == {k.value for k in ActionKind}
    # Every content category the policy checks decide on has a preset to act on it.
    from moderation.policy.categories import CATEGORIES, OTHER_CATEGORIES

    assert set(CATEGORIES) | set(OTHER_CATEGORIES) <= {p.category for p in PRESETS}


def test_a_preset_decision_sends_the_presets_message_and_free_text_adds_to_it(client_for):
    author = UserFactory()
    post = PostFactory(author=author)
    case = case_of(report(target_type="post", target_id=post.pk, reason="violence"))
    mod = moderator()
    preset = preset_get("violence.remove")

    # The console's preview: the notification's text around the reason, as the case page shows it.
    frame = message_frames(target_type="post", kinds=["remove"], strikes_next=1, suspend_until="")["remove"]
    action = act(case, mod, "remove", "  The  blood is real footage. ", preset="violence.remove")
    assert action.reason == compose_reason(preset=preset, extra="The blood is real footage.")
    assert action.reason == preset.message + " The blood is real footage."
    assert action.details["preset"] == "violence.remove" and action.details["category"] == "violence"
    note = Notification.objects.get(recipient=author, kind="moderation_decision")
    assert note.text == (frame[0] + action.reason + frame[1])[:300]
    assert note.text.startswith("Moderation: We removed your post: " + preset.message)

    # The API takes presets too; a preset for another kind of action is refused.
    other = case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam"))
    api = client_for(mod)
    wrong = api.post(
        f"/api/v1/moderation/cases/{other.pk}/actions", {"kind": "warn", "preset": "spam.remove"}, format="json"
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "preset_kind_mismatch"
    done = api.post(
        f"/api/v1/moderation/cases/{other.pk}/actions", {"kind": "remove", "preset": "spam.remove"}, format="json"
    )
    assert done.status_code == 201 and done.json()["reason"] == preset_get("spam.remove").message
    nothing = api.post(f"/api/v1/moderation/cases/{other.pk}/actions", {"kind": "warn"}, format="json")
    assert nothing.status_code == 400 and nothing.json()["error"]["code"] == "reason_required"


def test_the_case_page_lists_presets_of_the_cases_category_first_with_keys():
    case = case_of(report(target_type="post", target_id=PostFactory().pk, reason="hate"))
    html = _console(moderator()).get(reverse("admin:moderation_case_change", args=[case.pk])).content.decode()
    presets = re.findall(r'data-preset="([\w.]+)" data-kind="\w+" aria-keyshortcuts="(\d)"', html)
    assert presets[0] == ("hate.remove", "1") and presets[1] == ("hate.strike", "2")
    assert [key for _, key in presets] == [str(i) for i in range(1, 10)]
    assert 'id="decision-preview"' in html and "message-frames" in html
    assert 'aria-keyshortcuts="r"' in html and 'aria-keyshortcuts="d"' in html
    assert 'id="cheat-sheet"' in html and 'id="console-keys"' in html


# --- metrics ---------------------------------------------------------------------------------------


def _flatten(value, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    else:
        out[prefix] = value
    return out


def test_the_metrics_page_shows_the_apis_numbers(client_for):
    ana, bo = moderator(handle="ana_metrics"), moderator(handle="bo_metrics")
    author = UserFactory()
    for minutes, mod, kind, preset in [
        (10, ana, "remove", "violence.remove"),
        (30, ana, "dismiss", "none.dismiss"),
        (50, bo, "remove", "spam.remove"),
    ]:
        case = case_of(report(target_type="post", target_id=PostFactory(author=author).pk, reason="spam"))
        Case.objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(minutes=minutes))
        action = act(Case.objects.get(pk=case.pk), mod, kind, "", preset=preset)
    services.appeal_create(action_id=action.pk, appellant=author, text="Not spam.")
    services.appeal_decide(appeal=action.appeal_made, moderator=ana, uphold=False, reason="Right, not spam.")
    for verdict_layer, kind in [("classifier", "remove"), ("classifier", "dismiss"), ("likeness", "remove")]:
        flagged = services.case_open_for_policy_review(
            video_id=real_video(UserFactory()).pk,
            creator_id=UserFactory().pk,
            job_id=1,
            policy={"prompt": {"decision": "review", "layer": verdict_layer, "code": "c", "category": "violence"}},
        )
        act(flagged, bo, kind, "Looked at it.")
    case_of(report(target_type="post", target_id=PostFactory().pk, reason="hate"))  # still waiting

    session = _console(ana)
    page = session.get("/console/metrics/", {"period": "day"})
    assert page.status_code == 200
    shown = dict(re.findall(r'data-metric="([\w.]+)">([^<]*)<', page.content.decode()))
    # The API, with the console's own session (no bearer token).
    api = session.get("/api/v1/moderation/metrics", {"period": "day"})
    assert api.status_code == 200
    body = api.json()
    expected = _flatten({k: v for k, v in body.items() if k not in ("decisions_per_moderator", "machine_layers")})
    for row in body["decisions_per_moderator"]:
        for name in ("decisions", "actions", "appeals"):
            expected[f"decisions_per_moderator.{row['handle']}.{name}"] = row[name]
    for row in body["machine_layers"]:
        for name in ("flagged_cases_decided", "upheld", "uphold_rate"):
            expected[f"machine_layers.{row['layer']}.{name}"] = row[name]
    # The median and p90 fields are the p50 and p90 of the percentile table the page shows.
    assert body["median_time_to_decision_s"] == body["time_to_decision_s"]["p50"]
    assert body["p90_time_to_decision_s"] == body["time_to_decision_s"]["p90"]
    skip = ("since", "until", "median_time_to_decision_s", "p90_time_to_decision_s")
    expected = {k: v for k, v in expected.items() if k not in skip}
    assert set(shown) == set(expected)
    for name, value in expected.items():
        if name in ("oldest_waiting_s", "median_waiting_s", "p90_waiting_s"):
            # Waits grow while the test reads the page and then the API.
            assert abs(float(shown[name]) - value) < 2, name
        else:
            assert shown[name] == ("—" if value is None else str(value)), name

    # And the numbers themselves are right.
    assert body["decisions_per_category"] == {"violence": 4, "none": 1, "spam": 1}
    assert body["appeal_overturn_rate"] == 1.0 and body["appeals_decided"] == 1
    assert body["machine_layers"] == [
        {"layer": "classifier", "flagged_cases_decided": 2, "upheld": 1, "dismissed": 1, "uphold_rate": 0.5},
        {"layer": "likeness", "flagged_cases_decided": 1, "upheld": 1, "dismissed": 0, "uphold_rate": 1.0},
    ]
    assert body["time_to_decision_s"]["p50"] is not None and body["queue_length"] == 1
    # Plain accounts get neither.
    assert _console(UserFactory()).get("/console/metrics/").status_code == 302
    assert client_for(UserFactory()).get("/api/v1/moderation/metrics").status_code == 403


# --- the small things --------------------------------------------------------------------------------


def test_restore_is_offered_only_on_what_was_removed_and_details_read_as_text():
    author = UserFactory()
    post = PostFactory(author=author, video=real_video(author))
    case = case_of(report(target_type="post", target_id=post.pk, reason="violence"))
    mod = moderator()
    page_url = reverse("admin:moderation_case_change", args=[case.pk])
    assert 'data-action="restore"' not in _console(mod).get(page_url).content.decode()
    act(case, mod, "remove", "Gore.")
    html = _console(mod).get(page_url).content.decode()
    assert 'data-action="restore"' in html
    assert f"post removed; video {post.video_id} taken down; category: Graphic violence or cruelty" in html
    assert "{&#x27;" not in html and "{'" not in html  # no Python dict anywhere
    log = _console(mod).get(reverse("admin:moderation_action_changelist")).content.decode()
    assert f"video {post.video_id} taken down" in log and "{&#x27;" not in log


def test_labels_and_recent_decisions_in_the_raw_data_pages():
    mod = moderator()
    case = case_of(report(target_type="post", target_id=PostFactory().pk, reason="spam"))
    act(case, mod, "warn", "Careful with links.")
    index = _console(mod).get("/console/data/").content.decode()
    assert "Banned media hashes" in index and "Banned media hashs" not in index
    assert "Your recent decisions" in index and "None available" not in index
    assert f"Warn · case {case.pk}" in index and "Careful with links." in index
    assert Action.objects.filter(case=case).count() == 1


def test_the_queue_page_takes_the_same_number_of_queries_for_2_or_8_cases():
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    mod = moderator()
    client = _console(mod)

    def add(n: int) -> None:
        for i in range(n):
            author = UserFactory()
            post = PostFactory(author=author, video=real_video(author, seed=i))
            report(target_type="post", target_id=post.pk, reason="violence", text="x")
            report(target_type="post", target_id=post.pk, reason="hate")

    def count() -> int:
        with CaptureQueriesContext(db) as ctx:
            assert client.get(QUEUE).status_code == 200
        return len(ctx.captured_queries)

    add(2)
    few = count()
    add(6)
    assert count() == few
