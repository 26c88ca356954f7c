"""A backend for servers that speak the OpenAI Videos API: a fleet of vLLM-Omni or SGLang servers
serving an open model such as Wan, OpenAI itself, or another sora_social instance.

This is how a deployment scales past one machine: the workers only submit, poll and download.

**Endpoints.** One or more (GENERATION_REMOTE_ENDPOINTS; or one from GENERATION_REMOTE_URL), each
with a name, base URL (including `/v1`), key, a *flavour* and optionally the models it serves
and what it supports. A job goes to an endpoint that serves its model, supports what the job
needs, and is healthy (not cooling down after a 429, a 5xx or a failed connection); among those,
the one with the fewest renders in flight from this worker.

**What each endpoint supports** (its capabilities): the flavour's list (FLAVOURS) unless the
operator gives one, plus what discovery finds. Discovery is `GET /models` (at most every
GENERATION_REMOTE_DISCOVERY_TTL_S): the models served (a job for a model no endpoint lists is
refused), and, where a model object carries a `capabilities` list, those. Submit-time checks
(`refusal`) use only what is known without a request, so a submit never waits on the fleet.

**Fields.** `prompt`, `model`, `seconds`, `size` always; the extension fields that vLLM-Omni's
and SGLang's `/v1/videos` document, each only to an endpoint that supports it: `seed` (the job's),
`negative_prompt`, `num_inference_steps`, `guidance_scale`, `fps` and `num_frames` (from
settings; `num_frames` = seconds × fps rounded to 4k + 1, Wan's frame counts). One reference
image as `input_reference` (multipart): the job's input reference, else a cameo's reference
image (image-to-video is the only way these servers take a person in; one cameo at most), else
the first frame of a remix source or the last frame of an extension's parent (an approximation:
the model sees that frame, not the motion). A remix of a video this fleet rendered calls the
rendering endpoint's own `POST /videos/{id}/remix`. vLLM-Omni takes multipart only; others get
JSON when there is no file. `Idempotency-Key: <job>-<attempt>` rides on every create, so a create
retried after a lost answer does not render twice on a server that honours it (sora_social does).

**Busy and broken servers.** A 429, 408, 5xx or connection failure at submit puts that endpoint
on cooldown (its `Retry-After` if it sent one, else exponential backoff from
GENERATION_REMOTE_BACKOFF_S up to GENERATION_REMOTE_BACKOFF_MAX_S) and the next candidate is
tried; when none is left, the render raises BackendError with `retry_after_s` (the shortest
cooldown): the pipeline puts the job back in the queue for that long without spending an
attempt. While polling, the same answers are waited out (the render goes on on the server) until
the overall timeout.

**Cancel and delete.** Progress is reported on every poll, so a job cancelled here stops its
worker at the next poll (JobNotRunnable through the progress callback); whatever stops a render
(that, a failure, a timeout) sends `DELETE /videos/{id}` for every video still rendering.
`delete_remote(ref)` deletes a finished video on its endpoint (generation calls it through a task
when its job is deleted). `RenderResult.remote_id` is `<endpoint name>:<server's id>`.

Errors: other 4xx answers are not retryable and carry the server's `error.code`; a video that
ends `failed` carries the server's code and is retryable only for transient codes.

Plain module: no Django; `get_backend()` passes the settings in.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import numpy as np

from generation import media
from generation.backends.base import BackendError, ProgressCallback, RenderRequest, RenderResult

logger = logging.getLogger(__name__)

POLL_AFTER_HEADER = "openai-poll-after-ms"
MAX_VIDEO_BYTES = 512 * 1024 * 1024  # a 12 s 1080p H.264 clip is a few tens of MB
# `error.code`s of a failed video that say "try again later" rather than "this will never work".
TRANSIENT_FAILURE_CODES = frozenset(
    {"internal_error", "server_error", "timeout", "overloaded", "unavailable", "rate_limit_exceeded", "server_busy"}
)
# Answers that say "this server, not now": the endpoint cools down, the job waits.
BUSY_STATUS = frozenset({408, 425, 429})
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
MAX_POLL_ERRORS = 30  # consecutive failed polls of one video before the render is given up

INPUT_REFERENCE = "input_reference"
REMIX = "remix"
MULTIPART_ONLY = "multipart_only"
EXTENSION_FIELDS = ("seed", "negative_prompt", "num_inference_steps", "guidance_scale", "fps", "num_frames")
_VLLM_OMNI = frozenset({INPUT_REFERENCE, MULTIPART_ONLY, *EXTENSION_FIELDS})
FLAVOURS: dict[str, frozenset[str]] = {
    # OpenAI's own API (and servers that implement only it): no extension fields.
    "openai": frozenset({INPUT_REFERENCE, REMIX}),
    # vLLM-Omni's /v1/videos (docs.vllm.ai, "Videos API"): multipart/form-data, extension fields.
    "vllm-omni": _VLLM_OMNI,
    # SGLang's diffusion server: the same extension fields; JSON or multipart.
    "sglang": _VLLM_OMNI - {MULTIPART_ONLY},
    # Another sora_social instance: OpenAI's fields and its own remix.
    "sora_social": frozenset({INPUT_REFERENCE, REMIX}),
}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


@dataclass(frozen=True)
class Refusal:
    """Why no endpoint can render a job: a machine-readable code and a message for people."""

    code: str
    message: str


@dataclass(frozen=True)
class EndpointConfig:
    name: str
    url: str
    api_key: str = ""
    flavour: str = "openai"
    models: tuple[str, ...] = ()  # empty: what discovery finds (or any, if the server lists none)
    capabilities: frozenset[str] | None = None  # None: the flavour's

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> EndpointConfig:
        name, url = str(raw.get("name") or ""), str(raw.get("url") or "")
        flavour = str(raw.get("flavour") or "openai")
        if not _NAME.match(name) or not url or flavour not in FLAVOURS:
            raise BackendError(
                "remote_not_configured",
                f"A remote endpoint needs a name ([A-Za-z0-9_.-]), a url and a flavour in {sorted(FLAVOURS)}: {raw!r}.",
                retryable=False,
            )
        capabilities = raw.get("capabilities")
        return cls(
            name=name,
            url=url,
            api_key=str(raw.get("api_key") or ""),
            flavour=flavour,
            models=tuple(str(m) for m in raw.get("models") or ()),
            capabilities=frozenset(capabilities) if capabilities is not None else None,
        )


@dataclass
class Endpoint:
    """An endpoint and what this worker knows of it: health, what it serves, renders in flight."""

    config: EndpointConfig
    client: httpx.Client
    discovered_models: frozenset[str] | None = None
    discovered_capabilities: frozenset[str] = frozenset()
    discovered_at: float | None = None
    cooldown_until: float = 0.0
    failures: int = 0
    in_flight: int = 0
    last_error: str = ""

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def capabilities(self) -> frozenset[str]:
        configured = self.config.capabilities
        return (FLAVOURS[self.config.flavour] if configured is None else configured) | self.discovered_capabilities

    def serves(self, model: str) -> bool:
        models = self.config.models or self.discovered_models
        return not models or model in models


@dataclass
class _Render:
    """One submitted video being polled."""

    index: int
    endpoint: Endpoint
    video_id: str
    next_poll: float
    reported: float = -1.0
    errors: int = 0
    extra: dict = field(default_factory=dict)


def _error_from_body(response: httpx.Response) -> tuple[str | None, str | None]:
    """(error.code, error.message) from an OpenAI-style error body, if there is one."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        return (str(code) if code else None), (str(error["message"]) if error.get("message") else None)
    if isinstance(error, str):
        return None, error
    return None, None


