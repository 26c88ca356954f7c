"""Demo section: cameos — verification on the real worker, audiences, requests, privacy, minors.

Runs after the accounts section (Ava and Ben are friends, so are Ava and Cleo; Dev follows Ava
but she does not follow back; Tess is 15). The clips are drawn here, as a phone would record
them: a face (or a pet) plus a second of the challenge card the server handed out.
"""

from __future__ import annotations

import numpy as np

from sora_social.demo.client import Demo

W, H, FPS = 640, 480, 8


def _card_frames(png: bytes) -> list[np.ndarray]:
    import cv2

    card = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    card = cv2.resize(card, (H, H), interpolation=cv2.INTER_AREA)
    frame = np.full((H, W, 3), 255, np.uint8)
    frame[:, (W - H) // 2 : (W - H) // 2 + H] = card
    return [frame] * FPS


def _pet_frames(seconds: float) -> list[np.ndarray]:
    import cv2

    frames = []
    for i in range(int(seconds * FPS)):
        img = np.full((H, W, 3), (120, 170, 90), np.uint8)  # a lawn
        x = 220 + 8 * i
        cv2.ellipse(img, (x, 300), (110, 60), 0, 0, 360, (190, 140, 80), -1)  # body
        cv2.circle(img, (x + 110, 240), 45, (190, 140, 80), -1)  # head
        cv2.ellipse(img, (x + 130, 205), (14, 28), 20, 0, 360, (120, 80, 40), -1)  # ear
        frames.append(img)
    return frames


def _record(demo: Demo, who: str, challenge: dict, subject: str) -> bytes:
    from cameos import vision

    card = _card_frames(demo.call("GET", challenge["card_url"], who=who))
    if subject == "face":
        body = [
            vision.draw_face(width=W, height=H, scale=0.5 + 0.15 * (i % 4) / 3, cx=W // 2 + int(30 * np.sin(i / 3)))
            for i in range(3 * FPS)
        ]
    else:
        body = _pet_frames(3)
    return vision.encode_clip(body + card, fps=FPS)


def _create(demo: Demo, who: str, kind: str, name: str, display_name: str, subject: str) -> dict:
    challenge = demo.call(
        "POST",
        "/api/v1/cameos/challenges",
        who=who,
        json_body={"kind": kind, "name": name, "display_name": display_name},
        expect=201,
    )
    clip = _record(demo, who, challenge, subject)
    cameo = demo.call(
        "POST",
        "/api/v1/cameos",
        who=who,
        data={"challenge_id": str(challenge["id"])},
        files={"clip": ("clip.mp4", clip, "video/mp4")},
        expect=202,
    )
    return challenge, cameo


def _wait_verified(demo: Demo, who: str, cameo_id: int) -> dict:
    def done():
        body = demo.call("GET", f"/api/v1/cameos/{cameo_id}", who=who)
        return body if body["status"] != "pending" else None

    return demo.wait_for(f"cameo {cameo_id} to be verified", done, timeout=180)


def run(demo: Demo) -> None:
    demo.section("Cameos: consent, verification, audiences")

    challenge, cameo = _create(demo, "ava", "person", "ava", "Ava", subject="face")
    demo.step(
        f"Ava asked to make her cameo and got a one-time code, {challenge['code']}, valid until "
        f"{challenge['expires_at'][11:19]} UTC. She recorded a 3-second clip of her face and held up the "
        "code card for a second; the server checked it decodes as a video and is short, then queued "
        "verification on the worker."
    )
    cameo = _wait_verified(demo, "ava", cameo["id"])
    assert cameo["status"] == "active", cameo
    check = cameo["verification"]
    demo.step(
        f"The worker decoded {check['frames_decoded']} frames ({check['duration_s']} s, {check['width']}x"
        f"{check['height']}), found her face in {check['face_frames']} of {check['frames_scanned_for_faces']} "
        f"frames and the code card at {check['challenge_frames'][0]} s, saved {check['references']} private "
        "reference images and an appearance embedding. Her cameo is active."
    )
    demo.facts["ava_cameo_id"] = cameo["id"]
    cameo_url = f"/api/v1/cameos/{cameo['id']}"

    again = demo.call(
        "POST",
        "/api/v1/cameos",
        who="ava",
        data={"challenge_id": str(challenge["id"])},
        files={"clip": ("clip.mp4", b"not a video", "video/mp4")},
        expect=409,
    )
    demo.step(f"Trying the same code again is refused ({again['error']['code']}): a code is good for one upload.")

    demo.call(
        "PATCH",
        cameo_url,
        who="ava",
        json_body={
            "audience": "mutuals",
            "instructions": "Always wearing a green hat.",
            "restrictions": ["no_political", "no_romantic"],
        },
    )
    demo.step(
        "Ava lets mutuals use it, tells the generator to always give her a green hat, and rules out "
        "political and romantic videos (moderation enforces those)."
    )

    ben_view = demo.call("GET", cameo_url, who="ben")
    dev_view = demo.call("GET", cameo_url, who="dev", expect=404)
    assert ben_view["can_use"]["allowed"] and dev_view["error"]["code"] == "cameo_not_found"
    demo.step(
        f"Ben, a mutual, may use it ({ben_view['can_use']['code']}). Dev follows Ava but she does not follow "
        "back: for him the cameo is simply not there (404)."
    )

    refs = demo.call("GET", f"{cameo_url}/references", who="ava")
    demo.call("GET", refs["references"][0]["download_url"], who="ava")
    hidden = demo.call("GET", refs["references"][0]["download_url"], who="ben", expect=404)
    assert hidden["error"]["code"] == "cameo_not_found"
    demo.step(
        f"Ava can download her {len(refs['references'])} reference images and her clip; Ben, who may use the "
        "cameo, still cannot see them (404): reference media are the owner's alone."
    )

    demo.call("PATCH", cameo_url, who="ava", json_body={"audience": "approved"})
    asked = demo.call(
        "POST",
        f"{cameo_url}/requests",
        who="dev",
        json_body={"message": "Can I put you in my skate video?"},
        expect=201,
    )
    note = demo.call("GET", "/api/v1/notifications", who="ava", params={"limit": 1})
    demo.step(
        f"Ava switched to 'people I approve'. Dev asked to use it; Ava was notified: \"{note['results'][0]['text']}\"."
    )
    demo.call("POST", f"/api/v1/cameos/requests/{asked['id']}/decide", who="ava", json_body={"decision": "deny"})
    cleo_asked = demo.call("POST", f"{cameo_url}/requests", who="cleo", json_body={}, expect=201)
    demo.call(
        "POST", f"/api/v1/cameos/requests/{cleo_asked['id']}/decide", who="ava", json_body={"decision": "approve"}
    )
    dev_now = demo.call("GET", cameo_url, who="dev")["can_use"]
    cleo_now = demo.call("GET", cameo_url, who="cleo")["can_use"]
    assert not dev_now["allowed"] and cleo_now["allowed"]
    demo.step(
        f"She denied Dev ({dev_now['code']}) and approved Cleo, who is now on her allow list ({cleo_now['code']}); "
        "both were told."
    )

    demo.call("POST", f"{cameo_url}/access", who="ava", json_body={"handle": "ben", "effect": "deny"})
    ben_now = demo.call("GET", cameo_url, who="ben", expect=404)
    demo.step(
        f"Ava put Ben on her deny list: deny always wins, even for a friend (he now gets "
        f"{ben_now['error']['code']}). Any queued generation of his featuring her would be cancelled."
    )
    demo.call("DELETE", f"{cameo_url}/access/ben", who="ava")
    demo.call("PATCH", cameo_url, who="ava", json_body={"audience": "mutuals"})

    _, pet = _create(demo, "tess", "pet", "biscuit", "Biscuit the dog", subject="pet")
    pet = _wait_verified(demo, "tess", pet["id"])
    assert pet["status"] == "active", pet
    demo.call("PATCH", f"/api/v1/cameos/{pet['id']}", who="tess", json_body={"audience": "everyone"})
    stranger = demo.call("GET", f"/api/v1/cameos/{pet['id']}", who="dev", expect=404)
    demo.step(
        "Tess (15) verified a cameo of her dog Biscuit and opened it to everyone; because she is a minor, "
        f"only her mutuals may use it, so Dev still cannot see it ({stranger['error']['code']})."
    )

    if "staff" not in demo.people:
        demo.step("Characters and royalties need a staff account to mark a rights holder; this run has none.")
        return
    demo.sign_up("acme", display_name="Acme Pictures")
    demo.call(
        "POST",
        "/api/v1/cameos/rights-holders",
        who="staff",
        json_body={"handle": "acme", "organisation": "Acme Pictures"},
    )
    _, captain = _create(demo, "acme", "character", "captain-nova", "Captain Nova", subject="pet")
    captain = _wait_verified(demo, "acme", captain["id"])
    demo.call(
        "PUT",
        f"/api/v1/cameos/{captain['id']}/licence",
        who="acme",
        json_body={"allowed_themes": ["space", "adventure"], "forbidden_themes": ["politics"], "fee_credits": 5},
    )
    demo.call("PATCH", f"/api/v1/cameos/{captain['id']}", who="acme", json_body={"audience": "everyone"})
    seen = demo.call("GET", "/api/v1/cameos/search", who="ben", params={"q": "captain"})["results"][0]
    demo.step(
        f"Acme Pictures, a rights holder, published the character {seen['display_name']}: anyone may use it for "
        f"{seen['licence']['fee_credits']} credits a generation, 70% of which go to Acme through the royalty ledger."
    )
    demo.facts["captain_cameo_id"] = captain["id"]
