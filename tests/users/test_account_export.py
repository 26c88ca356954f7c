"""Exporting one's data: POST /api/v1/account/export builds a ZIP in a task (run here in-process),
the owner is notified, and only the owner can download it (bearer token or signed link)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from cameos import services as cameo_services
from cameos import storage as cameo_storage
from cameos.models import CameoAudience, CameoReference
from generation import credits
from generation.services import video_take_down
from sora_social.notifications.models import Notification
from sora_social.users.models import AccountExport
from sora_social.users.tasks import account_export_build_task
from tests.cameos.factories import CameoFactory
from tests.generation.factories import clip_bytes, real_video
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/account/export"


@pytest.fixture(autouse=True)
def _tasks_in_process(monkeypatch):
    """The build task runs right here (the worker path is covered by the e2e test); jobs stay queued."""
    built: list[int] = []

    def run(args, queue=None, **options) -> None:
        assert queue == "default"
        built.append(args[0])
        account_export_build_task.apply(args=args)

    monkeypatch.setattr(account_export_build_task, "apply_async", run)
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)
    return built


def _export(api, django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL)
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending"
    return api.get(f"{URL}/{response.json()['id']}").json()


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, getattr(response, "data", response)
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_archive_holds_their_data_and_media(client_for, django_capture_on_commit_callbacks, _tasks_in_process):
    owner, friend = UserFactory(handle="edith_export", bio="I make videos"), UserFactory(handle="fred_friend")
    api, friend_api = client_for(owner), client_for(friend)
    cameo = CameoFactory(owner=owner, name="edith", audience=CameoAudience.EVERYONE, instructions="always a hat")
    folder = cameo_storage.new_private_folder(owner.pk)
    cameo.clip_path = cameo_storage.save(f"{folder}/clip.mp4", clip_bytes(seed=9))
    cameo.save(update_fields=["clip_path"])
    ref = cameo_storage.save(f"{folder}/ref.png", b"\x89PNG reference")
    CameoReference.objects.create(cameo=cameo, role="face", index=0, path=ref, width=4, height=4, is_primary=True)
    credits.credits_purchase(user=owner, amount=20, receipt_id="rcpt-edith")

    video = real_video(owner, seed=11)
    post = api.post(
        "/api/v1/posts", {"video_id": video.pk, "caption": "hat day", "cameo_ids": [cameo.pk]}, format="json"
    )
    assert post.status_code == 201, post.json()
    gone = real_video(owner, seed=12)
    video_take_down(video=gone, reason="moderation")
    friend_video = real_video(friend, seed=13)
    cameo_services.appearance_record(cameo=cameo, creator=friend, video_id=friend_video.pk)
    friend_post = friend_api.post("/api/v1/posts", {"video_id": friend_video.pk}, format="json").json()
    api.post(f"/api/v1/posts/{friend_post['id']}/like")
    api.post(f"/api/v1/posts/{friend_post['id']}/comments", {"body": "nice one"}, format="json")
    api.post(f"/api/v1/users/{friend.handle}/follow")
    api.post(
        "/api/v1/reports", {"target_type": "post", "target_id": friend_post["id"], "reason": "spam"}, format="json"
    )
    job = api.post("/api/v1/generations", {"prompt": "edith juggling oranges"}, format="json")
    assert job.status_code == 201, job.json()

    export = _export(api, django_capture_on_commit_callbacks)
    assert export["status"] == "ready", export
    assert export["file_count"] == 4 and export["size_bytes"] > 0 and export["download_url"]
    assert Notification.objects.filter(recipient=owner, kind="account_export_ready").count() == 1

    archive = _zip(api.get(f"{URL}/{export['id']}/download"))
    names = set(archive.namelist())
    assert {"README.txt", "manifest.json", "account.json", "cameos.json", "generations.json", "posts.json"} <= names
    assert {"moderation.json", "notifications.json", "feed_preferences.json"} <= names

    account = json.loads(archive.read("account.json"))
    assert account["profile"]["handle"] == "edith_export" and account["profile"]["bio"] == "I make videos"
    assert [f["handle"] for f in account["following"]] == ["fred_friend"]
    assert all("digest" not in t for t in account["tokens"])

    cameos = json.loads(archive.read("cameos.json"))["cameos"]
    assert [c["name"] for c in cameos] == ["edith"]
    assert cameos[0]["settings"] == {"audience": "everyone", "instructions": "always a hat", "restrictions": []}
    assert {a["video_id"] for a in cameos[0]["appearances"]} == {video.pk, friend_video.pk}
    assert archive.read(cameos[0]["clip"]) == default_storage.open(cameo.clip_path).read()
    assert archive.read(cameos[0]["references"][0]["file"]) == b"\x89PNG reference"

    generations = json.loads(archive.read("generations.json"))
    assert [g["prompt"] for g in generations["generations"]] == ["edith juggling oranges"]
    assert {e["kind"] for e in generations["credits"]["ledger"]} == {"purchase", "reserve"}
    by_id = {v["id"]: v for v in generations["videos"]}
    assert archive.read(by_id[video.pk]["video_file"]) == video.file.open("rb").read()
    assert by_id[video.pk]["thumbnail_file"] in names
    # A taken-down video is listed, but its pixels are not handed out again; nor is a friend's.
    assert by_id[gone.pk]["status"] == "taken_down" and by_id[gone.pk]["video_file"] is None
    assert friend_video.pk not in by_id

    posts = json.loads(archive.read("posts.json"))
    assert [p["caption"] for p in posts["posts"]] == ["hat day"]
    assert [c["body"] for c in posts["comments"]] == ["nice one"]
    assert [like["post_id"] for like in posts["likes"]] == [friend_post["id"]]
    assert [r["target_id"] for r in json.loads(archive.read("moderation.json"))["reports_filed"]] == [friend_post["id"]]
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["handle"] == "edith_export" and len(manifest["media"]) == 4 and not manifest["missing_media"]


def test_only_the_owner_can_download(client_for, anon_client, django_capture_on_commit_callbacks):
    owner, stranger = UserFactory(), UserFactory()
    api, stranger_api = client_for(owner), client_for(stranger)
    export = _export(api, django_capture_on_commit_callbacks)
    download = f"{URL}/{export['id']}/download"

    # The signed link works without a bearer token (a browser download) ...
    signed = export["download_url"]
    assert _zip(anon_client.get(signed)).read("account.json")
    # ... and for nobody else, with or without their own token, on no other export.
    assert stranger_api.get(download).status_code == 404
    assert stranger_api.get(f"{URL}/{export['id']}").status_code == 404
    assert anon_client.get(download).status_code == 401
    token = signed.split("token=", 1)[1]
    assert anon_client.get(f"{download}?token={token[:-2]}xx").status_code == 404
    other = _export(stranger_api, django_capture_on_commit_callbacks)
    assert anon_client.get(f"{URL}/{other['id']}/download?token={token}").status_code == 404
    assert anon_client.get(f"{URL}/{other['id']}/download").json()["error"]["code"] == "not_authenticated"


def test_expired_and_pending_exports(client_for, django_capture_on_commit_callbacks, _tasks_in_process, monkeypatch):
    owner = UserFactory()
    api = client_for(owner)
    export = _export(api, django_capture_on_commit_callbacks)
    AccountExport.objects.filter(pk=export["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = api.get(f"{URL}/{export['id']}/download")
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "export_expired"
    assert api.get(f"{URL}/{export['id']}").json()["download_url"] is None

    # While one is being built, asking again returns it instead of starting another.
    monkeypatch.setattr(account_export_build_task, "apply_async", lambda args, queue=None, **options: None)
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(URL).json()
        second = api.post(URL).json()
    assert first["id"] == second["id"] and first["status"] == "pending"
    pending = api.get(f"{URL}/{first['id']}/download")
    assert pending.status_code == 409 and pending.json()["error"]["code"] == "export_not_ready"
    assert [e["id"] for e in api.get(URL).json()] == [first["id"], export["id"]]

    # The purge erases expired archives.
    path = AccountExport.objects.get(pk=export["id"]).path
    from sora_social.users.services import account_exports_purge_expired

    with django_capture_on_commit_callbacks(execute=True):
        assert account_exports_purge_expired() == 1
    assert not default_storage.exists(path)


def test_deleting_the_account_erases_its_archives(client_for, django_capture_on_commit_callbacks):
    owner = UserFactory()
    owner.set_password("export then leave 2026")
    owner.save()
    api = client_for(owner)
    export = _export(api, django_capture_on_commit_callbacks)
    path = AccountExport.objects.get(pk=export["id"]).path
    assert default_storage.exists(path)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete("/api/v1/account", {"password": "export then leave 2026"}, format="json").status_code == 200
    assert not AccountExport.objects.filter(user=owner).exists() and not default_storage.exists(path)
    # The signed link stops working with the account.
    assert client_for(UserFactory()).get(export["download_url"]).status_code == 404


def test_at_most_three_exports_a_day(client_for, django_capture_on_commit_callbacks, _tasks_in_process):
    api = client_for(UserFactory())
    for _ in range(3):
        assert _export(api, django_capture_on_commit_callbacks)["status"] == "ready"
    refused = api.post(URL)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "export_limit"
    assert len(_tasks_in_process) == 3
    # A day later the person may export again.
    AccountExport.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    assert _export(api, django_capture_on_commit_callbacks)["status"] == "ready"


@pytest.mark.django_db(transaction=True)
def test_a_second_request_while_the_first_is_being_stored_does_not_deadlock(monkeypatch):
    """Seen under schemathesis: two export requests close together. The build of the first locked
    its export, then its ready notification waited for the person's row, which the second request
    held while it waited for that export: PostgreSQL killed one (a 503 to the client)."""
    import threading

    from django.db import connection, transaction

    from sora_social.users import services
    from sora_social.users.models import AccountExportStatus, User

    monkeypatch.setattr(account_export_build_task, "apply_async", lambda args, queue=None, **options: None)
    owner = UserFactory()
    export = services.account_export_request(user=owner)
    holding, go = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def second_request() -> None:
        try:
            with transaction.atomic():
                # The request's first step (its lock on the person), then the rest of it.
                User.objects.select_for_update(no_key=True).filter(pk=owner.pk).values_list("pk", flat=True).get()
                holding.set()
                go.wait(30)
                results["request"] = services.account_export_request(user=owner).pk
        except Exception as exc:  # asserted below
            results["request"] = exc
        finally:
            connection.close()

    def build() -> None:
        try:
            results["build"] = services.account_export_build(export_id=export.pk)
        except Exception as exc:  # asserted below
            results["build"] = exc
        finally:
            connection.close()

    requester = threading.Thread(target=second_request)
    requester.start()
    assert holding.wait(30)
    builder = threading.Thread(target=build)
    builder.start()
    # Let the build reach the lock it waits for, whichever that is, before the request goes on.
    with connection.cursor() as cursor:
        for _ in range(600):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                break
            threading.Event().wait(0.05)
    go.set()
    requester.join(60)
    builder.join(60)
    assert results["request"] == export.pk, results
    assert not isinstance(results["build"], Exception), results
    export.refresh_from_db()
    assert export.status == AccountExportStatus.READY
