"""Leaving, end to end on the real stack (ASGI server, Celery workers on both queues, the embedded
model): a person verifies a cameo; they and another user make videos with it, the other one
also a remix of the person's post (a derivative); the person exports their data (the archive is
built by the worker) and deletes their account; afterwards every URL that served any of those
videos, collected beforehand, answers 404 or 410."""

from __future__ import annotations

import io
import json
import time
import zipfile
from types import SimpleNamespace

import httpx
import pytest
from django.core.files.storage import default_storage

from cameos.models import Cameo, CameoStatus
from tests.cameos.factories import clip_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "leaving-for-good-2026"


def _signup(http: httpx.Client, handle: str, password: str) -> httpx.Client:
    response = http.post(
        "/api/v1/auth/signup", json={"handle": handle, "password": password, "date_of_birth": "1992-05-06"}
    )
    assert response.status_code == 201, response.text
    return httpx.Client(
        base_url=str(http.base_url), headers={"Authorization": f"Bearer {response.json()['token']}"}, timeout=60
    )


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen in {timeout}s")


def _generate_and_post(api: httpx.Client, body: dict, caption: str) -> tuple[dict, dict]:
    submitted = api.post("/api/v1/generations", json={"seconds": 4, "size": "720x1280", **body})
    assert submitted.status_code == 201, submitted.text
    job_id = submitted.json()["id"]

    def finished():
        job = api.get(f"/api/v1/generations/{job_id}").json()
        return job if job["status"] not in ("queued", "running") else None

    job = _wait(finished, 300, f"generation {job_id}")
    assert job["status"] == "succeeded", job
    posted = api.post("/api/v1/posts", json={"video_id": job["video"]["id"], "caption": caption})
    assert posted.status_code == 201, posted.text
    return job, posted.json()


