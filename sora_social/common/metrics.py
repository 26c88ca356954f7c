"""Prometheus metrics of every process type (prometheus_client; docs/SCALING.md lists them).

- web (each ASGI process, its own /metrics): request latency by route, open websockets;
- workers (a port of their own, METRICS_PORT; the prefork pool's children write to
  PROMETHEUS_MULTIPROC_DIR and the parent serves the sum): task queue wait, task duration,
  busy time per queue, generation job duration by backend;
- beat (METRICS_PORT): gauges read from Redis and PostgreSQL at scrape time: queue depth,
  moderation queue size, credits moved in the last hour, outbox backlog, replica lag. One beat
  runs per deployment, so these series exist once.

Task signals also carry the request id from the request to the worker: `before_task_publish`
puts the current X-Request-Id in the message headers (the outbox stores it with the row for
the relay), `task_prerun` makes it the worker's current id, so the worker's log lines carry it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

from sora_social.common.request_id import current_request_id

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200)

REQUEST_LATENCY = Histogram(
    "sora_http_request_duration_seconds",
    "Time from the first middleware to the rendered response, by route (URL pattern).",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
WEBSOCKETS = Gauge(
    "sora_websocket_connections", "Open notification websockets in this process.", multiprocess_mode="livesum"
)
TASK_QUEUE_WAIT = Histogram(
    "sora_task_queue_wait_seconds",
    "Time a task message waited between publish and a worker starting it.",
    ["task", "queue"],
    buckets=JOB_BUCKETS,
)
TASK_DURATION = Histogram(
    "sora_task_duration_seconds", "Time a worker spent running a task.", ["task", "queue", "state"], buckets=JOB_BUCKETS
)
WORKER_BUSY = Counter("sora_worker_busy_seconds", "Seconds this worker's pool spent running tasks.", ["queue"])
JOB_DURATION = Histogram(
    "sora_generation_job_duration_seconds",
    "One generation job's attempt, from the worker's claim to settled (its batch's render, its own "
    "encoding and checks), by backend and outcome (succeeded, failed, stopped, retry, deferred, ...).",
    ["backend", "state"],
    buckets=JOB_BUCKETS,
)
MODEL_BUSY = Counter(
    "sora_generation_model_busy_seconds", "Seconds the video model spent in render passes, by backend.", ["backend"]
)
BATCH_SIZE = Histogram(
    "sora_generation_batch_size", "Jobs per render pass, by backend.", ["backend"], buckets=(1, 2, 4, 8, 16, 32, 64)
)
MEDIA_DURATION = Histogram(
    "sora_generation_media_seconds",
    "One job's CPU stages (media check, watermark, encode, sign), in the worker's media threads.",
    ["backend"],
    buckets=JOB_BUCKETS,
)


def observe_request(request, status_code: int, seconds: float) -> None:
    """One request's latency under its route pattern (never the raw path: ids would make a
    series per object). common/middleware.RequestMetricsMiddleware calls it."""
    match = getattr(request, "resolver_match", None)
    route = "unmatched" if match is None else ("/" + match.route if match.route else (match.url_name or "unnamed"))
    REQUEST_LATENCY.labels(route, request.method, f"{status_code // 100}xx").observe(seconds)


def registry() -> CollectorRegistry:
    """The registry to expose: the sum over the prefork children's files in multiprocess mode,
    else this process's own."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return REGISTRY


def exposition() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST


# --- beat: gauges read at scrape time ------------------------------------------------------


