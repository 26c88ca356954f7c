"""Demo section: generation — prompt → GPU queue → a watermarked, C2PA-signed draft → a post.

Runs after accounts, cameos and posts: Ava's person cameo is active for mutuals (Ben is one,
Dev is not) with the instruction "always wearing a green hat"; Ava has a public post.
Progress arrives over the notifications websocket, as a phone would see it.
"""

from __future__ import annotations

import asyncio
import io
import json
import time

from sora_social.demo.client import Demo


def _listen_progress(demo: Demo, who: str, submit) -> tuple[dict, list[int], float]:
    """Submit while listening on the websocket; return the job, the percents seen, seconds taken."""
    import websockets

    token = demo.people[who].token
    percents: list[int] = []

    async def run() -> tuple[dict, float]:
        async with websockets.connect(f"{demo.ws_url}/ws/notifications/?token={token}") as ws:
            await asyncio.wait_for(ws.recv(), 10)  # hello
            started = time.monotonic()
            job = await asyncio.to_thread(submit)
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 600))
                if message["type"] == "progress" and message["data"].get("job_id") == job["id"]:
                    percents.append(message["data"]["progress"])
                if message["type"] == "notification" and message["notification"]["data"].get("job_id") == job["id"]:
                    return job, time.monotonic() - started

    job, seconds = asyncio.run(run())
    return job, percents, seconds


def _generate(demo: Demo, who: str, body: dict, headers: dict | None = None) -> tuple[dict, list[int], float]:
    def submit() -> dict:
        return demo.call("POST", "/api/v1/generations", who=who, json_body=body, headers=headers, expect=201)

    job, percents, seconds = _listen_progress(demo, who, submit)
    return demo.call("GET", f"/api/v1/generations/{job['id']}", who=who), percents, seconds


def run(demo: Demo) -> None:
    import av

    from generation.provenance import ai_source_types, read_manifest

    demo.section("Generation: a prompt becomes a signed, watermarked draft")
    balance = demo.call("GET", "/api/v1/credits", who="ava")
    demo.step(f"Ava has {balance['free_remaining']} free credits today (they come back at her local midnight).")

    job, percents, seconds = _generate(
        demo,
        "ava",
        {"prompt": "@ava drops and bounces twice", "seconds": 4, "size": "720x1280", "seed": 11},
        headers={"Idempotency-Key": "demo-ava-1"},
    )
    assert job["status"] == "succeeded", job
    shown = ", ".join(f"{p}%" for p in percents[:: max(1, len(percents) // 6)])
    demo.step(
        f"Ava asked for '@ava drops and bounces twice'. The prompt passed the policy layers, her own cameo "
        f"was allowed, 1 credit was reserved and the job went to the gpu queue. The worker rendered it with "
        f"{job['model']} in {seconds:.1f}s; progress came over the websocket ({shown}, then done)."
    )
    again = demo.call(
        "POST",
        "/api/v1/generations",
        who="ava",
        json_body={"prompt": "@ava drops and bounces twice", "seconds": 4, "size": "720x1280", "seed": 11},
        headers={"Idempotency-Key": "demo-ava-1"},
        expect=200,
    )
    assert again["id"] == job["id"]
    demo.step("Her phone retried the request with the same Idempotency-Key: same job back, charged once.")

    video = job["video"]
    mp4 = demo.http.get(video["url"]).content
    with av.open(io.BytesIO(mp4)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    manifest = read_manifest(mp4) or {}
    sources = ", ".join(ai_source_types(manifest)) or "none"
    demo.step(
        f"The draft is an H.264 MP4, {video['width']}x{video['height']}, {frames} frames at {video['fps']:.0f} fps, "
        f"with a moving '@ava' watermark and a C2PA manifest ({manifest.get('validation_state', '?')}) whose "
        f"source type says it is AI-made: {sources.rsplit('/', 1)[-1]}."
    )
    drafts = demo.call("GET", "/api/v1/drafts", who="ava")["results"]
    post = demo.call(
        "POST", "/api/v1/posts", who="ava", json_body={"video_id": video["id"], "caption": "me, bouncing"}, expect=201
    )
    demo.step(f"It waited among her {len(drafts)} draft(s) until she posted it (post {post['id']}).")
    demo.facts["ava_generated_post_id"] = post["id"]

    refused = demo.call(
        "POST", "/api/v1/generations", who="dev", json_body={"prompt": "@ava juggling on a boat"}, expect=404
    )
    demo.step(
        f"Dev tried to put Ava in a video: refused ({refused['error']['code']}). Her cameo is for mutuals, and "
        "to him it does not exist."
    )
    blocked = demo.call(
        "POST", "/api/v1/generations", who="dev", json_body={"prompt": "Taylor Swift dancing in the rain"}, expect=422
    )
    demo.step(
        f"He then asked for a celebrity: the likeness guard refused it ({blocked['error']['code']}: "
        f"{blocked['error']['message']})."
    )

    job, _, seconds = _generate(demo, "ben", {"prompt": "@ava and a blue square collide", "seconds": 4, "seed": 5})
    assert job["status"] == "succeeded", job
    appearances = demo.call("GET", f"/api/v1/cameos/{demo.facts['ava_cameo_id']}/appearances", who="ava")["results"]
    mine = next(a for a in appearances if a["video_id"] == job["video"]["id"])
    demo.step(
        f"Ben, a mutual, made a video with Ava's cameo ({seconds:.1f}s). It is still his private draft, yet "
        f"Ava sees it among her cameo's {len(appearances)} appearance(s) and was told her cameo was used."
    )
    demo.call(
        "POST",
        f"/api/v1/cameos/{demo.facts['ava_cameo_id']}/appearances/{mine['id']}/remove",
        who="ava",
        json_body={"reason": "I don't like how I look in this one"},
    )
    after = demo.call("GET", f"/api/v1/generations/{job['id']}", who="ben")
    assert after["video"]["status"] == "taken_down" and after["video"]["url"] is None, after["video"]
    ben_drafts = demo.call("GET", "/api/v1/drafts", who="ben")["results"]
    told = demo.call("GET", "/api/v1/notifications", who="ben", params={"limit": 1})["results"][0]
    demo.step(
        f"Ava removed it: Ben's draft is taken down (no longer served; {len(ben_drafts)} drafts left) and he was "
        f'told why: "{told["text"]}".'
    )

    openai_like = demo.call(
        "POST", "/v1/videos", who="cleo", json_body={"prompt": "a green triangle rolls to the right", "seconds": "4"}
    )
    while openai_like["status"] in ("queued", "in_progress"):
        time.sleep(1)
        openai_like = demo.call("GET", f"/v1/videos/{openai_like['id']}", who="cleo")
    thumb = demo.call("GET", f"/v1/videos/{openai_like['id']}/content", who="cleo", params={"variant": "thumbnail"})
    demo.step(
        f"Cleo's app still speaks OpenAI's Videos API: POST /v1/videos → {openai_like['id']} "
        f"({openai_like['status']}, {openai_like['seconds']} s, {openai_like['size']}); its thumbnail is "
        f"{len(thumb):,} bytes of JPEG. Same pipeline, same checks, same credits."
    )
    ledger = demo.call("GET", "/api/v1/credits/ledger", who="ben")["results"]
    demo.step(
        "Ben's credits ledger, newest first: "
        + ", ".join(f"{e['kind']} {e['amount']:+d}" for e in ledger[:3])
        + " (a reservation, then settled when the video was made)."
    )
