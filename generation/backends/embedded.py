"""The default backend: the embedded video model (`generation/video_model/`), in this process.

The pipeline is loaded once per process, on first use, on the device GENERATION_DEVICE names
("auto" picks CUDA when there is one). On CUDA, requests of the same length and size go
through the model in one `generate` call (the model batches them and runs in bf16); on CPU
they run one at a time, which is as fast there and reports progress per request. The model
renders at its own small resolution; `upscale_frames` brings each clip to the requested size.

`input_reference` (an image to start from) has no slot of its own in the model: it is given as
a one-frame extension context, so the clip continues from that picture.

Plain module: no Django; `get_backend()` passes the settings in.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from generation.backends.base import BackendError, ProgressCallback, RenderRequest, RenderResult

logger = logging.getLogger(__name__)

MAX_BATCH = 8  # requests per `generate` call on CUDA; more would risk running out of memory


class _CallerAborted(Exception):
    """An exception raised by the caller's progress callback, carried out of the model intact."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


try:  # a Celery soft time limit must reach the task as itself, not as a render failure
    from billiard.exceptions import SoftTimeLimitExceeded as _SoftTimeLimit

    _PASS_THROUGH: tuple[type[BaseException], ...] = (_SoftTimeLimit,)
except ImportError:  # pragma: no cover - billiard comes with Celery
    _PASS_THROUGH = ()


def resolve_device(device: str) -> str:
    """The device to load on: "auto" means "cuda" when torch sees a GPU, else "cpu"; others as given."""
    if device and device != "auto":
        return device
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a runtime dependency
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


class EmbeddedBackend:
    """Renders with the shipped video model; see the module docstring."""

    name = "embedded"

    def __init__(
        self,
        *,
        device: str = "auto",
        checkpoint: str | None = None,
        max_batch: int = MAX_BATCH,
        pipeline: Any | None = None,
        batch_on_cpu: bool = False,
    ) -> None:
        self.device = resolve_device(device)
        self.checkpoint = checkpoint
        self.max_batch = max(1, max_batch)
        self.batch_on_cpu = batch_on_cpu
        # A pipeline can be handed in (tests of the batching, a preloaded model); else lazy.
        self._pipeline = pipeline
        self._lock = threading.Lock()

    @property
    def batches(self) -> bool:
        """Whether compatible requests share one pass: on CUDA, and on CPU when asked to
        (GENERATION_EMBEDDED_CPU_BATCH; a clip may then differ in the last bit from the same
        seed drawn alone)."""
        return self.device.startswith("cuda") or self.batch_on_cpu

    def batch_group(self, *, kind: str, cameo_count: int, has_input_reference: bool) -> str:
        """Jobs that share one `generate` pass: every kind draws from noise in one window schedule
        (cameos are per-sample tokens, a remix parent a per-sample start), except extensions
        (and an input reference, drawn as a one-frame extension), which start from known frames."""
        return "extend" if kind == "extend" or has_input_reference else "draw"

    def pipeline(self) -> Any:
        """The model pipeline, loaded on first use (seconds; weights from the package)."""
        if self._pipeline is None:
            with self._lock:
                if self._pipeline is None:
                    try:
                        from generation.video_model.pipeline import VideoModelPipeline
                    except ImportError as exc:
                        raise BackendError(
                            "model_unavailable", f"The embedded video model cannot be imported: {exc}", retryable=False
                        ) from exc
                    try:
                        self._pipeline = VideoModelPipeline.load(checkpoint=self.checkpoint, device=self.device)
                        self._pipeline.batch_on_cpu = self.batch_on_cpu
                    except FileNotFoundError as exc:
                        raise BackendError(
                            "model_unavailable",
                            f"The embedded video model's weights are missing: {exc}",
                            retryable=False,
                        ) from exc
                    logger.info("loaded embedded video model %s on %s", self._pipeline.model_name, self.device)
        return self._pipeline

    def _groups(self, requests: list[RenderRequest]) -> list[list[int]]:
        """Indices to render together: same (seconds, width, height) on CUDA, one by one elsewhere."""
        if not self.batches:
            return [[index] for index in range(len(requests))]
        by_key: dict[tuple, list[int]] = {}
        for index, request in enumerate(requests):
            by_key.setdefault(request.batch_key(), []).append(index)
        groups = []
        for indices in by_key.values():
            groups += [indices[i : i + self.max_batch] for i in range(0, len(indices), self.max_batch)]
        return groups

    @staticmethod
    def _clip_request(request: RenderRequest) -> Any:
        from generation.video_model.pipeline import ClipRequest

        extend = request.extend_frames
        if extend is None and request.input_reference is not None:
            extend = request.input_reference[None]
        return ClipRequest(
            prompt=request.prompt,
            seed=request.seed,
            seconds=request.seconds,
            cameo_images=list(request.cameo_images),
            remix_frames=request.remix_frames,
            remix_strength=request.remix_strength,
            extend_frames=extend,
            steps=None,
            guidance=None,
        )

    def render(self, requests: list[RenderRequest], progress: ProgressCallback) -> list[RenderResult]:
        """Render every request with the embedded model; frames come back at the requested size."""
        if not requests:
            return []
        pipe = self.pipeline()
        from generation.video_model.pipeline import upscale_frames

        results: list[RenderResult | None] = [None] * len(requests)
        for group in self._groups(requests):

            def group_progress(fraction: float, group: list[int] = group) -> None:
                try:
                    for index in group:
                        progress(index, min(1.0, max(0.0, float(fraction))))
                except Exception as exc:  # the caller stopping the render (a cancelled job)
                    raise _CallerAborted(exc) from exc

            try:
                clips = pipe.generate([self._clip_request(requests[i]) for i in group], progress=group_progress)
            except _CallerAborted as aborted:
                raise aborted.original from None
            except BackendError:
                raise
            except _PASS_THROUGH:
                raise
            except ValueError as exc:
                raise BackendError(
                    "invalid_request", f"The video model refused the request: {exc}", retryable=False
                ) from exc
            except Exception as exc:
                # CUDA out of memory and other runtime failures may pass on another try or worker.
                code = "gpu_out_of_memory" if "out of memory" in str(exc).lower() else "render_failed"
                raise BackendError(code, f"The video model failed: {exc}", retryable=True) from exc
            if len(clips) != len(group):
                raise BackendError(
                    "render_failed", "The video model returned the wrong number of clips.", retryable=True
                )
            for index, clip in zip(group, clips, strict=True):
                request = requests[index]
                frames = np.asarray(upscale_frames(np.asarray(clip), width=request.width, height=request.height))
                if frames.dtype != np.uint8 or frames.shape[1:] != (request.height, request.width, 3):
                    raise BackendError(
                        "render_failed",
                        f"Upscaled frames have shape {frames.shape}, not the size asked for.",
                        retryable=False,
                    )
                results[index] = RenderResult(
                    frames=frames, fps=int(pipe.fps), model=str(pipe.model_name), backend=self.name
                )
                progress(index, 1.0)
        return [result for result in results if result is not None]
