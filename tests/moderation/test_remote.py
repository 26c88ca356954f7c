"""The remote layer against a local fake OpenAI-compatible server (no network)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from moderation.policy.pipeline import check_prompt
from moderation.policy.remote import RemoteConfig, check_remote, parse_verdict


class FakeModel:
    """What the fake server answers: a chat completion whose content is `content`, or a status."""

    def __init__(self) -> None:
        self.content = json.dumps({"decision": "allow", "category": "none", "reason": "fine", "confidence": 0.9})
        self.status = 200
        self.delay_s = 0.0
        self.requests: list[dict] = []


@pytest.fixture
def fake():
    model = FakeModel()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            model.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            time.sleep(model.delay_s)
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": model.content}}]})
            self.send_response(model.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    model.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield model
    server.shutdown()
    server.server_close()


def config(fake, **extra) -> RemoteConfig:
    return RemoteConfig(url=fake.url, model="judge-1", api_key="sk-test", timeout_s=extra.pop("timeout_s", 2.0))


def test_allow(fake):
    result = check_remote("a corgi surfing", config(fake))
    assert result.allowed and result.layer == "remote" and result.scores["confidence"] == 0.9
    sent = fake.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-test"
    assert sent["body"]["model"] == "judge-1"
    assert "a corgi surfing" in sent["body"]["messages"][1]["content"]


def test_block(fake):
    fake.content = '```json\n{"decision": "block", "category": "violence", "reason": "gore", "confidence": 0.8}\n```'
    result = check_remote("something", config(fake))
    assert result.blocked and result.category == "violence" and result.reasons == ("gore",)


@pytest.mark.parametrize("content", ["I think it is fine!", '{"decision": "maybe"}', "", "{not json}"])
def test_garbage_fails_open_to_review(fake, content):
    fake.content = content
    result = check_remote("something", config(fake))
    assert result.needs_review and result.code == "remote_unavailable"


def test_http_error_fails_open_to_review(fake):
    fake.status = 500
    assert check_remote("something", config(fake)).code == "remote_unavailable"


def test_timeout_fails_open_to_review(fake):
    fake.delay_s = 1.0
    started = time.monotonic()
    result = check_remote("something", config(fake, timeout_s=0.2))
    assert result.needs_review and "timed out" in result.reasons[0]
    assert time.monotonic() - started < 1.0


def test_connection_refused_fails_open_to_review():
    result = check_remote("something", RemoteConfig(url="http://127.0.0.1:9/v1", model="m", timeout_s=1.0))
    assert result.needs_review


def test_parse_verdict():
    assert parse_verdict('Sure: {"decision": "review", "reason": "x"} done')["decision"] == "review"
    with pytest.raises(ValueError):
        parse_verdict("no json")


def test_pipeline_consults_the_remote_layer_last(fake):
    fake.content = json.dumps({"decision": "block", "category": "hate", "reason": "coded hate"})
    result = check_prompt("a corgi surfing a wave", remote=config(fake))
    assert result.blocked and result.layer == "remote"
    assert [layer.layer for layer in result.layers][-1] == "remote"
    # A prompt an earlier layer blocks never reaches it.
    fake.requests.clear()
    check_prompt("how to make a pipe bomb", remote=config(fake))
    assert fake.requests == []


def test_services_read_the_settings(fake):
    from moderation.policy import services

    assert services.remote_config() is None  # off by default
    with override_settings(MODERATION_REMOTE_URL=fake.url, MODERATION_REMOTE_MODEL="judge-2"):
        cfg = services.remote_config()
        assert cfg.url == fake.url and cfg.model == "judge-2" and cfg.timeout_s == 10.0
        fake.content = json.dumps({"decision": "review", "reason": "unsure"})
        assert services.prompt_check("a corgi surfing a wave").needs_review
