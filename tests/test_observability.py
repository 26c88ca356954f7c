"""Metrics, JSON logs with the request id from request to task, and Sentry (issue 17, part 5)."""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.db import transaction

from sora_social.celery import app
from sora_social.common import metrics
from sora_social.common.json_logs import JsonFormatter
from sora_social.common.request_id import current_request_id
from sora_social.outbox.models import OutboxMessage
from sora_social.outbox.services import outbox_send_on_commit

ROOT = Path(__file__).resolve().parents[1]

seen_request_ids: list[str] = []


@app.task(name="tests.observability.echo_request_id")
def echo_request_id() -> str:
    seen_request_ids.append(current_request_id.get())
    return current_request_id.get()


@pytest.mark.django_db
def test_web_metrics_by_route_pattern(anon_client):
    assert anon_client.get("/healthz").status_code == 200
    assert anon_client.get("/api/v1/users/nobody-here").status_code in (401, 404)
    body = anon_client.get("/metrics").content.decode()
    assert 'sora_http_request_duration_seconds_count{method="GET",route="/healthz",status="2xx"}' in body
    # The pattern, never the raw path (one series per route, not per object).
    assert 'route="/api/v1/users/<str:handle>"' in body
    assert "nobody-here" not in body
    assert "sora_websocket_connections" in body


def test_json_log_lines_carry_the_request_id():
    token = current_request_id.set("req-123")
    try:
        record = logging.LogRecord("sora.test", logging.WARNING, __file__, 1, "job %s failed", ("j1",), None)
        record.job_id = "video_1"
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_request_id.reset(token)
    assert line["request_id"] == "req-123"
    assert line["message"] == "job j1 failed"
    assert line["level"] == "WARNING" and line["logger"] == "sora.test"
    assert line["job_id"] == "video_1"


@pytest.mark.django_db(transaction=True)
def test_the_request_id_follows_an_outbox_message_into_the_task(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    seen_request_ids.clear()
    token = current_request_id.set("req-outbox-7")
    try:
        with transaction.atomic():
            message = outbox_send_on_commit(task="tests.observability.echo_request_id")
        after_task = current_request_id.get()
    finally:
        current_request_id.reset(token)
        app.conf.task_always_eager = False
    assert OutboxMessage.objects.get(pk=message.pk).request_id == "req-outbox-7"
    # The task ran under the request's id, and the worker's id is cleared after it.
    assert seen_request_ids == ["req-outbox-7"]
    assert after_task == "-"
    body = metrics.exposition()[0].decode()
    series = (
        'sora_task_duration_seconds_count{queue="eager",state="SUCCESS",task="tests.observability.echo_request_id"}'
    )
    assert series in body


def test_before_publish_stamps_the_request_id_and_the_publish_time():
    headers: dict = {}
    token = current_request_id.set("req-9")
    try:
        metrics.on_before_publish(headers=headers)
    finally:
        current_request_id.reset(token)
    assert headers["request_id"] == "req-9" and isinstance(headers["published_at"], float)
    # An id already there (the outbox row's, sent by the relay later) is kept.
    kept = {"request_id": "req-original"}
    metrics.on_before_publish(headers=kept)
    assert kept["request_id"] == "req-original"


class _Collector(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        _Collector.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        return None


def test_sentry_dsn_turns_error_reporting_on_with_the_request_id():
    """A real sentry-sdk client, configured by settings from SENTRY_DSN, sends an event to a
    local HTTP endpoint standing where Sentry's ingest would be."""
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Collector.received.clear()
    script = (
        "import django, sentry_sdk; django.setup()\n"
        "from sora_social.common.request_id import current_request_id\n"
        "current_request_id.set('req-sentry-1')\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError as exc:\n    sentry_sdk.capture_exception(exc)\n"
        "sentry_sdk.flush(5)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sora_social.settings",
        "SENTRY_DSN": f"http://publickey@127.0.0.1:{server.server_port}/42",
    }
    try:
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=60)
    finally:
        server.shutdown()
    envelopes = b"\n".join(_Collector.received)
    assert b"ZeroDivisionError" in envelopes
    assert b"req-sentry-1" in envelopes


@pytest.mark.django_db
def test_beat_gauges_read_the_queues_and_the_database():
    families = {family.name: family for family in metrics.SystemGauges().collect()}
    assert {"sora_queue_depth", "sora_moderation_queue_size", "sora_outbox_pending"} <= set(families)
    assert {sample.labels["queue"] for sample in families["sora_queue_depth"].samples} == {"gpu", "default"}
    assert families["sora_moderation_queue_size"].samples[0].value == 0