def test_export_then_delete_leaves_nothing_with_their_likeness(live_stack):
    http = httpx.Client(base_url=live_stack.base_url, timeout=60)
    owner = _signup(http, "leaving_lena", PASSWORD)
    maker = _signup(http, "maker_milo", "maker-password-2026")
    viewer = _signup(http, "viewer_vic", "viewer-password-2026")

    # A verified person cameo, through the real verification worker; everyone may use it.
    challenge = owner.post("/api/v1/cameos/challenges", json={"kind": "person", "name": "lena"}).json()
    clip = clip_bytes(challenge=SimpleNamespace(pk=challenge["id"], code=challenge["code"]))
    made = owner.post("/api/v1/cameos", data={"challenge_id": challenge["id"]}, files={"clip": ("c.mp4", clip)})
    assert made.status_code == 202, made.text
    cameo_id = made.json()["id"]

    def verified():
        body = owner.get(f"/api/v1/cameos/{cameo_id}").json()
        return body if body["status"] != "pending" else None

    assert _wait(verified, 120, "verification")["status"] == "active"
    assert owner.patch(f"/api/v1/cameos/{cameo_id}", json={"audience": "everyone"}).status_code == 200
    references = owner.get(f"/api/v1/cameos/{cameo_id}/references").json()["references"]
    assert references

    own_job, own_post = _generate_and_post(
        owner, {"prompt": "@leaving_lena waves at the camera", "cameos": [str(cameo_id)]}, "hello from me"
    )
    maker_job, maker_post = _generate_and_post(
        maker, {"prompt": "@leaving_lena juggles three oranges", "cameos": [str(cameo_id)]}, "lena juggling"
    )
    # A derivative: the maker remixes the owner's post; the remix inherits the cameo.
    remix_job, remix_post = _generate_and_post(
        maker, {"prompt": "the same scene at night", "remix_of": own_post["id"]}, "night remix"
    )
    assert {c["id"]: c["inherited"] for c in remix_job["cameos"]} == {cameo_id: True}, remix_job
    assert [c["id"] for c in remix_post["cameos"]] == [cameo_id], remix_post

    # Every URL that serves a video with the likeness, as the people who could use it saw it;
    # signed links are fetched with no token at all, as a player would.
    anon = httpx.Client(base_url=live_stack.base_url, timeout=60)
    served: list[tuple[httpx.Client, str]] = []
    for post in (own_post, maker_post, remix_post):
        seen = viewer.get(f"/api/v1/posts/{post['id']}").json()
        served += [(anon, seen["video"]["url"]), (anon, seen["video"]["thumbnail_url"])]
        served += [(viewer, f"/api/v1/posts/{post['id']}"), (maker, f"/api/v1/posts/{post['id']}")]
    served.append((maker, f"/api/v1/posts/{remix_post['id']}/chain"))
    for api, job in ((owner, own_job), (maker, maker_job), (maker, remix_job)):
        video_id = job["video"]["id"]
        served += [(api, f"/api/v1/videos/{video_id}"), (api, f"/api/v1/videos/{video_id}/content")]
        served += [(anon, job["video"]["url"])]
        served += [
            (api, f"/v1/videos/{job['id']}/content?variant={variant}")
            for variant in ("video", "thumbnail", "spritesheet")
        ]
    served += [
        (viewer, f"/api/v1/cameos/{cameo_id}"),
        (viewer, f"/api/v1/users/{'leaving_lena'}"),
        (viewer, "/api/v1/users/leaving_lena/posts"),
    ]
    for api, url in served:
        response = api.get(url)
        assert response.status_code == 200, (url, response.status_code, response.text[:200])
    cameo_feed = viewer.get(f"/api/v1/cameos/{cameo_id}/posts").json()["results"]
    assert {own_post["id"], maker_post["id"], remix_post["id"]} <= {p["id"] for p in cameo_feed}

    # Export: built by the default worker; the owner is notified; the signed link needs no token.
    started = owner.post("/api/v1/account/export")
    assert started.status_code == 202, started.text
    export_id = started.json()["id"]

    def export_done():
        body = owner.get(f"/api/v1/account/export/{export_id}").json()
        return body if body["status"] != "pending" else None

    export = _wait(export_done, 120, "the export")
    assert export["status"] == "ready", export
    kinds = {n["kind"] for n in owner.get("/api/v1/notifications").json()["results"]}
    assert "account_export_ready" in kinds
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(export["download_url"], timeout=60).content))
    names = set(archive.namelist())
    cameos = json.loads(archive.read("cameos.json"))["cameos"]
    assert [c["id"] for c in cameos] == [cameo_id] and cameos[0]["settings"]["audience"] == "everyone"
    appearance_videos = {a["video_id"] for a in cameos[0]["appearances"]}
    assert {own_job["video"]["id"], maker_job["video"]["id"], remix_job["video"]["id"]} <= appearance_videos
    assert cameos[0]["clip"] in names and all(r["file"] in names for r in cameos[0]["references"])
    generations = json.loads(archive.read("generations.json"))
    assert [g["prompt"] for g in generations["generations"]] == ["@leaving_lena waves at the camera"]
    own_video = {v["id"]: v for v in generations["videos"]}[own_job["video"]["id"]]
    mp4 = archive.read(own_video["video_file"])
    assert mp4 == owner.get(own_job["video"]["url"]).content
    assert [p["caption"] for p in json.loads(archive.read("posts.json"))["posts"]] == ["hello from me"]

    # Delete: the password is asked again.
    assert owner.request("DELETE", "/api/v1/account", json={"password": "guess"}).status_code == 403
    deleted = owner.request("DELETE", "/api/v1/account", json={"password": PASSWORD})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["counts"]["cameos.appearances_taken_down"] >= 3

    # Nothing with the likeness is served any more, to anyone, by any URL that served it.
    for api, url in served:
        response = api.get(url)
        # The owner's own token no longer authenticates at all (401); everyone else gets 404/410.
        allowed = (401, 404, 410) if api is owner else (404, 410)
        assert response.status_code in allowed, (url, response.status_code)
        if response.headers.get("content-type", "").startswith("application/json"):
            assert "error" in response.json()
    gone = viewer.get(f"/api/v1/cameos/{cameo_id}/posts")
    assert gone.status_code in (404, 410) or not gone.json()["results"]
    latest = {p["id"] for p in viewer.get("/api/v1/feed/latest").json()["results"]}
    assert not latest & {own_post["id"], maker_post["id"], remix_post["id"]}
    assert owner.get("/api/v1/me").status_code == 401
    assert httpx.get(export["download_url"], timeout=60).status_code == 404
    # The maker was told why their videos went, without the person's name.
    removed = [
        n for n in maker.get("/api/v1/notifications").json()["results"] if n["kind"] == "cameo_appearance_removed"
    ]
    assert removed and all("leaving_lena" not in n["text"] for n in removed)

    # The cameo's clip and reference images are erased from storage.
    cameo = Cameo.objects.get(pk=cameo_id)
    assert cameo.status == CameoStatus.REVOKED and not cameo.clip_path and cameo.embedding is None
    assert not cameo.references.exists()
    stored = default_storage.listdir(f"private/cameos/{cameo.owner_id}")[0]
    assert all(not default_storage.listdir(f"private/cameos/{cameo.owner_id}/{folder}")[1] for folder in stored)
