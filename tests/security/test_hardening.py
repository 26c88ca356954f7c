"""Regression tests for the holes an attack on a live server found (issue 15, item 5).

Each input that crashed the server (500) or was wrongly accepted is sent again here through
the public API and must be refused with a 4xx in the error shape.
"""

from __future__ import annotations

import pytest

from sora_social.users.models import User

pytestmark = pytest.mark.django_db

SIGNUP = "/api/v1/auth/signup"
LOGIN = "/api/v1/auth/login"


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


# --- passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "password"),
    [
        ("olivia_smith", "passwordpassword"),  # a common password, doubled
        ("olivia_smith", "Password123!"),  # a common password, decorated
        ("olivia_smith", "olivia_smith99"),  # the handle
        ("marcus.lee", "Marcus.Lee.2026"),  # the handle, recased and dated
    ],
)
def test_signup_refuses_common_and_handle_like_passwords(anon_client, handle, password):
    response = anon_client.post(
        SIGNUP, {"handle": handle, "password": password, "date_of_birth": "1990-05-06"}, format="json"
    )
    error = assert_error_shape(response, 422, "weak_password")  # a rule no schema states
    assert error["fields"]["password"]
    assert not User.objects.filter(handle__iexact=handle).exists()


def test_signup_still_accepts_a_good_password(anon_client):
    response = anon_client.post(
        SIGNUP,
        {"handle": "olivia_smith", "password": "violet-lantern-harbor", "date_of_birth": "1990-05-06"},
        format="json",
    )
    assert response.status_code == 201, response.json()


# --- bodies that crashed a view (500) -------------------------------------------------------------

OPENAI_ERROR_KEYS = {"code", "message", "type", "param"}


def assert_openai_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    error = response.json()["error"]
    assert set(error) == OPENAI_ERROR_KEYS
    assert error["type"] == "invalid_request_error" and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


@pytest.fixture
def _no_dispatch(monkeypatch):
    # Jobs stay queued: these tests are about the request, not the render.
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda *args, **kwargs: None)


def _deep_json(depth: int) -> bytes:
    return b'{"caption": "x", "events": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("path", ["/api/v1/posts", "/api/v1/events"])
@pytest.mark.parametrize("depth", [100_000, 200])
def test_deeply_nested_json_is_a_400(api, path, depth):
    response = api.post(path, data=_deep_json(depth), content_type="application/json")
    assert_error_shape(response, 400, "json_too_deep")


def test_json_nesting_our_bodies_use_still_parses(api):
    response = api.post(
        "/api/v1/events", {"events": [{"kind": "view", "post_id": 1, "extra": {"a": [1]}}]}, format="json"
    )
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    "raw_prompt",
    [
        b'"a red ball \\ud800 bounces"',  # a lone surrogate, as JSON escapes allow
        b'"a red ball \\u0000 bounces"',  # a NUL
        b'"a red ball \\udfff"',
    ],
)
def test_unstorable_characters_in_a_v1_prompt_are_a_422(api, _no_dispatch, raw_prompt):
    from generation.models import GenerationJob

    response = api.post("/v1/videos", data=b'{"prompt": ' + raw_prompt + b"}", content_type="application/json")
    error = assert_openai_error(response, 422, "invalid_characters")
    assert error["param"] == "prompt"
    assert not GenerationJob.objects.exists()


def test_a_nul_anywhere_in_a_rest_body_is_a_422(api):
    response = api.post(
        "/api/v1/auth/signup",
        data=b'{"handle": "nul_person", "password": "violet-lantern-harbor", "date_of_birth": "1990-01-01",'
        b' "display_name": "N\\u0000L"}',
        content_type="application/json",
    )
    assert_error_shape(response, 422, "invalid_characters")
    assert not User.objects.filter(handle="nul_person").exists()


@pytest.mark.parametrize("path", ["/v1/videos/extensions", "/v1/videos/edits", "/v1/videos"])
def test_a_json_array_body_on_v1_is_a_400(api, path):
    response = api.post(
        path, data=b'[{"prompt": "x", "video": {"id": "video_1"}, "seconds": "4"}]', content_type="application/json"
    )
    assert_openai_error(response, 400, "body_not_an_object")


