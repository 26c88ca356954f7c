"""Demo section: the feeds. For-you explained, friends first, a first post that meets its
audience, steering in words, a creation nudge, a teen's daily limit, the chronological feeds.

Runs after accounts (Ava–Ben and Ava–Cleo are friends, Dev follows Ava, Cleo blocked Dev,
Tess is 15) and, when they ran, the cameos and posts sections.
"""

from __future__ import annotations

import math
import uuid

from generation.media import render_clip
from sora_social.demo.client import Demo

# Captions MiniLM files under the "anime" and "sports" topics (checked: a "mecha" clip reads as
# sci-fi, a "basketball dunk" as comedy, so they are not used here).
ANIME = [
    "Shonen anime duel with glowing swords on a rooftop",
    "Anime cat girl opening a tiny cafe in Tokyo",
    "Studio-Ghibli-style anime spirit waking up in the forest",
    "Anime girl with big eyes fighting demons",
    "Anime magical girl transformation sequence",
]
SPORTS = ["Last-minute football goal in the rain", "Football match: the striker scores a goal"]


def _post(demo: Demo, who: str, caption: str, seed: int) -> dict:
    clip = render_clip(seconds=2.0, width=320, height=180, seed=seed, label=seed)
    video = demo.call("POST", "/api/v1/videos", who=who, files={"file": (f"{who}.mp4", clip, "video/mp4")}, expect=201)
    return demo.call(
        "POST", "/api/v1/posts", who=who, json_body={"video_id": video["id"], "caption": caption}, expect=201
    )


def _line(item: dict) -> str:
    if item["type"] == "nudge":
        return f"[make your own: {item['nudge']['topic']}]"
    x = item.get("explain") or {}
    extra = f", steer {x['steer']:+.2f}" if x.get("steer") else ""
    score = f" {x['score']:.2f}" if x else ""
    return f"@{item['post']['author']['handle']} ({item['source']}{score}{extra})"