def retry_after_s(response: httpx.Response) -> float | None:
    """The `Retry-After` header in seconds (a number or an HTTP date), if there is one."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError, IndexError):
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    return None


class _Unavailable(BackendError):
    """This endpoint, not now (busy, down, unreachable): try another, or wait `wait_s`."""

    def __init__(self, code: str, message: str, wait_s: float | None) -> None:
        super().__init__(code, message, retryable=True)
        self.wait_s = wait_s


def _raise_for_status(response: httpx.Response) -> None:
    """Raise the BackendError an unsuccessful answer means (see the module docstring)."""
    code, message = _error_from_body(response)
    status = response.status_code
    detail = message or response.reason_phrase or "no detail"
    if status >= 500 or status in BUSY_STATUS:
        raise _Unavailable(
            code or f"remote_http_{status}", f"Video server answered {status}: {detail}", retry_after_s(response)
        )
    if status in RETRYABLE_STATUS:
        raise BackendError(code or f"remote_http_{status}", f"Video server error {status}: {detail}", retryable=True)
    raise BackendError(
        code or f"remote_http_{status}", f"Video server refused the request ({status}): {detail}", retryable=False
    )


def split_remote_id(ref: str) -> tuple[str | None, str]:
    """`<endpoint>:<id>` → (endpoint, id); an older bare id → (None, id)."""
    name, sep, video_id = ref.partition(":")
    return (name, video_id) if sep and _NAME.match(name) else (None, ref)


def wan_frame_count(seconds: int, fps: int) -> int:
    """Frames for `seconds` at `fps`, as Wan's pipelines want them: 4k + 1."""
    return max(1, (seconds * fps) // 4) * 4 + 1


class RemoteBackend:
    """Renders on servers speaking the OpenAI Videos API; see the module docstring."""

    name = "remote"

    def __init__(
        self,
        *,
        model: str,
        base_url: str = "",
        api_key: str = "",
        flavour: str = "openai",
        endpoints: Iterable[EndpointConfig | dict] = (),
        poll_s: float = 2.0,
        timeout_s: float = 900.0,
        request_timeout_s: float = 60.0,
        steps: int | None = None,
        guidance_scale: float | None = None,
        negative_prompt: str = "",
        fps: int | None = None,
        backoff_s: float = 2.0,
        backoff_max_s: float = 300.0,
        discovery_ttl_s: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        configs = [e if isinstance(e, EndpointConfig) else EndpointConfig.from_dict(e) for e in endpoints]
        if not configs and base_url:
            configs = [EndpointConfig(name="default", url=base_url, api_key=api_key, flavour=flavour)]
        if not configs:
            raise BackendError(
                "remote_not_configured",
                "GENERATION_REMOTE_URL (or GENERATION_REMOTE_ENDPOINTS) is not set: the remote backend needs "
                "the base URL of a server speaking the OpenAI Videos API (e.g. http://gpu-fleet:8000/v1).",
                retryable=False,
            )
        if len({c.name for c in configs}) != len(configs):
            raise BackendError("remote_not_configured", "Remote endpoint names must differ.", retryable=False)
        self.model = model
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.steps = steps
        self.guidance_scale = guidance_scale
        self.negative_prompt = negative_prompt
        self.fps = fps
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.discovery_ttl_s = discovery_ttl_s
        self._sleep = sleep
        self._clock = clock
        self.endpoints = [
            Endpoint(config=config, client=self._client(config, request_timeout_s, transport)) for config in configs
        ]

    @staticmethod
    def _client(config: EndpointConfig, timeout_s: float, transport: httpx.BaseTransport | None) -> httpx.Client:
        headers = {"Accept": "application/json", "User-Agent": "sora_social-remote-backend"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        return httpx.Client(
            base_url=config.url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            follow_redirects=True,
        )

    def close(self) -> None:
        for endpoint in self.endpoints:
            endpoint.client.close()

    # --- HTTP -------------------------------------------------------------------------------

    def _request(self, endpoint: Endpoint, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = endpoint.client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise _Unavailable("remote_timeout", f"{endpoint.name} did not answer in time ({exc}).", None) from exc
        except httpx.TransportError as exc:
            raise _Unavailable("remote_unreachable", f"{endpoint.name} could not be reached ({exc}).", None) from exc
        if not response.is_success:
            _raise_for_status(response)
        return response

    @staticmethod
    def _json(response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("id"):
            raise BackendError("remote_bad_response", "The video server answered with no video object.", retryable=True)
        return body

    # --- Health and discovery ---------------------------------------------------------------

    def _cool_down(self, endpoint: Endpoint, error: _Unavailable) -> None:
        endpoint.failures += 1
        backoff = min(self.backoff_max_s, self.backoff_s * 2 ** (endpoint.failures - 1))
        wait = max(backoff, min(self.backoff_max_s, error.wait_s or 0.0))
        endpoint.cooldown_until = self._clock() + wait
        endpoint.last_error = error.message
        logger.warning("remote endpoint %s unavailable for %.1fs: %s", endpoint.name, wait, error.message)

    def _healthy(self, endpoint: Endpoint) -> None:
        endpoint.failures = 0
        endpoint.cooldown_until = 0.0
        endpoint.last_error = ""

    def discover(self, endpoint: Endpoint) -> None:
        """`GET /models`: what the endpoint serves (and supports, where a model says). A server
        without the route keeps its configured lists; one that cannot answer cools down."""
        now = self._clock()
        if endpoint.discovered_at is not None and now - endpoint.discovered_at < self.discovery_ttl_s:
            return
        endpoint.discovered_at = now
        try:
            response = self._request(endpoint, "GET", "models")
        except _Unavailable as error:
            self._cool_down(endpoint, error)
            return
        except BackendError as error:  # 404: no model list here; keep what is configured
            logger.info("remote endpoint %s lists no models (%s)", endpoint.name, error.code)
            return
        with contextlib.suppress(ValueError):
            data = response.json().get("data")
            if isinstance(data, list):
                models = [m for m in data if isinstance(m, dict) and m.get("id")]
                endpoint.discovered_models = frozenset(str(m["id"]) for m in models) or None
                endpoint.discovered_capabilities = frozenset(
                    str(c) for m in models if m.get("id") == self.model for c in (m.get("capabilities") or ())
                )

    # --- What a request needs, and who can do it --------------------------------------------

    @staticmethod
    def _needs(*, cameo_count: int, has_image: bool) -> set[str]:
        return {INPUT_REFERENCE} if cameo_count or has_image else set()

    def refusal(self, *, kind: str, cameo_count: int, has_input_reference: bool) -> Refusal | None:
        """Why no endpoint can render a job of this shape (from what is known, no request)."""
        serving = [e for e in self.endpoints if e.serves(self.model)]
        if not serving:
            return Refusal(
                "model_not_served", f"No video server behind this deployment serves the model {self.model!r}."
            )
        derived = kind in ("remix", "edit", "extend")
        images = (1 if cameo_count else 0) + (1 if has_input_reference else 0) + (1 if derived else 0)
        if cameo_count > 1:
            return Refusal(
                "too_many_cameos_for_model",
                "The video servers here take one reference image, so a video can show one cameo.",
            )
        if images > 1:
            return Refusal(
                "one_reference_only",
                "The video servers here take one reference image: a cameo, an input reference or the "
                "video to remix or extend, not two of them.",
            )
        if images and not any(INPUT_REFERENCE in e.capabilities for e in serving):
            what = "a cameo" if cameo_count else ("an input reference" if has_input_reference else f"a {kind}")
            return Refusal(
                "cameos_unsupported" if cameo_count else "input_reference_unsupported",
                f"No video server here takes a reference image, so it cannot render {what}.",
            )
        return None

    def _candidates(self, request: RenderRequest) -> list[Endpoint]:
        for endpoint in self.endpoints:
            self.discover(endpoint)
        needs = self._needs(cameo_count=len(request.cameo_images), has_image=self._reference_image(request) is not None)
        return [e for e in self.endpoints if e.serves(self.model) and needs <= e.capabilities]

    # --- Steps ------------------------------------------------------------------------------

    @staticmethod
    def _reference_image(request: RenderRequest) -> np.ndarray | None:
        sources = [
            request.input_reference,
            request.cameo_images[0] if request.cameo_images else None,
            request.remix_frames[0] if request.remix_frames is not None else None,  # see the docstring
            request.extend_frames[-1] if request.extend_frames is not None else None,
        ]
        given = [image for image in sources if image is not None]
        if len(request.cameo_images) > 1 or len(given) > 1:
            raise BackendError(
                "one_reference_only", "The video servers here take one reference image.", retryable=False
            )
        return given[0] if given else None

    def _fields(self, endpoint: Endpoint, request: RenderRequest) -> dict[str, str]:
        caps = endpoint.capabilities
        fields = {"prompt": request.prompt, "model": self.model, "seconds": str(request.seconds), "size": request.size}
        wanted: dict[str, Any] = {
            "seed": request.seed,
            "negative_prompt": self.negative_prompt or None,
            "num_inference_steps": self.steps,
            "guidance_scale": self.guidance_scale,
            "fps": self.fps,
            "num_frames": wan_frame_count(request.seconds, self.fps) if self.fps else None,
        }
        fields.update({name: str(value) for name, value in wanted.items() if value is not None and name in caps})
        return fields

    def _submit(self, endpoint: Endpoint, request: RenderRequest, reference: np.ndarray | None) -> dict:
        headers = {"Idempotency-Key": request.client_ref} if request.client_ref else {}
        parent_endpoint, parent_id = split_remote_id(request.remix_remote_id or "")
        if request.remix_remote_id and parent_endpoint in (endpoint.name, None) and REMIX in endpoint.capabilities:
            path = f"videos/{parent_id}/remix"
            return self._json(self._request(endpoint, "POST", path, json={"prompt": request.prompt}, headers=headers))
        fields = self._fields(endpoint, request)
        if reference is None and MULTIPART_ONLY not in endpoint.capabilities:
            return self._json(self._request(endpoint, "POST", "videos", json=fields, headers=headers))
        # multipart/form-data: fields as parts without a file name, the image as a file.
        parts: dict[str, tuple] = {name: (None, value) for name, value in fields.items()}
        if reference is not None:
            # The API expects the reference at the output size; crop rather than distort it.
            png = media.png_bytes(media.fit_image(reference, request.width, request.height))
            parts["input_reference"] = ("input_reference.png", png, "image/png")
        return self._json(self._request(endpoint, "POST", "videos", files=parts, headers=headers))

    def _submit_anywhere(self, request: RenderRequest) -> tuple[Endpoint, dict]:
        """Submit on the best healthy candidate, falling through busy ones; if every one is
        busy or down, BackendError with `retry_after_s` (the job waits and comes back)."""
        reference = self._reference_image(request)
        candidates = self._candidates(request)
        if not candidates:
            refusal = self.refusal(
                kind="create",
                cameo_count=len(request.cameo_images),
                has_input_reference=reference is not None and not request.cameo_images,
            ) or Refusal("model_not_served", f"No video server serves {self.model!r} with what this video needs.")
            raise BackendError(refusal.code, refusal.message, retryable=False)
        now = self._clock()
        parent_endpoint, _ = split_remote_id(request.remix_remote_id or "")
        ready = sorted(
            (e for e in candidates if e.cooldown_until <= now),
            # A remix goes where its parent was rendered (that server's own remix), then to the least busy.
            key=lambda e: (e.name != parent_endpoint, e.in_flight, e.failures, e.name),
        )
        for endpoint in ready:
            try:
                video = self._submit(endpoint, request, reference)
            except _Unavailable as error:
                self._cool_down(endpoint, error)
                continue
            self._healthy(endpoint)
            return endpoint, video
        wait = max(1.0, min(e.cooldown_until for e in candidates) - self._clock())
        reasons = "; ".join(f"{e.name}: {e.last_error or 'cooling down'}" for e in candidates)
        raise BackendError(
            "remote_busy",
            f"Every video server for {self.model!r} is busy or down ({reasons}); trying again in {wait:.0f} s.",
            retryable=True,
            retry_after_s=wait,
        )

    def _download(self, endpoint: Endpoint, video_id: str) -> bytes:
        try:
            with endpoint.client.stream("GET", f"videos/{video_id}/content", params={"variant": "video"}) as response:
                if not response.is_success:
                    response.read()
                    _raise_for_status(response)
                chunks, total = [], 0
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > MAX_VIDEO_BYTES:
                        raise BackendError(
                            "remote_video_too_large", "The rendered video is too large.", retryable=False
                        )
                    chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise BackendError("remote_timeout", f"Downloading the video timed out ({exc}).", retryable=True) from exc
        except httpx.TransportError as exc:
            raise BackendError("remote_unreachable", f"Downloading the video failed ({exc}).", retryable=True) from exc
        return b"".join(chunks)

    def _result(self, request: RenderRequest, render: _Render, video: dict, data: bytes) -> RenderResult:
        try:
            frames = media.decode_mp4(data)
            fps = media.mp4_fps(data)
        except media.MediaError as exc:
            raise BackendError(
                "remote_bad_video", f"The server's video could not be decoded: {exc}", retryable=True
            ) from exc
        if fps <= 0:
            raise BackendError("remote_bad_video", "The server's video declares no frame rate.", retryable=True)
        # Servers may render at their own resolution; the pipeline wants what was asked for.
        frames = media.fit_frames(frames, request.width, request.height)
        return RenderResult(
            frames=frames,
            fps=round(fps),
            model=str(video.get("model") or self.model),
            backend=self.name,
            remote_id=f"{render.endpoint.name}:{render.video_id}",
            extra={"remixed_from_video_id": video.get("remixed_from_video_id"), "endpoint": render.endpoint.name},
        )

    def _cancel(self, renders: Iterable[_Render]) -> None:
        """Best effort: free the fleet from renders nobody will collect."""
        for render in renders:
            try:
                render.endpoint.client.delete(f"videos/{render.video_id}")
            except httpx.HTTPError:
                logger.info("could not cancel remote video %s on %s", render.video_id, render.endpoint.name)

    def delete_remote(self, ref: str) -> bool:
        """Delete a video (and, on servers that keep them, its prompt) on the endpoint that made
        it. True once it is gone (404 counts); raises a retryable BackendError while the
        endpoint cannot answer."""
        name, video_id = split_remote_id(ref)
        endpoint = next((e for e in self.endpoints if e.name == name), None) if name else self.endpoints[0]
        if endpoint is None:
            logger.warning("remote video %s: no endpoint named %s any more; not deleted", video_id, name)
            return False
        try:
            self._request(endpoint, "DELETE", f"videos/{video_id}")
        except _Unavailable:
            raise
        except BackendError as error:
            if not error.code.endswith("404") and "not_found" not in error.code:
                raise
        return True

    # --- The interface ----------------------------------------------------------------------

    def render(self, requests: list[RenderRequest], progress: ProgressCallback) -> list[RenderResult]:
        """Submit every request (each to its own endpoint), then poll them together until all
        are done. Whatever stops this early cancels what is still rendering on the servers."""
        started = self._clock()
        deadline = started + self.timeout_s
        pending: dict[int, _Render] = {}
        results: dict[int, RenderResult] = {}
        try:
            for index, request in enumerate(requests):
                endpoint, video = self._submit_anywhere(request)
                endpoint.in_flight += 1
                pending[index] = _Render(index=index, endpoint=endpoint, video_id=str(video["id"]), next_poll=started)
            while pending:
                render = min(pending.values(), key=lambda r: r.next_poll)
                wait = render.next_poll - self._clock()
                if self._clock() + max(0.0, wait) > deadline:
                    raise BackendError(
                        "remote_timeout",
                        f"The video server did not finish within {self.timeout_s:g} s.",
                        retryable=True,
                    )
                if wait > 0:
                    self._sleep(wait)
                if self._poll(requests[render.index], render, progress, results):
                    del pending[render.index]
                    render.endpoint.in_flight -= 1
        except BaseException:
            self._cancel(pending.values())
            for render in pending.values():
                render.endpoint.in_flight -= 1
            raise
        return [results[i] for i in range(len(requests))]

    def _poll(
        self, request: RenderRequest, render: _Render, progress: ProgressCallback, results: dict[int, RenderResult]
    ) -> bool:
        """One poll of one video; True when it is done (its result in `results`)."""
        try:
            response = self._request(render.endpoint, "GET", f"videos/{render.video_id}")
        except _Unavailable as error:
            # The server is busy or restarting; the render goes on there. Wait and ask again.
            render.errors += 1
            if render.errors > MAX_POLL_ERRORS:
                raise BackendError(error.code, error.message, retryable=True) from error
            backoff = min(self.backoff_max_s, self.backoff_s * 2 ** min(render.errors - 1, 8))
            render.next_poll = self._clock() + max(backoff, error.wait_s or 0.0)
            progress(render.index, max(0.0, render.reported))  # lets a cancelled job stop here
            return False
        render.errors = 0
        video = self._json(response)
        status = video.get("status")
        if status == "completed":
            data = self._download(render.endpoint, render.video_id)
            results[render.index] = self._result(request, render, video, data)
            progress(render.index, 1.0)
            return True
        if status == "failed":
            error = video.get("error") or {}
            code = str(error.get("code") or "remote_generation_failed")
            message = str(error.get("message") or "The video server could not render this video.")
            raise BackendError(code, message, retryable=code in TRANSIENT_FAILURE_CODES)
        if status not in ("queued", "in_progress"):
            raise BackendError(
                "remote_bad_response", f"The video server reported an unknown status {status!r}.", retryable=True
            )
        fraction = min(1.0, max(0.0, float(video.get("progress") or 0) / 100.0))
        render.reported = max(render.reported, fraction)
        # Every poll, not only on change: the callback is where a cancelled job stops its worker.
        progress(render.index, render.reported)
        delay = self.poll_s
        header = response.headers.get(POLL_AFTER_HEADER)
        if header:
            with contextlib.suppress(ValueError):
                delay = max(0.0, int(header) / 1000.0)
        render.next_poll = self._clock() + delay
        return False