@pytest.mark.parametrize("path", ["/api/v1/posts", "/api/v1/events", "/api/v1/auth/login"])
def test_a_json_array_body_on_rest_is_a_400(api, path):
    assert_error_shape(api.post(path, data=b"[1, 2]", content_type="application/json"), 400)


def test_a_nul_in_a_multipart_field_of_v1_characters_is_a_422(api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cameos.models import Cameo
    from tests.cameos.factories import clip_bytes

    clip = SimpleUploadedFile("mug.mp4", clip_bytes(subject="object", card_at="none"), content_type="video/mp4")
    response = api.post("/v1/videos/characters", {"name": "Blue\x00Mug", "video": clip}, format="multipart")
    error = assert_openai_error(response, 422, "invalid_characters")
    assert error["param"] == "name"
    assert not Cameo.objects.exists()


def test_a_multipart_body_with_no_readable_part_is_a_400_not_an_empty_form(api):
    """Django skips a part without a Content-Disposition name silently, so such a body was read as
    {} and a PATCH of /me answered 200 (schemathesis: a part holding only "3466")."""
    content_type = "multipart/form-data; boundary=b0undary"
    garbage = [
        b"--b0undary\r\n3466--b0undary--\r\n",
        b"3466",
        b"--b0undary\r\nX-Other: 1\r\n\r\nhi\r\n--b0undary--\r\n",
    ]
    for body in garbage:
        response = api.patch("/api/v1/me", body, content_type=content_type)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_multipart"), body
    openai = api.post("/v1/videos", garbage[0], content_type=content_type)
    assert_openai_error(openai, 400, "invalid_multipart")
    # An empty form is still an empty object, and a named part is read.
    assert api.patch("/api/v1/me", b"--b0undary--\r\n", content_type=content_type).status_code == 200
    named = b'--b0undary\r\nContent-Disposition: form-data; name="display_name"\r\n\r\nNew Name\r\n--b0undary--\r\n'
    renamed = api.patch("/api/v1/me", named, content_type=content_type)
    assert renamed.status_code == 200 and renamed.json()["display_name"] == "New Name", renamed.json()


def _png_header_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of width×height: a few hundred KB, billions of bytes decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    rows_per_block = 256
    block = row * rows_per_block
    parts = [compressor.compress(block) for _ in range(height // rows_per_block)]
    parts.append(compressor.compress(row * (height % rows_per_block)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [30_000, 10_000])
def test_a_decompression_bomb_input_reference_is_a_400(api, _no_dispatch, side):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from generation.models import GenerationJob

    bomb = SimpleUploadedFile("ref.png", _png_header_bomb(side, side), content_type="image/png")
    response = api.post(
        "/v1/videos", {"prompt": "a blue square slides left", "input_reference": bomb}, format="multipart"
    )
    error = assert_openai_error(response, 400, "image_too_large")
    assert error["param"] == "input_reference"
    assert not GenerationJob.objects.exists()


def test_a_decompression_bomb_avatar_is_a_400(api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bomb = SimpleUploadedFile("me.png", _png_header_bomb(10_000, 10_000), content_type="image/png")
    response = api.patch("/api/v1/me", {"avatar": bomb}, format="multipart")
    assert_error_shape(response, 400)


# --- log-in: throttles key on the real address, and a per-account backoff ---------------------


@pytest.fixture
def login_throttle(monkeypatch):
    """A login throttle of 3 a minute, on a cache of its own (the suite's is shared by tests)."""
    from django.core.cache.backends.locmem import LocMemCache
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"signup": "3/min", "login": "3/min"})
    monkeypatch.setattr(ScopedRateThrottle, "cache", LocMemCache("sec-login-throttle", {}))


def _login(client, handle: str, password: str, **headers):
    return client.post(LOGIN, {"handle": handle, "password": password}, format="json", **headers)


def _fresh_handle(prefix: str) -> str:
    import uuid

    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def test_a_spoofed_x_forwarded_for_does_not_reset_the_ip_throttle(anon_client, login_throttle):
    codes = [
        _login(anon_client, _fresh_handle("nobody"), "wrong-wrong-1", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(6)
    ]
    assert codes == [401, 401, 401, 429, 429, 429]


def test_trusted_proxy_hops_key_the_throttle_on_the_address_the_proxy_saw(anon_client, login_throttle, settings):
    # One trusted proxy: the client is the last X-Forwarded-For entry (what the proxy appended);
    # anything the client put before it is ignored.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    first = [
        _login(anon_client, _fresh_handle("nobody"), "wrong", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 198.51.100.7")
        for i in range(4)
    ]
    assert [r.status_code for r in first] == [401, 401, 401, 429]
    other_client = _login(anon_client, _fresh_handle("nobody"), "wrong", HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert other_client.status_code == 401


@pytest.fixture
def fast_backoff(settings):
    settings.LOGIN_BACKOFF_AFTER_FAILURES = 5
    settings.LOGIN_BACKOFF_BASE_S = 1
    settings.LOGIN_BACKOFF_MAX_S = 60


def test_login_backoff_per_account_whatever_the_address(anon_client, fast_backoff):
    import time

    from sora_social.users.login_backoff import login_backoff_clear
    from tests.users.factories import PASSWORD, UserFactory

    handle = _fresh_handle("victim")
    UserFactory(handle=handle)
    try:
        for i in range(5):  # five wrong passwords, each from another address
            response = _login(
                anon_client, handle, f"guess-{i}", REMOTE_ADDR=f"192.0.2.{i}", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}"
            )
            assert_error_shape(response, 401, "invalid_credentials")

        # Locked: even the right password, from a new address, is refused with Retry-After.
        locked = _login(anon_client, f"@{handle.upper()}", PASSWORD, REMOTE_ADDR="192.0.2.200")
        error = assert_error_shape(locked, 429, "login_backoff")
        assert int(locked["Retry-After"]) == error["retry_after_s"] == 1

        time.sleep(1.1)
        # One more failure after the window: the next window is twice as long.
        assert _login(anon_client, handle, "guess-6").status_code == 401
        locked = _login(anon_client, handle, PASSWORD)
        assert_error_shape(locked, 429, "login_backoff")
        assert int(locked["Retry-After"]) == 2

        time.sleep(2.1)
        assert _login(anon_client, handle, PASSWORD).status_code == 200
        # Success cleared the count: a single failure now is just a 401, and the password works.
        assert _login(anon_client, handle, "guess-7").status_code == 401
        assert _login(anon_client, handle, PASSWORD).status_code == 200
    finally:
        login_backoff_clear(handle=handle)


def test_login_backoff_applies_to_unknown_handles_alike(anon_client, fast_backoff):
    from sora_social.users.login_backoff import login_backoff_clear

    handle = _fresh_handle("ghost")
    try:
        codes = [_login(anon_client, handle, f"guess-{i}").status_code for i in range(6)]
        assert codes == [401] * 5 + [429]
    finally:
        login_backoff_clear(handle=handle)


# --- websockets close when their token stops being valid ---------------------------------------


async def _ws_recv_json(ws, timeout: float = 5.0) -> dict:
    import asyncio
    import json

    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def _ws_closed_with(ws, timeout: float) -> int | None:
    import asyncio

    await asyncio.wait_for(ws.wait_closed(), timeout)
    return ws.close_code


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_revoked_or_expired_tokens_close_their_websockets(live_stack):
    import asyncio
    import time
    from datetime import timedelta

    import httpx
    import websockets
    from django.utils import timezone

    from sora_social.users.models import AuthToken
    from sora_social.users.services import token_issue
    from tests.users.factories import UserFactory

    owner, fan = UserFactory(handle="ws_owner"), UserFactory(handle="ws_fan")
    _, phone = token_issue(user=owner, name="phone")
    tablet_token, tablet = token_issue(user=owner, name="tablet")
    short_token, short = token_issue(user=owner, name="short-lived")
    expires_at = timezone.now() + timedelta(seconds=4)
    AuthToken.objects.filter(pk=short_token.pk).update(expires_at=expires_at)
    _, fan_secret = token_issue(user=fan)
    url = f"{live_stack.ws_url}/ws/notifications/"
    base = live_stack.base_url

    def rest(method: str, path: str, secret: str) -> int:
        return httpx.request(method, f"{base}{path}", headers={"Authorization": f"Bearer {secret}"}).status_code

    async def scenario() -> None:
        def opened(secret: str):
            return websockets.connect(url, additional_headers={"Authorization": f"Bearer {secret}"})

        async with opened(phone) as ws_phone, opened(tablet) as ws_tablet, opened(short) as ws_short:
            for ws in (ws_phone, ws_tablet, ws_short):
                assert (await _ws_recv_json(ws))["type"] == "hello"

            # Revoke the tablet's token from the phone: the tablet's socket closes at once.
            started = time.monotonic()
            assert await asyncio.to_thread(rest, "DELETE", f"/api/v1/auth/tokens/{tablet_token.pk}", phone) == 204
            assert await _ws_closed_with(ws_tablet, 3.0) == 4401
            assert time.monotonic() - started < 3.0

            # The phone's socket (another token) still gets notifications.
            assert await asyncio.to_thread(rest, "POST", "/api/v1/users/ws_owner/follow", fan_secret) == 204
            assert (await _ws_recv_json(ws_phone))["notification"]["kind"] == "new_follower"

            # Expiry sends no message: the socket closes at its token's expiry by itself.
            assert await _ws_closed_with(ws_short, 10.0) == 4401
            assert timezone.now() >= expires_at

            # Log out on the phone: its own socket closes too.
            assert await asyncio.to_thread(rest, "POST", "/api/v1/auth/logout", phone) == 204
            assert await _ws_closed_with(ws_phone, 3.0) == 4401

    asyncio.run(scenario())


# --- oversized requests are refused from their head, on the real server --------------------------


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _exchange(port: int, head: bytes, body_chunks=(), timeout: float = 10.0) -> tuple[bytes, float]:
    """Send a request head (and body chunks, while the server may already have answered) over
    a raw socket; returns everything the server sent until it closed, and the seconds taken."""
    import socket
    import time

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        started = time.monotonic()
        sock.sendall(head)
        for chunk in body_chunks:
            sock.sendall(chunk)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received, time.monotonic() - started


def _parse(raw: bytes) -> tuple[int, dict]:
    import json

    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def _head(method: str, target: bytes, *headers: bytes) -> bytes:
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


MB = 1024 * 1024


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_body_over_the_limit_is_refused_before_it_is_read(live_stack):
    pid = live_stack.processes["asgi"].pid
    port = live_stack.port
    before = _rss_kib(pid)

    # A 300 MB upload announced by Content-Length: 413 in the error shape before any body is sent.
    raw, seconds = _exchange(
        port,
        _head(
            "POST",
            b"/api/v1/videos",
            b"Content-Type: multipart/form-data; boundary=x",
            b"Content-Length: %d" % (300 * MB),
            b"Authorization: Bearer ss_whoever",
        ),
    )
    status, body = _parse(raw)
    assert status == 413 and body["error"]["code"] == "request_too_large"
    assert body["error"]["limit_bytes"] < 300 * MB
    assert seconds < 2.0

    # 300 MB of JSON, sent in full by a client that reads only afterwards: still a JSON 413, and
    # the server drops the bytes as they come instead of keeping them.
    raw, seconds = _exchange(
        port,
        _head("POST", b"/api/v1/posts", b"Content-Type: application/json", b"Content-Length: %d" % (300 * MB)),
        (b"[" * MB for _ in range(300)),
        timeout=60,
    )
    status, body = _parse(raw)
    assert status == 413 and body["error"]["code"] == "request_too_large"
    assert body["error"]["limit_bytes"] == 10 * MB

    # A chunked body has no Content-Length: it is counted, and refused once past the limit.
    chunk = b"%x\r\n" % MB + b" " * MB + b"\r\n"
    raw, _ = _exchange(
        port,
        _head("POST", b"/api/v1/events", b"Content-Type: application/json", b"Transfer-Encoding: chunked"),
        [chunk] * 40 + [b"0\r\n\r\n"],
    )
    status, body = _parse(raw)
    assert status == 413 and body["error"]["code"] == "request_too_large"

    grown_mib = (_rss_kib(pid) - before) / 1024
    assert grown_mib < 40, f"the server grew by {grown_mib:.0f} MiB"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_bodies_within_the_limit_still_arrive_chunked_or_not(live_stack):
    body = b'{"handle": "nobody_here", "password": "not-the-password"}'
    for framing in ("length", "chunked"):
        if framing == "length":
            head = _head(
                "POST", b"/api/v1/auth/login", b"Content-Type: application/json", b"Content-Length: %d" % len(body)
            )
            chunks = [body]
        else:
            head = _head(
                "POST", b"/api/v1/auth/login", b"Content-Type: application/json", b"Transfer-Encoding: chunked"
            )
            chunks = [
                b"%x\r\n" % 10 + body[:10] + b"\r\n",
                b"%x\r\n" % (len(body) - 10) + body[10:] + b"\r\n",
                b"0\r\n\r\n",
            ]
        raw, _ = _exchange(live_stack.port, head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"), chunks)
        status, answer = _parse(raw)
        assert (framing, status, answer["error"]["code"]) == (framing, 401, "invalid_credentials")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("target", "extra_header", "status", "code", "shape"),
    [
        (b"/api/v1/feeds/latest?q=" + b"a" * 60_000, b"", 414, "uri_too_long", "app"),
        (b"/v1/videos?after=" + b"a" * 60_000, b"", 414, "uri_too_long", "openai"),
        (b"/api/v1/me", b"X-Padding: " + b"a" * 20_000, 431, "request_headers_too_large", "app"),
    ],
)
def test_a_huge_url_or_header_is_answered_not_dropped(live_stack, target, extra_header, status, code, shape):
    headers = [extra_header] if extra_header else []
    raw, _ = _exchange(live_stack.port, _head("GET", target, *headers))
    assert raw, "the connection was dropped without an answer"
    got_status, body = _parse(raw)
    assert got_status == status
    assert body["error"]["code"] == code and body["error"]["message"]
    if shape == "openai":
        assert set(body["error"]) == {"code", "message", "type", "param"}


@pytest.mark.parametrize(("path", "shape"), [("/api/v1/posts", "app"), ("/v1/videos", "openai")])
def test_the_middleware_refuses_an_announced_oversized_body_unread(path, shape, user):
    """Under another server than `make serve`: a Content-Length over the route's limit is a 413
    before Django parses anything (the body sent here is tiny; only its announced size counts)."""
    from django.test import Client

    from sora_social.users.services import token_issue

    _, secret = token_issue(user=user)
    response = Client().post(
        path,
        data=b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(300 * MB),
        headers={"authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request_too_large"
    if shape == "openai":
        assert set(error) == {"code", "message", "type", "param"}


def test_the_console_login_shares_the_account_backoff(fast_backoff):
    """Staff accounts log in to the console with a password too: failures there count, and a
    locked account is refused there as in the app."""
    from django.test import Client

    from sora_social.users.login_backoff import login_backoff_clear
    from tests.users.factories import PASSWORD, UserFactory

    handle = _fresh_handle("moderator")
    UserFactory(handle=handle, is_staff=True)
    console = Client()
    try:
        for i in range(5):
            response = console.post("/console/login/", {"username": handle, "password": f"guess-{i}"})
            assert response.status_code == 200  # the form again, not a redirect into the console
        refused = console.post("/console/login/", {"username": handle, "password": PASSWORD})
        assert refused.status_code == 200 and "_auth_user_id" not in console.session
        app = Client().post(LOGIN, {"handle": handle, "password": PASSWORD}, content_type="application/json")
        assert_error_shape(app, 429, "login_backoff")
    finally:
        login_backoff_clear(handle=handle)
    assert console.post("/console/login/", {"username": handle, "password": PASSWORD}).status_code == 302


def test_an_oversized_form_field_is_a_413_in_the_error_shape(api):
    # Within the multipart limit (room for an upload), but a text field over
    # DATA_UPLOAD_MAX_MEMORY_SIZE: Django raises RequestDataTooBig, which was an HTML 400.
    response = api.post("/v1/videos", {"prompt": "x" * (11 * MB)}, format="multipart")
    error = assert_openai_error(response, 413, "request_too_large")
    assert error["message"]
