"""Demo section: reports, the case queue, a decision with a reason, an appeal, metrics.

Runs after the accounts section (Ava, Ben, Cleo, Dev, Tess). Needs two moderators: `staff`
(the demo's staff account, in the `moderator` group) and a second one, @moira, whom the demo
command creates with `ensure_staff --handle moira --password <MODERATOR_PASSWORD> --group
moderator`; this section logs her in. Appeals must go to a moderator other than the one who
acted, so the story needs both.
"""

from __future__ import annotations

from generation.media import render_clip
from sora_social.demo.client import Demo

SECOND_MODERATOR = "moira"
MODERATOR_PASSWORD = "demo-moderator-pass-2026"


def _post_clip(demo: Demo, who: str, *, seed: int, caption: str) -> dict:
    clip = render_clip(seconds=2.0, width=320, height=180, seed=seed, label=seed)
    video = demo.call("POST", "/api/v1/videos", who=who, files={"file": (f"{who}.mp4", clip, "video/mp4")}, expect=201)
    return demo.call(
        "POST",
        "/api/v1/posts",
        who=who,
        json_body={"video_id": video["id"], "caption": caption, "visibility": "public"},
        expect=201,
    )


def _report(demo: Demo, who: str, target_type: str, target_id: int, reason: str, text: str = "") -> dict:
    return demo.call(
        "POST",
        "/api/v1/reports",
        who=who,
        json_body={"target_type": target_type, "target_id": target_id, "reason": reason, "text": text},
        expect=201,
    )


def _decisions(demo: Demo, who: str) -> list[dict]:
    rows = demo.call("GET", "/api/v1/notifications", who=who)["results"]
    return [n for n in rows if n["kind"] == "moderation_decision"]


