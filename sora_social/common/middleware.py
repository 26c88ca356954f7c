"""Request hygiene that every endpoint needs.

Every middleware here works in both modes. Under ASGI, Django runs a sync-only middleware in a
worker thread and the async ones after it back on the event loop, so one sync-only middleware
in the chain costs several thread hand-offs per request (each waits for the event loop and
the GIL under load): measured here at ~7 ms a request before this was fixed, more under load.
With every middleware async-capable the only hop left is the one into the (sync) view.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware

from sora_social.common.request_id import current_request_id


class _Adaptive:
    """A middleware that runs in whichever mode the chain around it runs (WSGI or ASGI)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)


class _BothModes(_Adaptive):
    """Base of a middleware that works under WSGI (sync) and ASGI (async) without a thread
    hop: ``before`` may answer early, ``after`` may change the response; neither blocks."""

    def before(self, request: HttpRequest) -> HttpResponse | None:
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response

    def __call__(self, request: HttpRequest):
        if self.async_mode:
            return self._acall(request)
        early = self.before(request)
        if early is not None:
            return early
        return self.after(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        early = self.before(request)
        if early is not None:
            return early
        return self.after(request, await self.get_response(request))


# A client's or proxy's own id is kept when it is short and plain (a UUID, a hex or base64 id);
# anything else could forge log lines or headers, so it is replaced.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


class RequestIdMiddleware(_BothModes):
    """Every response carries X-Request-Id: the incoming one if sane, else a new UUID. It is
    `request.request_id` in views and `%(request_id)s` in log records."""

    def before(self, request: HttpRequest) -> None:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else str(uuid.uuid4())
        # Not reset in `after`: Django logs a 4xx/5xx ("django.request") after the middleware
        # returns. Under ASGI each request has its own context; a WSGI thread's next request
        # sets it anew.
        current_request_id.set(request.request_id)
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response["X-Request-Id"] = request.request_id
        return response


class ApiResponseHeadersMiddleware(_BothModes):
    """Headers the API's conventions promise, from what the view left on the request:
    `RateLimit-*` on throttled routes (common/throttling.py) and `Link: <…>; rel="next"` on
    cursor pages (common/pagination.py). Every 429 also has Retry-After (errors.py sets it;
    this is the last guard for one that does not come from the exception handler)."""

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        from django.conf import settings

        rate_limit = getattr(request, "rate_limit", None)
        if rate_limit is not None:
            for name, value in rate_limit.headers().items():
                response[name] = value
        next_url = getattr(request, "next_page_url", None)
        if next_url and response.status_code == 200:
            response["Link"] = f'<{next_url}>; rel="next"'
        if response.status_code == 429 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(settings.RETRY_AFTER_DEFAULT_S)
        return response


class ServerTimingMiddleware(_BothModes):
    """Adds ``total;dur=<ms>`` to the Server-Timing header: from the first middleware to the
    rendered response (Django renders before the middleware sees it), so a client, and the
    latency benchmark, can tell time spent in Django from time spent in front of it."""

    def before(self, request: HttpRequest) -> None:
        request._server_timing_started = time.perf_counter()
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        total = f"total;dur={(time.perf_counter() - request._server_timing_started) * 1000:.1f}"
        existing = response.get("Server-Timing")
        response["Server-Timing"] = f"{existing}, {total}" if existing else total
        return response


class RejectNulCharactersMiddleware(_BothModes):
    """A NUL byte in the URL or query string is a 400, not a 500 from PostgreSQL (its text
    type cannot hold one). Request bodies are covered by DRF's CharField, which refuses NUL."""

    def before(self, request: HttpRequest) -> HttpResponse | None:
        if "\x00" in request.path or any(
            "\x00" in k or "\x00" in v for k, values in request.GET.lists() for v in values
        ):
            from sora_social.common.body_limits import refusal_body

            body = refusal_body(
                path=request.path, code="invalid_characters", message="The URL contains a NUL character."
            )
            return HttpResponse(body, status=400, content_type="application/json")
        return None


class RejectRepeatedQueryParametersMiddleware(_BothModes):
    """A query parameter given more than once in an API request is a 400. The schema types every
    one as a single value (none is a list), and reading only the last (QueryDict.get) would
    accept what the schema forbids: schemathesis sent `?limit=false&limit=` and got 200."""

    API_PREFIXES = ("/api/v1/", "/v1/")

    def before(self, request: HttpRequest) -> HttpResponse | None:
        if not request.path.startswith(self.API_PREFIXES):
            return None
        repeated = sorted(name for name, values in request.GET.lists() if len(values) > 1)
        if not repeated:
            return None
        from sora_social.common.body_limits import refusal_body

        body = refusal_body(
            path=request.path,
            code="invalid_parameter",
            message=f"Give each query parameter once; repeated: {', '.join(repeated)}.",
            fields={name: ["Given more than once."] for name in repeated},
        )
        return HttpResponse(body, status=400, content_type="application/json")


class RequestBodyLimitMiddleware(_BothModes):
    """A body whose Content-Length is over its route's limit (common/body_limits.py) is a 413 in
    the error shape, answered before Django parses it (multipart into temporary files, JSON into
    memory). `make serve` refuses such bodies before reading them at all (sora_social/serve.py);
    this covers other servers: a WSGI one streams the body, so nothing of it is read here either,
    while an ASGI server has Django receive it first, to a spooled temporary file."""

    def before(self, request: HttpRequest) -> HttpResponse | None:
        from sora_social.common.body_limits import body_too_large, request_body_limit

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None  # Django reads no body it cannot size
        if length <= 0:
            return None
        limit = request_body_limit(path=request.path_info, content_type=request.META.get("CONTENT_TYPE", ""))
        if length <= limit:
            return None
        return HttpResponse(
            body_too_large(path=request.path_info, limit=limit), status=413, content_type="application/json"
        )


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise (static files for the console and the API docs), async-capable: its own
    middleware is sync-only. Finding a file is a dict lookup (or a stat with autorefresh in
    development) and the response streams the open file, so nothing here blocks the loop
    for long."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, *args, **kwargs) -> None:
        super().__init__(get_response, *args, **kwargs)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def _static_file(self, request: HttpRequest):
        if self.autorefresh:
            return self.find_file(request.path_info)
        return self.files.get(request.path_info)

    def __call__(self, request: HttpRequest):
        if self.async_mode:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        static_file = self._static_file(request)
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)


class RequestMetricsMiddleware(_BothModes):
    """Prometheus: each request's latency by route pattern (common/metrics.py)."""

    def before(self, request: HttpRequest) -> None:
        request._metrics_started = time.perf_counter()
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        from sora_social.common.metrics import observe_request

        observe_request(request, response.status_code, time.perf_counter() - request._metrics_started)
        return response


class DatabaseRoutingMiddleware(_Adaptive):
    """Per-request state of the primary/replica router (common/db_router.py), and
    read-your-writes: after a request in which a signed-in user wrote, the primary's WAL
    position is recorded for them (the one thread hop is paid by writing requests only).
    Installed by settings when DATABASE_REPLICA_URL is set."""

    def __call__(self, request: HttpRequest):
        from sora_social.common import db_router

        if self.async_mode:
            return self._acall(request)
        state = db_router.begin_request()
        response = self.get_response(request)
        if state.wrote and state.user_id is not None and response.status_code < 400:
            db_router.record_write(state.user_id)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        from asgiref.sync import sync_to_async

        from sora_social.common import db_router

        state = db_router.begin_request()
        response = await self.get_response(request)
        if state.wrote and state.user_id is not None and response.status_code < 400:
            await sync_to_async(db_router.record_write)(state.user_id)
        return response
