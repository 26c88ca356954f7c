"""Verification on the real thing: the live ASGI server and a real Celery worker (queue default)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import httpx
import pytest

from tests.cameos.factories import clip_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_person_cameo_is_verified_by_the_worker(live_stack):
    http = httpx.Client(base_url=live_stack.base_url, timeout=60)
    signup = http.post(
        "/api/v1/auth/signup",
        json={"handle": "live_ava", "password": "live-pass-ava-2026", "date_of_birth": "1994-02-03"},
    )
    assert signup.status_code == 201, signup.text
    auth = {"Authorization": f"Bearer {signup.json()['token']}"}

    challenge = http.post("/api/v1/cameos/challenges", json={"kind": "person", "name": "ava"}, headers=auth).json()
    good = clip_bytes(challenge=SimpleNamespace(pk=challenge["id"], code=challenge["code"]))
    made = http.post(
        "/api/v1/cameos", data={"challenge_id": challenge["id"]}, files={"clip": ("c.mp4", good)}, headers=auth
    )
    assert made.status_code == 202, made.text
    cameo_id = made.json()["id"]

    # A second attempt whose clip does not show its card: the worker rejects it with a reason.
    other = http.post("/api/v1/cameos/challenges", json={"kind": "pet", "name": "rex"}, headers=auth).json()
    bad = clip_bytes(challenge=None, subject="object")
    rejected = http.post(
        "/api/v1/cameos", data={"challenge_id": other["id"]}, files={"clip": ("r.mp4", bad)}, headers=auth
    ).json()

    def status_of(pk: int) -> dict:
        return http.get(f"/api/v1/cameos/{pk}", headers=auth).json()

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        first, second = status_of(cameo_id), status_of(rejected["id"])
        if first["status"] != "pending" and second["status"] != "pending":
            break
        time.sleep(0.5)
    assert first["status"] == "active", first
    assert first["verification"]["challenge"] == "shown" and first["verification"]["face_frames"] > 0
    assert (second["status"], second["rejection_code"]) == ("rejected", "challenge_not_shown"), second
    refs = http.get(f"/api/v1/cameos/{cameo_id}/references", headers=auth).json()["references"]
    assert len(refs) == 4
    assert http.get(refs[0]["download_url"], headers=auth).headers["content-type"] == "image/png"
