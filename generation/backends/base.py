"""The generator interface: what the pipeline asks of a video backend, whatever renders it.

A backend takes a batch of `RenderRequest`s and returns one `RenderResult` per request, in order,
with frames already at the requested output size. The caller (the generation task) watermarks,
encodes, signs and stores them, so every backend's output gets the same treatment. Several
requests at once let a GPU backend batch compatible jobs into one pass.

Plain module: only `get_backend()` reads Django settings (lazily).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

MAX_CAMEOS = 2  # the Sora app's limit: at most two cameos in one video

# progress(index_in_batch, fraction in [0, 1])
ProgressCallback = Callable[[int, float], None]


class BackendError(Exception):
    """A render failed. `code` is machine-readable; `retryable` says whether trying again may help.

    `retry_after_s` set means "not now": every server that could render it is busy (429) or
    down (5xx). The job should wait that long and go again, without counting an attempt.
    """

    def __init__(self, code: str, message: str, *, retryable: bool, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after_s = retry_after_s

    def __repr__(self) -> str:
        return f"BackendError(code={self.code!r}, message={self.message!r}, retryable={self.retryable})"


def _check_frames(name: str, frames: np.ndarray | None) -> None:
    if frames is None:
        return
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"{name} must be a uint8 array shaped (T, H, W, 3)")
    if frames.shape[0] == 0:
        raise ValueError(f"{name} has no frames")


def _check_image(name: str, image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{name} must be a uint8 array shaped (H, W, 3)")


@dataclass(frozen=True, eq=False)
class RenderRequest:
    """One video to render. Frames and images are RGB uint8 numpy arrays.

    - `cameo_images`: reference images of the people/pets/characters to put in (at most two).
    - `remix_frames` + `remix_strength`: the parent video to remix; strength 0 keeps it, 1 ignores it.
    - `remix_remote_id`: the parent's id on the remote server when the parent was rendered there
      (lets the remote backend call the server's own remix endpoint).
    - `extend_frames`: a video to continue from its last frame.
    - `input_reference`: an image to start from (OpenAI's `input_reference`).
    - `client_ref`: the job and attempt it renders for, so a remote create sent twice renders once.
    """

    prompt: str
    seed: int
    seconds: int
    width: int
    height: int
    cameo_images: tuple[np.ndarray, ...] = ()
    remix_frames: np.ndarray | None = None
    remix_strength: float = 0.6
    remix_remote_id: str | None = None
    extend_frames: np.ndarray | None = None
    input_reference: np.ndarray | None = None
    # A stable name for this attempt of this job (a remote server's Idempotency-Key).
    client_ref: str = ""

    def __post_init__(self) -> None:
        if not self.prompt or not self.prompt.strip():
            raise ValueError("prompt must not be empty")
        if self.seconds <= 0:
            raise ValueError("seconds must be positive")
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise ValueError("width and height must be positive and even (H.264 yuv420p)")
        if len(self.cameo_images) > MAX_CAMEOS:
            raise ValueError(f"at most {MAX_CAMEOS} cameo images")
        if not 0.0 <= self.remix_strength <= 1.0:
            raise ValueError("remix_strength must be in [0, 1]")
        for index, image in enumerate(self.cameo_images):
            _check_image(f"cameo_images[{index}]", image)
        _check_frames("remix_frames", self.remix_frames)
        _check_frames("extend_frames", self.extend_frames)
        if self.input_reference is not None:
            _check_image("input_reference", self.input_reference)
        # Tuples only: the dataclass is frozen, a list would still be mutable.
        object.__setattr__(self, "cameo_images", tuple(self.cameo_images))

    @property
    def size(self) -> str:
        """The size as the OpenAI Videos API spells it: "WIDTHxHEIGHT"."""
        return f"{self.width}x{self.height}"

    def batch_key(self) -> tuple[int, int, int]:
        """Requests with the same key can be rendered in one batched pass."""
        return (self.seconds, self.width, self.height)


@dataclass(eq=False)  # frames are arrays: compare them with numpy, not ==
class RenderResult:
    """The rendered video: frames (T, height, width, 3) uint8 at the requested size."""

    frames: np.ndarray
    fps: int
    model: str
    backend: str
    # Where the render lives on a remote server (its video id), so a later remix can go there.
    remote_id: str | None = None
    extra: dict = field(default_factory=dict)


@runtime_checkable
class VideoBackend(Protocol):
    name: str

    def render(self, requests: list[RenderRequest], progress: ProgressCallback) -> list[RenderResult]:
        """Render every request; one result per request, in order. Raises BackendError."""
        ...


def noop_progress(index: int, fraction: float) -> None:
    """A progress callback that ignores progress."""


_backends: dict[str, VideoBackend] = {}
_lock = threading.Lock()


def get_backend(name: str | None = None) -> VideoBackend:
    """The backend named `name` (default: settings.GENERATION_BACKEND), created once per process.

    "embedded" = the shipped video model; "remote" = a server speaking the OpenAI Videos API;
    "diffusers" = an open Wan 2.x model from a local folder, in this process.
    """
    from django.conf import settings

    name = name or settings.GENERATION_BACKEND
    with _lock:
        backend = _backends.get(name)
        if backend is not None:
            return backend
        if name == "embedded":
            from generation.backends.embedded import EmbeddedBackend

            backend = EmbeddedBackend(
                device=settings.GENERATION_DEVICE, batch_on_cpu=settings.GENERATION_EMBEDDED_CPU_BATCH
            )
        elif name == "remote":
            from generation.backends.remote import RemoteBackend

            backend = RemoteBackend(
                base_url=settings.GENERATION_REMOTE_URL,
                api_key=settings.GENERATION_REMOTE_API_KEY,
                flavour=settings.GENERATION_REMOTE_FLAVOUR,
                endpoints=settings.GENERATION_REMOTE_ENDPOINTS,
                model=settings.GENERATION_REMOTE_MODEL,
                poll_s=settings.GENERATION_REMOTE_POLL_S,
                timeout_s=settings.GENERATION_REMOTE_TIMEOUT_S,
                steps=settings.GENERATION_REMOTE_STEPS,
                guidance_scale=settings.GENERATION_REMOTE_GUIDANCE_SCALE,
                negative_prompt=settings.GENERATION_REMOTE_NEGATIVE_PROMPT,
                fps=settings.GENERATION_REMOTE_FPS,
                backoff_s=settings.GENERATION_REMOTE_BACKOFF_S,
                backoff_max_s=settings.GENERATION_REMOTE_BACKOFF_MAX_S,
                discovery_ttl_s=settings.GENERATION_REMOTE_DISCOVERY_TTL_S,
            )
        elif name == "diffusers":
            from generation.backends.diffusers_backend import DiffusersBackend

            backend = DiffusersBackend(
                model_dir=settings.GENERATION_DIFFUSERS_MODEL_DIR,
                model_name=settings.GENERATION_DIFFUSERS_MODEL_NAME,
                device=settings.GENERATION_DEVICE,
                steps=settings.GENERATION_DIFFUSERS_STEPS,
                guidance_scale=settings.GENERATION_DIFFUSERS_GUIDANCE_SCALE,
                negative_prompt=settings.GENERATION_DIFFUSERS_NEGATIVE_PROMPT,
                fps=settings.GENERATION_DIFFUSERS_FPS,
                max_frames=settings.GENERATION_DIFFUSERS_MAX_FRAMES,
                max_area=settings.GENERATION_DIFFUSERS_MAX_AREA,
                max_batch=settings.GENERATION_DIFFUSERS_MAX_BATCH,
                cpu_offload=settings.GENERATION_DIFFUSERS_CPU_OFFLOAD,
                vae_tiling=settings.GENERATION_DIFFUSERS_VAE_TILING,
            )
        else:
            raise BackendError("unknown_backend", f"No generation backend named {name!r}.", retryable=False)
        _backends[name] = backend
        return backend


def backend_refusal(name: str, *, kind: str, cameo_count: int, has_input_reference: bool) -> tuple[str, str] | None:
    """(code, message) when backend `name` cannot render a job of this kind and conditioning.

    A backend that knows its model's limits says so with a `refusal(...)` method (the diffusers
    backend reads them from its model's config files); others render every kind.
    """
    check = getattr(get_backend(name), "refusal", None)
    if not callable(check):
        return None
    refusal = check(kind=kind, cameo_count=cameo_count, has_input_reference=has_input_reference)
    return None if refusal is None else (refusal.code, refusal.message)


def backend_batch_group(name: str, *, kind: str, cameo_count: int, has_input_reference: bool) -> str | None:
    """Which jobs backend `name` can render together in one model pass with a job of this kind
    and conditioning: a group name (jobs of the same group, length and size share a pass), or
    None when such a job renders alone. A backend says so with a `batch_group(...)` method;
    one without it (the remote API: one request per video) renders every job alone."""
    group = getattr(get_backend(name), "batch_group", None)
    if not callable(group):
        return None
    return group(kind=kind, cameo_count=cameo_count, has_input_reference=has_input_reference)


def backend_batch_limit(name: str) -> int:
    """The most jobs backend `name` takes in one pass (its `max_batch`; 1 without one)."""
    return max(1, int(getattr(get_backend(name), "max_batch", 1) or 1))


def reset_backends() -> None:
    """Forget the cached backends (tests that change settings)."""
    with _lock:
        _backends.clear()
