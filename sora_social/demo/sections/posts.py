"""Demo section: posts, remix chains, comments, likes and the engagement log.

Runs after the accounts section (Ava and Ben are friends, so are Ava and Cleo; Dev follows Ava
but she does not follow back; Cleo blocked Dev; Tess is 15). If the cameos section ran first,
Ben features Ava's cameo in his remix. The clips are real H.264 MP4s rendered here with PyAV,
so the upload goes through the same decoding a phone's video does.
"""

from __future__ import annotations

import io
import uuid

from generation.media import render_clip
from sora_social.demo.client import Demo


def _upload(demo: Demo, who: str, seed: int, seconds: float = 3.0) -> dict:
    clip = render_clip(seconds=seconds, width=320, height=180, seed=seed, label=seed)
    return demo.call("POST", "/api/v1/videos", who=who, files={"file": (f"{who}.mp4", clip, "video/mp4")}, expect=201)


def _handles(notifications: list[dict], kind: str) -> list[str]:
    return [n["text"] for n in notifications if n["kind"] == kind]


def run(demo: Demo) -> None:
    demo.section("Posts, remix chains, comments, likes, events")

    video = _upload(demo, "ava", seed=1)
    demo.step(
        f"Ava uploaded a clip. The server ignored its name and type and decoded it: {video['frame_count']} "
        f"frames, {video['duration_s']} s, {video['width']}x{video['height']}, {video['codec']}; it made a "
        "thumbnail from the middle frame. The video is hers and private until she posts it."
    )
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (64, 64), "orange").save(png, format="PNG")
    refused = demo.call(
        "POST", "/api/v1/videos", who="ava", files={"file": ("sunset.mp4", png.getvalue(), "video/mp4")}, expect=415
    )
    demo.step(f"A picture renamed sunset.mp4 is refused with {refused['error']['code']}: the bytes decide.")

    root = demo.call(
        "POST",
        "/api/v1/posts",
        who="ava",
        json_body={"video_id": video["id"], "caption": "Morning light over the harbour", "visibility": "public"},
        expect=201,
    )
    played = demo.http.get(root["video"]["url"])  # a signed link: no bearer token needed
    assert played.status_code == 200 and played.headers["content-type"] == "video/mp4"
    demo.step(
        f"Ava posted it (post {root['id']}, public, anyone may remix). Its video plays from a signed link "
        f"that expires within the hour and is re-checked against the post on every read "
        f"({len(played.content):,} bytes of MP4)."
    )

    cameo_id = demo.facts.get("ava_cameo_id")
    ben_video = _upload(demo, "ben", seed=2)
    body = {"video_id": ben_video["id"], "caption": "Same harbour, at night"}
    if cameo_id:
        body["cameo_ids"] = [cameo_id]
    ben_remix = demo.call("POST", f"/api/v1/posts/{root['id']}/remixes", who="ben", json_body=body, expect=201)
    featured = " featuring Ava's cameo (she lets mutuals use it, and they are friends)" if cameo_id else ""
    demo.step(
        f"Ben remixed Ava's post{featured}: post {ben_remix['id']}, depth {ben_remix['depth']}, crediting "
        f"@{ben_remix['remix_of']['author']['handle']} as parent and root."
    )

    cleo_video = _upload(demo, "cleo", seed=3)
    cleo_remix = demo.call(
        "POST",
        f"/api/v1/posts/{ben_remix['id']}/remixes",
        who="cleo",
        json_body={"video_id": cleo_video["id"], "caption": "…and in the rain"},
        expect=201,
    )
    demo.step(
        f"Cleo remixed Ben's remix: post {cleo_remix['id']} at depth {cleo_remix['depth']}, crediting "
        f"@{cleo_remix['remix_of']['author']['handle']} (parent) and @{cleo_remix['root']['author']['handle']} "
        "(root), in the response as in the notification Ben got."
    )

    ava_notes = demo.call("GET", "/api/v1/notifications", who="ava")["results"]
    told = _handles(ava_notes, "post_remixed") + _handles(ava_notes, "cameo_used")
    demo.step(f"Ava's notifications, sent after each transaction committed: {told}.")

    chain = demo.call("GET", f"/api/v1/posts/{cleo_remix['id']}/chain", who="ava")["results"]
    tree = demo.call("GET", f"/api/v1/posts/{root['id']}/remixes", who="ava")["results"]
    demo.step(
        f"Walking up from Cleo's remix: {[r['post']['author']['handle'] for r in chain]}. Walking down from "
        f"Ava's post, most-remixed branches first: "
        f"{[(r['post']['author']['handle'], r['level']) for r in tree]} (author, level)."
    )
    dev_tree = demo.call("GET", f"/api/v1/posts/{root['id']}/remixes", who="dev")["results"]
    hidden = demo.call("GET", f"/api/v1/posts/{cleo_remix['id']}", who="dev", expect=404)
    demo.step(
        f"Dev sees the same tree without Cleo's remix ({len(dev_tree)} node; Cleo blocked him) and opening it "
        f"answers {hidden['error']['code']}, as for a post that does not exist."
    )

    demo.call("PATCH", f"/api/v1/posts/{root['id']}", who="ava", json_body={"remix_permission": "friends"})
    no = demo.call(
        "POST",
        f"/api/v1/posts/{root['id']}/remixes",
        who="dev",
        json_body={"video_id": _upload(demo, "dev", seed=4)["id"]},
        expect=403,
    )
    demo.step(
        f"Ava limited remixes to friends. Dev follows her but she does not follow back, so his remix is "
        f"refused: 403 {no['error']['code']} ({no['error']['message']})"
    )

    comment = demo.call(
        "POST", f"/api/v1/posts/{root['id']}/comments", who="dev", json_body={"body": "Where is this?"}, expect=201
    )
    reply = demo.call(
        "POST",
        f"/api/v1/posts/{root['id']}/comments",
        who="ben",
        json_body={"body": "Lisbon, I think", "reply_to": comment["id"]},
        expect=201,
    )
    deeper = demo.call(
        "POST",
        f"/api/v1/posts/{root['id']}/comments",
        who="ava",
        json_body={"body": "Porto, actually!", "reply_to": reply["id"]},
        expect=201,
    )
    thread = demo.call("GET", f"/api/v1/comments/{comment['id']}/replies", who="ava")["results"]
    assert deeper["parent_id"] == comment["id"]
    demo.step(
        f"Dev commented, Ben replied and Ava replied to Ben: replies are one level deep, so the thread under "
        f"Dev's comment reads {[r['body'] for r in thread]}; Ben was told of Ava's reply."
    )

    for who in ("ben", "cleo", "dev", "tess"):
        demo.call("POST", f"/api/v1/posts/{root['id']}/like", who=who)
    likes = _handles(demo.call("GET", "/api/v1/notifications", who="ava")["results"], "likes")
    demo.step(f"Four people liked Ava's post; her likes notification is one line that updated itself: {likes}.")

    events = [
        {"id": str(uuid.uuid4()), "type": "impression", "post_id": root["id"], "surface": "for_you", "position": 0},
        {"id": str(uuid.uuid4()), "type": "view", "post_id": root["id"], "watch_ms": 2900, "completion": 0.96},
        {"id": str(uuid.uuid4()), "type": "view", "post_id": ben_remix["id"], "watch_ms": 800, "completion": 1.7},
        {"id": str(uuid.uuid4()), "type": "remix_started", "post_id": ben_remix["id"]},
    ]
    first = demo.call("POST", "/api/v1/events", who="tess", json_body={"events": events})
    again = demo.call("POST", "/api/v1/events", who="tess", json_body={"events": events})
    bad = first["rejected"][0]
    demo.step(
        f"Tess's app sent 4 engagement events: {first['accepted']} stored, event {bad['index']} rejected "
        f"({bad['code']}: {bad['message']}). Sent again after a lost answer, none are stored twice "
        f"({len(again['duplicate_ids'])} duplicates)."
    )

    demo.call("DELETE", f"/api/v1/posts/{ben_remix['id']}", who="ben", expect=204)
    chain = demo.call("GET", f"/api/v1/posts/{cleo_remix['id']}/chain", who="cleo")["results"]
    credit = demo.call("GET", f"/api/v1/posts/{cleo_remix['id']}", who="cleo")["remix_of"]
    demo.step(
        f"Ben deleted his remix. Cleo's remix keeps its place: the chain above it reads "
        f"{[(r['id'], r['available']) for r in chain]} (id, available), and its parent credit is now a "
        f"placeholder ({credit})."
    )
    demo.facts["ava_post_id"] = root["id"]
    demo.facts["cleo_remix_id"] = cleo_remix["id"]
