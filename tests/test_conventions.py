"""Conventions clients rely on, through the API: Idempotency-Key on every creating POST,
X-Request-Id on every response, RateLimit fields and Retry-After, Link headers on cursor pages."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from cameos.models import Cameo, CameoChallenge
from feed.models import Comment, Post
from generation.media import render_clip
from generation.models import Video
from moderation.models import Appeal, Report
from sora_social.idempotency.models import IdempotencyRecord
from tests.cameos.factories import clip_bytes as cameo_clip_bytes
from tests.cameos.factories import upload as cameo_upload
from tests.feed.factories import CommentFactory, PostFactory
from tests.generation.factories import VideoFactory
from tests.moderation.factories import act, case_of, clear_report_throttle, moderator, report
from tests.users.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


# --- Idempotency-Key -------------------------------------------------------------------------


@dataclass
class Creating:
    """One creating POST: where, two different bodies, and how many rows it has made."""

    path: str
    body: dict
    other_body: dict
    count: Callable[[], int]
    format: str = "json"


def _post(user) -> Creating:
    video, other = VideoFactory(created_by=user), VideoFactory(created_by=user)
    return Creating(
        "/api/v1/posts",
        {"video_id": video.pk, "caption": "first"},
        {"video_id": other.pk, "caption": "first"},
        lambda: Post.objects.filter(author=user).count(),
    )


def _remix(user) -> Creating:
    parent = PostFactory()
    video = VideoFactory(created_by=user)
    return Creating(
        f"/api/v1/posts/{parent.pk}/remixes",
        {"video_id": video.pk, "caption": "my take"},
        {"video_id": video.pk, "caption": "another take"},
        lambda: Post.objects.filter(author=user, remix_of=parent).count(),
    )


def _comment(user) -> Creating:
    post = PostFactory()
    return Creating(
        f"/api/v1/posts/{post.pk}/comments",
        {"body": "nice one"},
        {"body": "nice two"},
        lambda: Comment.objects.filter(author=user).count(),
    )


def _report(user) -> Creating:
    clear_report_throttle(user)
    post = PostFactory()
    return Creating(
        "/api/v1/reports",
        {"target_type": "post", "target_id": post.pk, "reason": "spam", "text": ""},
        {"target_type": "post", "target_id": post.pk, "reason": "harassment", "text": ""},
        lambda: Report.objects.filter(reporter=user).count(),
    )


def _upload(user) -> Creating:
    first, second = render_clip(seconds=0.5, seed=11), render_clip(seconds=0.5, seed=12)
    return Creating(
        "/api/v1/videos",
        {"file": lambda: SimpleUploadedFile("a.mp4", first)},
        {"file": lambda: SimpleUploadedFile("a.mp4", second)},
        lambda: Video.objects.filter(created_by=user).count(),
        format="multipart",
    )


def _challenge(user) -> Creating:
    return Creating(
        "/api/v1/cameos/challenges",
        {"kind": "person", "name": "ava"},
        {"kind": "person", "name": "bea"},
        lambda: CameoChallenge.objects.filter(owner=user).count(),
    )


def _cameo(user) -> Creating:
    from cameos import services as cameo_services

    challenge = cameo_services.challenge_create(owner=user, kind="person", name="ava")
    clip = cameo_clip_bytes(challenge=challenge)
    return Creating(
        "/api/v1/cameos",
        {"challenge_id": challenge.pk, "clip": lambda: cameo_upload(clip), "description": "me"},
        {"challenge_id": challenge.pk, "clip": lambda: cameo_upload(clip), "description": "me, again"},
        lambda: Cameo.objects.filter(owner=user).count(),
        format="multipart",
    )


def _appeal(user) -> Creating:
    post = PostFactory(author=user)
    action = act(case_of(report(target_type="post", target_id=post.pk, reason="spam")), moderator(), "remove")
    return Creating(
        f"/api/v1/moderation/actions/{action.pk}/appeal",
        {"text": "It is my own art."},
        {"text": "Please look again."},
        lambda: Appeal.objects.filter(appellant=user).count(),
    )


def _share(user) -> Creating:
    from feed.models import Share

    post = PostFactory()
    return Creating(
        f"/api/v1/posts/{post.pk}/shares",
        {"channel": "link"},
        {"channel": "message"},
        lambda: Share.objects.filter(user=user).count(),
    )


CREATING = {
    "posts": _post,
    "remixes": _remix,
    "comments": _comment,
    "reports": _report,
    "uploads": _upload,
    "cameo_challenges": _challenge,
    "cameos": _cameo,
    "appeals": _appeal,
    "shares": _share,
}


def _send(api: APIClient, case: Creating, body: dict, key: str | None):
    # Files are made fresh per request (a request reads them to the end).
    data = {k: v() if callable(v) else v for k, v in body.items()}
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(case.path, data, format=case.format, **headers)


@pytest.mark.parametrize("name", list(CREATING))
def test_a_retry_with_the_same_key_replays_the_first_response_and_creates_nothing(client_for, name):
    user = UserFactory()
    api = client_for(user)
    case = CREATING[name](user)
    before = case.count()

    first = _send(api, case, case.body, "tap-1")
    assert 200 <= first.status_code < 300, first.content
    assert case.count() == before + 1
    assert "Idempotent-Replayed" not in first

    again = _send(api, case, case.body, "tap-1")
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert case.count() == before + 1

    reused = _send(api, case, case.other_body, "tap-1")
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert case.count() == before + 1


def test_keys_belong_to_their_user_and_no_key_means_no_deduplication(client_for):
    post = PostFactory()
    alice, bob = UserFactory(), UserFactory()
    path = f"/api/v1/posts/{post.pk}/comments"
    for who in (alice, bob):
        response = client_for(who).post(path, {"body": "same"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 201 and response.json()["author"]["handle"] == who.handle
    for _ in range(2):
        assert client_for(alice).post(path, {"body": "same"}, format="json").status_code == 201
    assert Comment.objects.filter(post=post, author=alice).count() == 3
    assert Comment.objects.filter(post=post, author=bob).count() == 1


def test_a_refused_request_is_not_kept_so_the_key_can_be_used_once_it_is_fixed(client_for):
    post = PostFactory()
    api = client_for(UserFactory())
    path = f"/api/v1/posts/{post.pk}/comments"
    refused = api.post(path, {"body": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert refused.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    fixed = api.post(path, {"body": "now with words"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert fixed.status_code == 201
    assert Comment.objects.filter(post=post).count() == 1


def test_an_unusable_key_is_400(client_for):
    post = PostFactory()
    api = client_for(UserFactory())
    response = api.post(
        f"/api/v1/posts/{post.pk}/comments", {"body": "hi"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 300
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Comment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_make_one_comment(client_for, monkeypatch):
    """Two requests with one key at once: the second waits on the unique constraint while the
    first's transaction is open (the write is slowed to make sure they overlap), then replays it."""
    from feed import services as feed_services

    real_comment_create = feed_services.comment_create

    def slow_comment_create(**kwargs):
        comment = real_comment_create(**kwargs)
        time.sleep(0.5)
        return comment

    monkeypatch.setattr(feed_services, "comment_create", slow_comment_create)
    post = PostFactory()
    user = UserFactory()
    clients = [client_for(user), client_for(user)]
    start = threading.Barrier(2)
    responses: list = [None, None]

    def send(index: int) -> None:
        try:
            start.wait()
            responses[index] = clients[index].post(
                f"/api/v1/posts/{post.pk}/comments", {"body": "at once"}, format="json", HTTP_IDEMPOTENCY_KEY="dup"
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert Comment.objects.filter(post=post).count() == 1


def test_records_past_their_ttl_are_purged(client_for, settings):
    from datetime import timedelta

    from django.utils import timezone

    from sora_social.idempotency.tasks import idempotency_records_purge_expired_task

    settings.IDEMPOTENCY_KEY_TTL_S = 3600
    post = PostFactory()
    api = client_for(UserFactory())
    for key in ("old", "new"):
        api.post(f"/api/v1/posts/{post.pk}/comments", {"body": key}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=2))
    assert idempotency_records_purge_expired_task() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    # After the purge the old key is a new request.
    again = api.post(f"/api/v1/posts/{post.pk}/comments", {"body": "old"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Comment.objects.filter(post=post).count() == 3


def test_deleting_the_account_drops_its_stored_responses(client_for):
    leaving, staying = UserFactory(), UserFactory()
    post = PostFactory()
    for who in (leaving, staying):
        client_for(who).post(
            f"/api/v1/posts/{post.pk}/comments", {"body": "kept a day"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
        )
    response = client_for(leaving).delete("/api/v1/account", {"password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["idempotency.records_deleted"] == 1
    assert list(IdempotencyRecord.objects.values_list("user_id", flat=True)) == [staying.pk]


def test_the_schema_declares_the_header_on_every_creating_post(anon_client):
    import yaml

    schema = yaml.safe_load(anon_client.get("/api/schema/").content)
    paths = {
        "/api/v1/posts",
        "/api/v1/posts/{post_id}/remixes",
        "/api/v1/posts/{post_id}/comments",
        "/api/v1/reports",
        "/api/v1/videos",
        "/api/v1/cameos/challenges",
        "/api/v1/cameos",
        "/api/v1/moderation/actions/{action_id}/appeal",
        "/api/v1/generations",
        "/api/v1/posts/{post_id}/shares",
        "/api/v1/cameos/{cameo_id}/requests",
        "/api/v1/moderation/cases/{case_id}/actions",
    }
    for path in paths:
        names = [(p["in"], p["name"]) for p in schema["paths"][path]["post"].get("parameters", [])]
        assert ("header", "Idempotency-Key") in names, path


# --- X-Request-Id ----------------------------------------------------------------------------


def test_every_response_has_a_request_id(api, anon_client):
    ids = set()
    for response in (
        api.get("/api/v1/me"),
        api.get("/api/v1/posts/999999"),  # a 404
        anon_client.get("/api/v1/me"),  # a 401
        anon_client.get("/healthz"),
    ):
        request_id = response["X-Request-Id"]
        assert uuid.UUID(request_id)
        ids.add(request_id)
    assert len(ids) == 4


def test_a_sane_incoming_request_id_is_kept_and_others_replaced(api):
    kept = api.get("/api/v1/me", HTTP_X_REQUEST_ID="edge-7f3a.9")
    assert kept["X-Request-Id"] == "edge-7f3a.9"
    for bad in ("has space", "x" * 200, "new\nline", "<script>"):
        replaced = api.get("/api/v1/me", HTTP_X_REQUEST_ID=bad)
        assert replaced["X-Request-Id"] != bad and uuid.UUID(replaced["X-Request-Id"])


def test_the_request_id_also_comes_under_asgi():
    """The middleware chain in async mode (as under daphne): the same header."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    client = AsyncClient()

    async def both():
        return await client.get("/api/v1/me", headers={"x-request-id": "async-1"}), await client.get("/api/v1/x")

    refused, missing = async_to_sync(both)()
    assert refused.status_code == 401
    assert refused["X-Request-Id"] == "async-1"
    assert missing.status_code == 404 and uuid.UUID(missing["X-Request-Id"])


def test_log_records_carry_the_request_id(api, monkeypatch):
    """The view logs through the configured handler's filter: the record has the request's id."""
    import logging

    from sora_social.common.request_id import RequestIdLogFilter

    seen: list[str] = []
    real_me = __import__("sora_social.users.apis", fromlist=["own_profile_data"]).own_profile_data

    def logging_profile(user):
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "profile", None, None)
        RequestIdLogFilter().filter(record)
        seen.append(record.request_id)
        return real_me(user)

    monkeypatch.setattr("sora_social.users.apis.own_profile_data", logging_profile)
    response = api.get("/api/v1/me", HTTP_X_REQUEST_ID="log-me-1")
    assert response.status_code == 200
    assert seen == ["log-me-1"]


# --- RateLimit fields and Retry-After --------------------------------------------------------


@pytest.fixture
def login_limit_3(monkeypatch):
    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min", "signup": "3/min"})
    yield
    cache.clear()


def test_throttled_routes_send_the_ratelimit_fields_and_a_429_has_retry_after(anon_client, login_limit_3):
    UserFactory(handle="rl_dora")
    remaining = []
    for _ in range(3):
        response = anon_client.post("/api/v1/auth/login", {"handle": "rl_dora", "password": PASSWORD}, format="json")
        assert response.status_code == 200
        assert response["RateLimit-Limit"] == "3"
        assert response["RateLimit-Policy"] == "3;w=60"
        assert 0 < int(response["RateLimit-Reset"]) <= 60
        remaining.append(response["RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    refused = anon_client.post("/api/v1/auth/login", {"handle": "rl_dora", "password": PASSWORD}, format="json")
    assert refused.status_code == 429
    assert refused["RateLimit-Remaining"] == "0"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["retry_after_s"] == int(refused["Retry-After"])


def test_routes_without_a_limit_send_no_ratelimit_fields(api):
    assert "RateLimit-Limit" not in api.get("/api/v1/me")


def test_the_login_backoff_429_has_retry_after(anon_client, settings):
    settings.LOGIN_BACKOFF_AFTER_FAILURES = 2
    UserFactory(handle="rl_eve")
    cache.clear()
    try:
        for _ in range(2):
            anon_client.post("/api/v1/auth/login", {"handle": "rl_eve", "password": "wrong-wrong"}, format="json")
        locked = anon_client.post("/api/v1/auth/login", {"handle": "rl_eve", "password": PASSWORD}, format="json")
    finally:
        cache.clear()
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "login_backoff"
    assert int(locked["Retry-After"]) > 0


def test_the_jobs_in_flight_429_has_retry_after(client_for, settings, monkeypatch):
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)
    settings.GENERATION_MAX_IN_FLIGHT = 1
    settings.RETRY_AFTER_DEFAULT_S = 17
    api = client_for(UserFactory())
    assert api.post("/api/v1/generations", {"prompt": "a red ball bounces"}, format="json").status_code == 201
    refused = api.post("/api/v1/generations", {"prompt": "a blue ball bounces"}, format="json")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_jobs_in_flight"
    assert refused["Retry-After"] == "17"
    assert refused.json()["error"]["retry_after_s"] == 17


def test_the_cameo_attempts_429_has_retry_after(client_for, settings):
    settings.CAMEO_CHALLENGES_PER_HOUR = 2
    api = client_for(UserFactory())
    codes = [
        api.post("/api/v1/cameos/challenges", {"kind": "person", "name": name}, format="json")
        for name in ("ava", "bea", "cid")
    ]
    assert [r.status_code for r in codes] == [201, 201, 429]
    # Free again when the first of the hour's two attempts is an hour old.
    assert 3500 < int(codes[2]["Retry-After"]) <= 3600


def test_the_export_limit_429_says_when_the_day_frees_up(client_for, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from sora_social.users.models import AccountExport, AccountExportStatus

    user = UserFactory()
    now = timezone.now()
    for hours_ago in (20, 10, 5):  # three finished exports in the last day: the limit
        export = AccountExport.objects.create(user=user, status=AccountExportStatus.FAILED)
        AccountExport.objects.filter(pk=export.pk).update(created_at=now - timedelta(hours=hours_ago))
    refused = client_for(user).post("/api/v1/account/export")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "export_limit"
    # The oldest of the three leaves the day's window in about 4 hours.
    assert abs(int(refused["Retry-After"]) - 4 * 3600) < 60


# --- Link headers on cursor pages ------------------------------------------------------------


def test_cursor_pages_give_a_link_header_to_the_next_page(api):
    post = PostFactory()
    for i in range(3):
        CommentFactory(post=post, body=f"c{i}")
    url = f"/api/v1/posts/{post.pk}/comments?limit=2"
    first = api.get(url)
    assert first.status_code == 200
    body = first.json()
    assert body["next"]
    assert first["Link"] == f'<{body["next"]}>; rel="next"'
    last = api.get(body["next"])
    assert last.json()["next"] is None
    assert "Link" not in last
    assert [c["body"] for c in body["results"] + last.json()["results"]] == ["c2", "c1", "c0"]
