"""Health, readiness and the error pages of last resort, all JSON.

Unknown paths under /api/ answer the project's error shape, under /v1/ OpenAI's; an exception
no view handled answers 503 with Retry-After when a backing service is down (database, Redis,
broker), else a JSON 500 (a bug: it is logged with its traceback by Django first).
"""

from __future__ import annotations

import sys
import time

from django.http import HttpRequest, HttpResponse, JsonResponse

from sora_social.common import warmup
from sora_social.common.errors import error_body
from sora_social.common.openai_errors import openai_error
from sora_social.common.outages import RETRY_AFTER_S, outage_of


def error_response(request: HttpRequest, code: str, message: str, status: int) -> JsonResponse:
    """The error shape of the API the path belongs to."""
    if request.path.startswith("/v1/"):
        error = openai_error(status=status, code=code, message=message)
        return JsonResponse(error.body, status=error.status, headers=error.headers)
    return JsonResponse(error_body(code, message), status=status)


def unavailable_response(request: HttpRequest, service: str) -> JsonResponse:
    response = error_response(
        request,
        f"{service}_unavailable",
        f"The service is briefly unavailable ({service} unreachable); retry in a few seconds.",
        503,
    )
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition of this process (common/metrics.py). The load balancer refuses
    /metrics from outside (deploy/nginx.conf); Prometheus scrapes each process's own port."""
    from django.conf import settings

    from sora_social.common.metrics import exposition

    if not settings.METRICS_ENABLED:
        return page_not_found(request, None)
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. It touches nothing else, so a load balancer does not
    kill healthy processes during a database or Redis outage (/readyz says that)."""
    return JsonResponse({"status": "ok"})


def _check(probe) -> tuple[str, float]:
    began = time.monotonic()
    try:
        probe()
    except Exception as exc:
        return f"down: {type(exc).__name__}", round((time.monotonic() - began) * 1000, 1)
    return "ok", round((time.monotonic() - began) * 1000, 1)


def _database() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    from django.core.cache import cache

    cache.set("readyz", "ok", 5)
    if cache.get("readyz") != "ok":
        raise RuntimeError("cache did not keep a key")


def _broker() -> None:
    from django.conf import settings

    from sora_social.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)


def _channel_layer() -> None:
    import redis
    from django.conf import settings

    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"]
    client = redis.Redis.from_url(host, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, Redis (cache and channel layer), broker, and this process's models
    loaded. 200 when all are, else 503 with Retry-After; always JSON."""
    checks = {
        "database": _check(_database),
        "redis": _check(_cache),
        "channel_layer": _check(_channel_layer),
        "broker": _check(_broker),
    }
    models = warmup.status()
    ready = all(state == "ok" for state, _ in checks.values()) and bool(models["done"])
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {name: {"status": state, "ms": ms} for name, (state, ms) in checks.items()},
        "models": models,
    }
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/console/"):
        from django.views.defaults import page_not_found as django_page_not_found

        return django_page_not_found(request, exception)
    return error_response(request, "not_found", f"No such endpoint: {request.method} {request.path}.", 404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's own 400s (a Host not in ALLOWED_HOSTS, a malformed multipart body)."""
    if request.path.startswith("/console/"):
        from django.views.defaults import bad_request as django_bad_request

        return django_bad_request(request, exception)
    return error_response(request, "bad_request", "The request could not be understood.", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's own 403s outside DRF (a CSRF failure has its own view)."""
    if request.path.startswith("/console/"):
        from django.views.defaults import permission_denied as django_permission_denied

        return django_permission_denied(request, exception)
    return error_response(request, "permission_denied", "You may not do this.", 403)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its `except` block, so the exception is the current one.
    service = outage_of(sys.exc_info()[1])
    if service is not None:
        return unavailable_response(request, service)
    return error_response(request, "server_error", "Something went wrong on our side; it has been logged.", 500)