def run(demo: Demo) -> None:
    demo.section("Feeds: for-you ranked for creating, friends first, steering, nudges, teen limits")

    finn = demo.sign_up("finn", display_name="Finn Alvarez")
    for a, b in (("finn", "ava"), ("ava", "finn")):
        demo.call("POST", f"/api/v1/users/{b}/follow", who=a, expect=204)
    anime = [_post(demo, "dev", caption, 40 + i) for i, caption in enumerate(ANIME)]
    for i, caption in enumerate(SPORTS):
        _post(demo, "cleo", caption, 50 + i)
    first = _post(demo, "finn", "My very first video: my dog meets the sea", 60)
    demo.step(
        f"Finn (new, user {finn.user_id}) and Ava became friends. Dev posted {len(anime)} anime clips, Cleo "
        "two sports clips, and Finn his very first video."
    )

    steering = demo.call("PUT", "/api/v1/feed/steering", who="ava", json_body={"text": "More anime, less sports"})
    terms = ", ".join(f"{t['direction']} {t['phrase']}" for t in steering["terms"])
    demo.wait_for(
        "the worker to embed Ava's steering and the new posts",
        lambda: demo.call("GET", "/api/v1/feed/steering", who="ava")["applied"],
        timeout=180,
    )
    shown = demo.call("GET", "/api/v1/feed/steering", who="ava")
    demo.step(
        f'Ava told her feed "{steering["text"]}". The server read it as [{terms}] and, once the worker '
        f"embedded the words, matched them to topics {[t['topic'] for t in shown['terms']]}."
    )

    page1 = demo.call("GET", "/api/v1/feed/for-you", who="ava", params={"explain": 1, "limit": 5})
    items = page1["results"]
    demo.step("Ava's for-you, first page: " + "; ".join(_line(i) for i in items) + ".")
    top = items[0]
    x = top["explain"]
    shares = ", ".join(f"{term} {share:+.0%}" for term, share in x["shares"].items() if share)
    demo.step(
        f"First is @{top['post']['author']['handle']}'s post ({top['source']}): p(create) {x['predicted']['create']}, "
        f"p(remix) {x['predicted']['remix']}, p(like) {x['predicted']['like']}; its value is the sum of "
        f"fitted weights times those predictions, shared as {shares} (friend"
        f"{', first post' if top['post']['id'] == first['id'] else ''}): score {x['score']}. A friend's "
        "first video meets an audience instead of silence."
    )
    sports = [i["explain"]["steer"] for i in items if i["type"] == "post" and i["post"]["author"]["handle"] == "cleo"]
    if sports:
        steers = ", ".join(f"{s:+.2f}" for s in sports)
        factors = ", ".join(f"×{math.exp(2.5 * s):.2f}" for s in sports)
        demo.step(
            f"Cleo's sports clips are still on the page — she is a friend, and friends come first — but the "
            f"steering pulls them down (steer {steers}: {factors} on the score), while Dev's anime clips are "
            "pulled up."
        )
    dev_count = sum(1 for i in items if i["type"] == "post" and i["post"]["author"]["handle"] == "dev")
    demo.step(
        f"Dev posted most, yet has {dev_count} of the {len(items)} places: repeated authors decay (×0.625, "
        "×0.44, … floor 0.25) and at most two per page while others have posts to show."
    )

    now_views = [
        {"id": str(uuid.uuid4()), "type": "view", "post_id": p["id"], "watch_ms": 1900, "completion": 0.95}
        for p in anime
    ]
    demo.call("POST", "/api/v1/events", who="ava", json_body={"events": now_views})
    page2 = demo.call("GET", "/api/v1/feed/for-you", who="ava", params={"limit": 5, "cursor": page1["next_cursor"]})
    nudges = [i for i in page2["results"] if i["type"] == "nudge"]
    if nudges:
        n = nudges[0]["nudge"]
        demo.step(
            f"Ava watched Dev's {len(anime)} anime clips and made nothing since. Her next page carries a unit: "
            f'"{n["message"]}" with a ready prompt to remix @{n["post_author"]}\'s post {n["post_id"]}: '
            f'"{n["remix_prompt"]}" (one per scroll session).'
        )
    else:
        demo.step("Ava watched the anime clips; her next page: " + "; ".join(_line(i) for i in page2["results"]))
    page1_ids = {i["post"]["id"] for i in items if i["type"] == "post"}
    page2_ids = {i["post"]["id"] for i in page2["results"] if i["type"] == "post"}
    assert not page1_ids & page2_ids
    demo.step("Page two continues the same frozen ranking: no post repeats, however many arrive meanwhile.")

    friends = demo.call("GET", "/api/v1/feed/friends", who="ava")["results"]
    following = demo.call("GET", "/api/v1/feed/following", who="ava")["results"]
    demo.step(
        f"Ava's friends feed, newest first: {[p['author']['handle'] for p in friends]}; her following feed "
        f"has {len(following)} posts (friends, the people she follows, and her own)."
    )

    tess_pages, limit = 0, None
    cursor = None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = demo.call("GET", "/api/v1/feed/for-you", who="tess", params=params)
        tess_pages += 1
        limit = page["daily_limit"]
        cursor = page["next_cursor"]
        if page["limit_reached"] or not cursor or tess_pages >= 30:
            break
    if page["limit_reached"]:
        demo.step(
            f"Tess is 15: after {limit['used']} for-you posts today (her limit is {limit['limit']}) the feed "
            f"answers limit_reached with no cursor, so the app cannot keep scrolling; it resets at her local "
            f"midnight ({limit['resets_at']})."
        )
    else:
        demo.step(
            f"Tess is 15: her for-you carries a daily limit ({limit['used']} of {limit['limit']} used, resets "
            f"{limit['resets_at']}); she reached the end of what there is before it. Nothing ranks her feed "
            "by watch time."
        )
    prefs = demo.call("PUT", "/api/v1/feed/preferences", who="tess", json_body={"personalized": False})
    demo.step(
        f"She can also turn personalisation off (personalized={prefs['personalized']}): for-you then ranks only "
        "what is rising and new, nothing learnt about her."
    )