class SystemGauges:
    """Queue depth (Redis), moderation queue, credits, outbox backlog, replica lag (PostgreSQL),
    read when Prometheus scrapes; a failing source is left out of that scrape."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield from self._queues()
        yield from self._database()

    def _queues(self) -> Iterable[GaugeMetricFamily]:
        import redis
        from django.conf import settings

        depth = GaugeMetricFamily("sora_queue_depth", "Task messages waiting in a queue.", labels=["queue"])
        prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
        try:
            client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=2)
            for queue in ("gpu", "default"):
                depth.add_metric([queue], client.llen(f"{prefix}{queue}"))
        except Exception:
            return
        yield depth

    def _database(self) -> Iterable[GaugeMetricFamily]:
        # Plain SQL on the apps' tables: this module sits below every app (it imports none).
        from django.db import connections

        from sora_social.common import db_router

        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT count(*) FROM moderation_case WHERE status IN ('open', 'appealed')")
                (open_cases,) = cursor.fetchone()
                cursor.execute(
                    "SELECT pool, kind, COALESCE(SUM(amount), 0), count(*) FROM generation_creditentry"
                    " WHERE created_at >= now() - interval '1 hour' GROUP BY pool, kind"
                )
                credits = cursor.fetchall()
                cursor.execute("SELECT count(*) FROM outbox_outboxmessage WHERE sent_at IS NULL")
                (pending,) = cursor.fetchone()
        except Exception:
            connections.close_all()
            return
        yield GaugeMetricFamily("sora_moderation_queue_size", "Open and appealed moderation cases.", value=open_cases)
        moved = GaugeMetricFamily(
            "sora_credits_last_hour", "Credits moved in the last hour (ledger sum).", labels=["pool", "kind"]
        )
        entries = GaugeMetricFamily(
            "sora_credit_entries_last_hour", "Ledger entries in the last hour.", labels=["pool", "kind"]
        )
        for pool, kind, total, count in credits:
            moved.add_metric([pool, kind], total)
            entries.add_metric([pool, kind], count)
        yield moved
        yield entries
        yield GaugeMetricFamily("sora_outbox_pending", "Outbox messages not yet handed to the broker.", value=pending)
        if db_router.replica_configured():
            try:
                lag = db_router.replica_lag_s()
            except Exception:
                connections[db_router.REPLICA].close()
                return
            yield GaugeMetricFamily("sora_replica_lag_seconds", "How far the streaming replica is behind.", value=lag)
        connections.close_all()  # the scrape runs in the exporter's thread: no connection left behind


def serve_metrics(port: int, *, system_gauges: bool = False) -> None:
    """Serve /metrics on `port` from a background thread (workers' parent process, beat)."""
    target = registry()
    if system_gauges:
        target.register(SystemGauges())
    start_http_server(port, addr=os.environ.get("METRICS_ADDR", "127.0.0.1"), registry=target)


# --- Celery: request id and task metrics ----------------------------------------------------

_started: dict[str, float] = {}


def _queue_of(task) -> str:
    info = getattr(task.request, "delivery_info", None) or {}
    return info.get("routing_key") or info.get("queue") or "eager"


def _header(task, name: str):
    value = getattr(task.request, name, None)
    if value is None:
        value = (getattr(task.request, "headers", None) or {}).get(name)
    return value


def on_before_publish(headers: dict | None = None, **_: object) -> None:
    if headers is None:
        return
    request_id = current_request_id.get()
    if request_id != "-":
        headers.setdefault("request_id", request_id)
    headers.setdefault("published_at", time.time())


def on_prerun(task_id: str | None = None, task=None, **_: object) -> None:
    if task is None:
        return
    request_id = _header(task, "request_id")
    current_request_id.set(request_id if isinstance(request_id, str) and request_id else "-")
    now = time.time()
    _started[task_id or ""] = now
    published = _header(task, "published_at")
    if isinstance(published, int | float) and published <= now:
        TASK_QUEUE_WAIT.labels(task.name, _queue_of(task)).observe(now - published)


def on_postrun(task_id: str | None = None, task=None, state: str | None = None, **_: object) -> None:
    began = _started.pop(task_id or "", None)
    current_request_id.set("-")
    if task is None or began is None:
        return
    elapsed = time.time() - began
    queue = _queue_of(task)
    TASK_DURATION.labels(task.name, queue, state or "UNKNOWN").observe(elapsed)
    WORKER_BUSY.labels(queue).inc(elapsed)


def observe_worker_event(event) -> None:
    """A gpu worker's events (generation.pipeline.WorkerEvent; generation's AppConfig subscribes
    this). A task renders a batch and hands its media to threads, so a job's duration is not
    its task's: it is measured from the claim to the job's settlement."""
    if event.kind == "batch_rendered":
        MODEL_BUSY.labels(event.backend).inc(event.seconds)
        BATCH_SIZE.labels(event.backend).observe(event.jobs)
    elif event.kind == "media_done":
        MEDIA_DURATION.labels(event.backend).observe(event.seconds)
    elif event.kind == "job_finished":
        JOB_DURATION.labels(event.backend, event.outcome or "unknown").observe(event.seconds)


def on_process_shutdown(pid: int | None = None, **_: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())


def connect_celery(app) -> None:
    """Wire the request id and the task metrics into Celery (sora_social/celery.py)."""
    from celery import signals

    signals.before_task_publish.connect(on_before_publish, weak=False)
    signals.task_prerun.connect(on_prerun, weak=False)
    signals.task_postrun.connect(on_postrun, weak=False)
    signals.worker_process_shutdown.connect(on_process_shutdown, weak=False)

    def _worker_ready(**_: object) -> None:
        from django.conf import settings

        if settings.METRICS_ENABLED and settings.METRICS_PORT:
            serve_metrics(settings.METRICS_PORT)

    def _beat_ready(**_: object) -> None:
        from django.conf import settings

        if settings.METRICS_ENABLED and settings.METRICS_PORT:
            serve_metrics(settings.METRICS_PORT, system_gauges=True)

    signals.worker_init.connect(_worker_ready, weak=False)
    signals.beat_init.connect(_beat_ready, weak=False)