def run(demo: Demo) -> None:
    demo.section("Moderation: reports, the case queue, decisions, appeals")
    if SECOND_MODERATOR not in demo.people:
        demo.log_in(SECOND_MODERATOR, MODERATOR_PASSWORD)

    rant = _post_clip(demo, "dev", seed=41, caption="Ben can't even ride a bike lol, what a loser")
    fake = _post_clip(demo, "dev", seed=42, caption="Ava dancing at the party last night (AI)")
    demo.step(
        f"Dev posted two clips: one mocking Ben (post {rant['id']}), and one that claims to show Ava, "
        f"made without her (post {fake['id']})."
    )

    _report(demo, "ben", "post", rant["id"], "harassment", "He keeps doing this.")
    again = demo.call(
        "POST",
        "/api/v1/reports",
        who="ben",
        json_body={"target_type": "post", "target_id": rant["id"], "reason": "spam"},
        expect=409,
    )
    _report(demo, "tess", "post", rant["id"], "harassment")
    demo.step(
        f"Ben reported the mocking post (harassment); Tess reported it too, and both reports joined one "
        f"case. A second report by Ben on the same post is refused ({again['error']['code']})."
    )
    hidden = demo.call(
        "POST",
        "/api/v1/reports",
        who="cleo",
        json_body={"target_type": "post", "target_id": rant["id"], "reason": "harassment"},
        expect=404,
    )
    demo.step(
        f"Cleo blocked Dev earlier, so for her the post does not exist and cannot be reported "
        f"({hidden['error']['code']}); she could still report his account."
    )
    _report(demo, "ava", "post", fake["id"], "not_me_without_consent", "That is my face. I never agreed to this.")
    demo.step('Ava reported the second post: "this is me, without my consent".')

    queue = demo.call("GET", "/api/v1/moderation/cases", who="staff")["results"]
    order = ", ".join(f"case {c['id']} ({c['top_reason']}, priority {c['queue_score']})" for c in queue[:3])
    assert queue[0]["target_id"] == fake["id"], queue[:2]
    demo.step(
        f"The moderator opens the queue, most urgent first: {order}. A likeness used without consent "
        "jumps to the top, whatever the rest of the queue holds; more reporters raise a case too."
    )
    likeness_case = queue[0]
    rant_case = next(c for c in queue if c["target_type"] == "post" and c["target_id"] == rant["id"])
    detail = demo.call("GET", f"/api/v1/moderation/cases/{likeness_case['id']}", who="staff")
    demo.step(
        f"Its case shows the evidence side by side: the caption {detail['snapshot']['caption']!r}, "
        f"{len(detail['reports'])} report(s), the author's {detail['subject_strikes']} live strike(s)."
    )

    removal = demo.call(
        "POST",
        f"/api/v1/moderation/cases/{likeness_case['id']}/actions",
        who="staff",
        json_body={"kind": "remove", "reason": "Shows a real person without her consent."},
        expect=201,
    )
    gone = demo.call("GET", f"/api/v1/posts/{fake['id']}", who="ben", expect=404)
    latest = demo.call("GET", "/api/v1/feed/latest", who="ben")["results"]
    assert fake["id"] not in [p["id"] for p in latest]
    demo.step(
        f"The moderator removed it with a reason (action {removal['id']}, now in the append-only audit "
        f"log). For everyone else it is gone at once: the post answers {gone['error']['code']}, and it "
        "is out of the feeds and chains; its video is taken down and its frames go on the banned list."
    )
    strike = demo.call(
        "POST",
        f"/api/v1/moderation/cases/{rant_case['id']}/actions",
        who="staff",
        json_body={"kind": "strike", "reason": "Mocking a named person."},
        expect=201,
    )
    demo.step(
        f"On the harassment case the moderator gave Dev a strike (action {strike['id']}); three live "
        "strikes suspend an account automatically."
    )

    told = _decisions(demo, "dev")
    demo.step(f"Dev was told, with the reason and how to appeal: {[n['text'] for n in told]}.")
    heard = _decisions(demo, "ava")
    demo.step(f"Ava, who reported, heard the outcome: {heard[0]['text']!r}.")

    appeal_url = next(n for n in told if n["data"].get("action_id") == removal["id"])["data"]["appeal_url"]
    appeal = demo.call(
        "POST",
        appeal_url,
        who="dev",
        json_body={"text": "It's a cartoon, it isn't really Ava."},
        expect=201,
    )
    twice = demo.call("POST", appeal_url, who="dev", json_body={"text": "Please?"}, expect=409)
    demo.step(
        f"Dev appealed the removal (appeal {appeal['id']}); a second appeal of the same decision is "
        f"refused ({twice['error']['code']})."
    )
    same = demo.call(
        "POST",
        f"/api/v1/moderation/appeals/{appeal['id']}/decision",
        who="staff",
        json_body={"decision": "overturned", "reason": "On reflection..."},
        expect=403,
    )
    decided = demo.call(
        "POST",
        f"/api/v1/moderation/appeals/{appeal['id']}/decision",
        who=SECOND_MODERATOR,
        json_body={"decision": "upheld", "reason": "It is a realistic likeness of Ava, made without her."},
    )
    demo.step(
        f"The moderator who removed it may not judge the appeal ({same['error']['code']}); "
        f"@{SECOND_MODERATOR}, a different moderator, looked again and {decided['status']} the decision."
    )
    final = _decisions(demo, "dev")[0]["text"]
    demo.step(f"Dev's latest notification: {final!r}.")

    metrics = demo.call("GET", "/api/v1/moderation/metrics", who="staff", params={"period": "day"})
    per_mod = ", ".join(f"@{m['handle']}: {m['decisions']}" for m in metrics["decisions_per_moderator"])
    demo.step(
        f"The dashboard's numbers: {metrics['queue_length']} case(s) waiting, {metrics['cases_decided']} "
        f"decided today, median time to decision {metrics['median_time_to_decision_s']} s; decisions "
        f"per moderator: {per_mod}."
    )
    demo.facts["moderation_removed_post_id"] = fake["id"]
    demo.facts["moderation_appeal_id"] = appeal["id"]
