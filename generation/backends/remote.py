"""A backend for any server that speaks the OpenAI Videos API (vLLM-Omni, SGLang, OpenAI itself).

This is how a deployment scales past one machine: point GENERATION_REMOTE_URL at a fleet serving
an open model such as Wan behind the Videos API, and the workers only submit, poll and download.

Protocol, relative to the base URL (which includes `/v1`):
- `POST /videos`: JSON `{prompt, model, seconds, size}`; multipart/form-data with the same
  fields plus an `input_reference` image file when there is a picture to start from.
- `POST /videos/{id}/remix` `{prompt}`: only when the parent was itself rendered on that server
  (`RenderRequest.remix_remote_id`).
- `GET /videos/{id}` until `status` is `completed` or `failed`, waiting as long as the
  `openai-poll-after-ms` response header asks (GENERATION_REMOTE_POLL_S when it is absent);
  the `progress` field (0-100) is passed on.
- `GET /videos/{id}/content?variant=video`: the MP4, decoded to frames so the rest of the
  pipeline watermarks, encodes and signs it like any other render.

Approximations, because the API has no field for them: a remix of a video not rendered on the
server, and an extension, start from one frame of the source (its first frame for a remix, its
last for an extension) sent as `input_reference`; the model sees that frame, not the motion.
Cameo reference images are refused (`cameos_unsupported`) rather than dropped: the servers
this targets implement no characters API, and a video made without the cameo must not be
recorded as one with it. Seeds are not sent either (the API has no seed field), so remote
renders are not reproducible the way embedded ones are.

Errors: 4xx answers are not retryable and carry the server's `error.code` (429 and 408 are
retryable); 5xx answers, connection failures and timeouts are retryable; a video that ends
`failed` carries the server's error code and is retryable only for transient codes.

Plain module: no Django; `get_backend()` passes the settings in.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
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
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


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


def _raise_for_status(response: httpx.Response) -> None:
    """Raise the BackendError an unsuccessful answer means (see the module docstring)."""
    code, message = _error_from_body(response)
    status = response.status_code
    detail = message or response.reason_phrase or "no detail"
    if status >= 500 or status in RETRYABLE_STATUS:
        raise BackendError(code or f"remote_http_{status}", f"Video server error {status}: {detail}", retryable=True)
    raise BackendError(
        code or f"remote_http_{status}", f"Video server refused the request ({status}): {detail}", retryable=False
    )


class RemoteBackend:
    """Renders on a server speaking the OpenAI Videos API; see the module docstring."""

    name = "remote"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        poll_s: float = 2.0,
        timeout_s: float = 900.0,
        request_timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url:
            raise BackendError(
                "remote_not_configured",
                "GENERATION_REMOTE_URL is not set: the remote backend needs the base URL of a server "
                "speaking the OpenAI Videos API (e.g. http://gpu-fleet:8000/v1).",
                retryable=False,
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._clock = clock
        headers = {"Accept": "application/json", "User-Agent": "sora_social-remote-backend"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(request_timeout_s),
            transport=transport,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    # --- HTTP -------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise BackendError(
                "remote_timeout", f"The video server did not answer in time ({exc}).", retryable=True
            ) from exc
        except httpx.TransportError as exc:
            raise BackendError(
                "remote_unreachable", f"The video server could not be reached ({exc}).", retryable=True
            ) from exc
        if not response.is_success:
            _raise_for_status(response)
        return response

    def _json(self, response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("id"):
            raise BackendError("remote_bad_response", "The video server answered with no video object.", retryable=True)
        return body

    # --- Steps ------------------------------------------------------------------------------

    def _reference_image(self, request: RenderRequest) -> np.ndarray | None:
        if request.input_reference is not None:
            return request.input_reference
        if request.remix_frames is not None:
            return request.remix_frames[0]  # approximation: see the module docstring
        if request.extend_frames is not None:
            return request.extend_frames[-1]
        return None

    def _submit(self, request: RenderRequest) -> dict:
        if request.remix_remote_id:
            return self._json(
                self._request("POST", f"videos/{request.remix_remote_id}/remix", json={"prompt": request.prompt})
            )
        fields = {"prompt": request.prompt, "model": self.model, "seconds": str(request.seconds), "size": request.size}
        reference = self._reference_image(request)
        if reference is None:
            return self._json(self._request("POST", "videos", json=fields))
        # The API expects the reference at the output size; crop rather than distort it.
        png = media.png_bytes(media.fit_image(reference, request.width, request.height))
        files = {"input_reference": ("input_reference.png", png, "image/png")}
        return self._json(self._request("POST", "videos", data=fields, files=files))

    def _download(self, video_id: str) -> bytes:
        try:
            with self._client.stream("GET", f"videos/{video_id}/content", params={"variant": "video"}) as response:
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

    def _result(self, request: RenderRequest, video: dict, data: bytes) -> RenderResult:
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
            remote_id=str(video["id"]),
            extra={"remixed_from_video_id": video.get("remixed_from_video_id")},
        )

    def _cancel(self, video_ids: list[str]) -> None:
        """Best effort: free the fleet from renders nobody will collect."""
        for video_id in video_ids:
            try:
                self._client.delete(f"videos/{video_id}")
            except httpx.HTTPError:
                logger.info("could not cancel remote video %s", video_id)

    # --- The interface ----------------------------------------------------------------------

    def render(self, requests: list[RenderRequest], progress: ProgressCallback) -> list[RenderResult]:
        """Submit every request, then poll them together until all are done (or one fails)."""
        for request in requests:
            if request.cameo_images:
                raise BackendError(
                    "cameos_unsupported",
                    "The remote video backend cannot put cameos in a video; use the embedded backend.",
                    retryable=False,
                )
        started = self._clock()
        deadline = started + self.timeout_s
        submitted: list[dict] = []
        try:
            for request in requests:
                submitted.append(self._submit(request))
        except BackendError:
            self._cancel([video["id"] for video in submitted])
            raise
        ids = [str(video["id"]) for video in submitted]
        results: dict[int, RenderResult] = {}
        next_poll = dict.fromkeys(range(len(requests)), started)
        reported = dict.fromkeys(range(len(requests)), -1.0)
        try:
            while next_poll:
                index = min(next_poll, key=next_poll.__getitem__)
                wait = next_poll[index] - self._clock()
                if self._clock() + max(0.0, wait) > deadline:
                    raise BackendError(
                        "remote_timeout",
                        f"The video server did not finish within {self.timeout_s:g} s.",
                        retryable=True,
                    )
                if wait > 0:
                    self._sleep(wait)
                response = self._request("GET", f"videos/{ids[index]}")
                video = self._json(response)
                status = video.get("status")
                if status == "completed":
                    del next_poll[index]
                    results[index] = self._result(requests[index], video, self._download(ids[index]))
                    progress(index, 1.0)
                elif status == "failed":
                    error = video.get("error") or {}
                    code = str(error.get("code") or "remote_generation_failed")
                    message = str(error.get("message") or "The video server could not render this video.")
                    raise BackendError(code, message, retryable=code in TRANSIENT_FAILURE_CODES)
                elif status in ("queued", "in_progress"):
                    fraction = min(1.0, max(0.0, float(video.get("progress") or 0) / 100.0))
                    if fraction > reported[index]:
                        reported[index] = fraction
                        progress(index, fraction)
                    delay = self.poll_s
                    header = response.headers.get(POLL_AFTER_HEADER)
                    if header:
                        with contextlib.suppress(ValueError):
                            delay = max(0.0, int(header) / 1000.0)
                    next_poll[index] = self._clock() + delay
                else:
                    raise BackendError(
                        "remote_bad_response",
                        f"The video server reported an unknown status {status!r}.",
                        retryable=True,
                    )
        except BackendError:
            self._cancel([ids[i] for i in next_poll])
            raise
        return [results[i] for i in range(len(requests))]
