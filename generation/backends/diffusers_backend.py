"""The `diffusers` backend: an open Wan 2.x text/image-to-video model, in the gpu worker.

The operator provides the model as a local folder in diffusers' layout (what
`save_pretrained` writes, or a Hub snapshot such as Wan-AI/Wan2.2-TI2V-5B-Diffusers copied
onto the box); nothing is downloaded at run time (`local_files_only`, `HF_HUB_OFFLINE`).
Weights load once per process, on first use (the gpu role's warm-up calls `pipeline()`), in
bf16 on CUDA (the VAE in fp32, as Wan's own examples do) and fp32 on CPU; model CPU offload
and VAE tiling are optional.

What a folder can do is read from its config files alone (no weights, no torch), so the web
process can refuse at submit what the worker could not render:
- text-to-video: every Wan layout `WanPipeline` loads (2.1 T2V, 2.2 T2V-A14B, 2.2 TI2V-5B);
- a start image (cameos, `input_reference`) and extensions (the parent's last frame as the
  start image): only TI2V folders (`expand_timesteps`), through `WanImageToVideoPipeline`
  sharing the same modules (TI2V needs no CLIP image encoder);
- remix and edit (video-to-video, SDEdit at the job's strength): only folders whose VAE works
  at the 8x spatial scale `WanVideoToVideoPipeline` assumes (the Wan 2.1 VAE) and that have a
  single transformer; Wan 2.2 TI2V's VAE patchifies to 16x, so a TI2V folder refuses remixes.

Cameos: the first cameo's reference image is the start frame; with two cameos, both
references are laid side by side (top and bottom in portrait) into one start frame, so both
people are in the picture the clip starts from. A start image cannot be combined with another
(a cameo and an `input_reference`, or a cameo in an extension or a remix): refused at submit.

Each job renders at a model resolution (its aspect kept, at most `max_area` pixels, sides a
multiple of the model's patch), `seconds * fps` frames (fewer frames per second when that
exceeds `max_frames`), and is brought to the requested size by `upscale_frames`.
Compatible text-to-video requests (same render size, frame count) share one pipeline call with
a list of prompts and one seeded generator each; image- and video-conditioned requests go one
per call (the Wan pipelines take one start image or source video per call).

Plain module: no Django; `get_backend()` passes the settings in.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.backends.base import BackendError, ProgressCallback, RenderRequest, RenderResult
from generation.backends.embedded import _PASS_THROUGH, resolve_device

logger = logging.getLogger(__name__)

# Capability names: job kinds (generation.models.JobKind values) and "start_image".
CREATE, REMIX, EDIT, EXTEND, START_IMAGE = "create", "remix", "edit", "extend", "start_image"


class _CallerAborted(Exception):
    """An exception raised by the caller's progress callback, carried out of the pipeline intact."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


@dataclass(frozen=True)
class Refusal:
    """Why a backend cannot render a job: a machine-readable code and a message for people."""

    code: str
    message: str


@dataclass(frozen=True)
class ModelLayout:
    """What a diffusers folder holds, read from its config files (no weights loaded)."""

    expand_timesteps: bool  # Wan 2.2 TI2V: the first latent frame is the start image
    has_transformer_2: bool  # Wan 2.2 A14B: two experts (video-to-video does not know them)
    vae_spatial_scale: int  # pixels per latent cell, patchification included
    vae_temporal_scale: int
    vae_downsample_levels: int  # 2 ** this is the scale WanVideoToVideoPipeline assumes
    patch: int  # the transformer's spatial patch

    @classmethod
    def read(cls, model_dir: str | Path) -> ModelLayout:
        root = Path(model_dir)

        def config(relative: str) -> dict[str, Any]:
            try:
                return json.loads((root / relative).read_text())
            except (OSError, ValueError) as exc:
                raise BackendError(
                    "model_unavailable",
                    f"The diffusers model folder {str(root)!r} has no readable {relative}: {exc}",
                    retryable=False,
                ) from exc

        index, vae, transformer = (
            config("model_index.json"),
            config("vae/config.json"),
            config("transformer/config.json"),
        )
        if index.get("_class_name") != "WanPipeline":
            raise BackendError(
                "model_unavailable",
                f"The diffusers model folder holds a {index.get('_class_name')!r}, not a WanPipeline.",
                retryable=False,
            )
        downsample_levels = len(vae.get("temperal_downsample") or [False, True, True])
        # Wan 2.2's VAE folds 2x2 pixels into channels before its 8x downsampling: 16 px a cell.
        vae_scale = 2**downsample_levels * int(vae.get("patch_size") or 1)
        patch_size = transformer.get("patch_size") or [1, 2, 2]
        return cls(
            expand_timesteps=bool(index.get("expand_timesteps", False)),
            has_transformer_2=bool((index.get("transformer_2") or [None])[0]),
            vae_spatial_scale=max(vae_scale, int(vae.get("scale_factor_spatial") or 0)),
            vae_temporal_scale=int(vae.get("scale_factor_temporal") or 4),
            vae_downsample_levels=downsample_levels,
            patch=int(patch_size[1]),
        )

    def capabilities(self) -> frozenset[str]:
        can = {CREATE}
        if self.expand_timesteps:
            can |= {START_IMAGE, EXTEND}
        if self.vae_spatial_scale == 2**self.vae_downsample_levels and not self.has_transformer_2:
            can |= {REMIX, EDIT}
        return frozenset(can)


@dataclass(frozen=True)
class _Plan:
    """How one request is rendered: mode, model-resolution size, frames, and the conditioning."""

    mode: str  # "t2v" | "i2v" | "v2v"
    width: int
    height: int
    frames: int  # what the pipeline makes (4k+1)
    fps: int
    keep: int  # frames kept: exactly seconds * fps
    drop_first: bool  # an extension's first frame repeats the parent's last one
    start_image: np.ndarray | None = None
    source_frames: np.ndarray | None = None
    strength: float = 1.0

    def batch_key(self) -> tuple | None:
        """Plans with the same key share one pipeline call; None: this one goes alone."""
        return ("t2v", self.width, self.height, self.frames) if self.mode == "t2v" else None


def _fit_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover (width, height) and crop the centre: a start frame with no bars."""
    from PIL import Image, ImageOps

    fitted = ImageOps.fit(Image.fromarray(image), (width, height), method=Image.Resampling.BICUBIC)
    return np.asarray(fitted.convert("RGB"), dtype=np.uint8)


def compose_start_image(images: tuple[np.ndarray, ...], width: int, height: int) -> np.ndarray:
    """One start frame from one or two reference images: side by side (stacked in portrait)."""
    if len(images) == 1:
        return _fit_image(images[0], width, height)
    if width >= height:
        half = width // 2
        return np.concatenate([_fit_image(images[0], half, height), _fit_image(images[1], width - half, height)], 1)
    half = height // 2
    return np.concatenate([_fit_image(images[0], width, half), _fit_image(images[1], width, height - half)], 0)


class DiffusersBackend:
    """Renders with a local Wan 2.x diffusers folder; see the module docstring."""

    name = "diffusers"

    def __init__(
        self,
        *,
        model_dir: str,
        model_name: str = "",
        device: str = "auto",
        steps: int = 50,
        guidance_scale: float = 5.0,
        negative_prompt: str = "",
        fps: int = 24,
        max_frames: int = 121,
        max_area: int = 1280 * 704,
        max_batch: int = 4,
        cpu_offload: bool = False,
        vae_tiling: bool = False,
    ) -> None:
        self.model_dir = model_dir
        self.model_name = model_name or (Path(model_dir).name if model_dir else "diffusers")
        self.device = resolve_device(device)
        self.steps = max(1, steps)
        self.guidance_scale = guidance_scale
        self.negative_prompt = negative_prompt or None
        self.fps = max(1, fps)
        self.max_frames = max(5, max_frames)
        self.max_area = max(1, max_area)
        self.max_batch = max(1, max_batch)
        self.cpu_offload = cpu_offload
        self.vae_tiling = vae_tiling
        self._layout: ModelLayout | None = None
        self._pipelines: dict[str, Any] = {}
        self._lock = threading.RLock()  # one load, and one pipeline call at a time (shared scheduler)

    # --- what it can do (config files only: the web process asks at submit) -----------------

    def layout(self) -> ModelLayout:
        if self._layout is None:
            if not self.model_dir:
                raise BackendError(
                    "model_unavailable", "GENERATION_DIFFUSERS_MODEL_DIR names no model folder.", retryable=False
                )
            self._layout = ModelLayout.read(self.model_dir)
        return self._layout

    def supports(self, capability: str) -> bool:
        """Whether the model can do `capability`: a job kind, or "start_image"."""
        return capability in self.layout().capabilities()

    def refusal(self, *, kind: str, cameo_count: int, has_input_reference: bool) -> Refusal | None:
        """Why a job of this shape cannot be rendered by this model, or None when it can."""
        model = self.model_name
        if not self.supports(kind):
            label = {REMIX: "remix", EDIT: "edit", EXTEND: "extension"}.get(kind, kind)
            how = "video-to-video" if kind in (REMIX, EDIT) else "image-to-video"
            return Refusal(
                f"{label}_not_supported",
                f"The video model {model!r} cannot make a {label}: it has no {how} pipeline.",
            )
        images = (1 if cameo_count else 0) + (1 if has_input_reference else 0)
        if images and not self.supports(START_IMAGE):
            return Refusal(
                "start_image_not_supported",
                f"The video model {model!r} is text-to-video only: it cannot put a cameo or a reference image in.",
            )
        if images and kind != CREATE:
            return Refusal(
                "start_image_not_supported",
                f"The video model {model!r} cannot add a cameo or a reference image to a {kind}: "
                "it starts from the source video.",
            )
        if images > 1:
            return Refusal(
                "start_image_not_supported",
                f"The video model {model!r} starts from one picture: use cameos or an input reference, not both.",
            )
        return None

    def batch_group(self, *, kind: str, cameo_count: int, has_input_reference: bool) -> str | None:
        """Text-to-video jobs share one pipeline call (a list of prompts, one generator each) at
        this backend's step count; a start image or a source video goes one per call."""
        if kind == CREATE and not cameo_count and not has_input_reference:
            return f"t2v-{self.steps}steps"
        return None

    # --- loading --------------------------------------------------------------------------

    def pipeline(self) -> Any:
        """The text-to-video pipeline, loaded on first use (the other modes share its modules)."""
        return self._pipeline("t2v")

    def _dtypes(self) -> tuple[Any, Any]:
        import torch

        if self.device.startswith("cuda"):
            return torch.bfloat16, torch.float32  # transformer and text encoder bf16; VAE fp32
        return torch.float32, torch.float32

    def _load_base(self) -> Any:
        layout = self.layout()  # a folder that is not a Wan folder fails here, before torch
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: never reach for a hub
        try:
            from diffusers import AutoencoderKLWan, WanPipeline
        except ImportError as exc:
            raise BackendError(
                "model_unavailable", f"diffusers is not installed in this worker: {exc}", retryable=False
            ) from exc
        weights_dtype, vae_dtype = self._dtypes()
        try:
            vae = AutoencoderKLWan.from_pretrained(
                self.model_dir, subfolder="vae", dtype=vae_dtype, local_files_only=True
            )
            pipe = WanPipeline.from_pretrained(self.model_dir, vae=vae, dtype=weights_dtype, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise BackendError(
                "model_unavailable",
                f"The diffusers model in {self.model_dir!r} could not be loaded: {exc}",
                retryable=False,
            ) from exc
        if self.vae_tiling:
            pipe.vae.enable_tiling()
        self._place(pipe)
        pipe.set_progress_bar_config(disable=True)
        logger.info(
            "loaded diffusers model %s from %s on %s (%s, offload=%s, tiling=%s, ti2v=%s)",
            self.model_name,
            self.model_dir,
            self.device,
            weights_dtype,
            self.cpu_offload,
            self.vae_tiling,
            layout.expand_timesteps,
        )
        return pipe

    def _place(self, pipe: Any) -> None:
        if self.cpu_offload and self.device.startswith("cuda"):
            # Each module visits the GPU only while it runs: a 5B model fits in ~24 GB.
            pipe.enable_model_cpu_offload(device=self.device)
        else:
            pipe.to(self.device)

    def _pipeline(self, mode: str) -> Any:
        with self._lock:
            pipe = self._pipelines.get(mode)
            if pipe is not None:
                return pipe
            base = self._pipelines.get("t2v")
            if base is None:
                base = self._pipelines["t2v"] = self._load_base()
            if mode == "t2v":
                return base
            from diffusers import WanImageToVideoPipeline, WanVideoToVideoPipeline

            parts = {
                "tokenizer": base.tokenizer,
                "text_encoder": base.text_encoder,
                "transformer": base.transformer,
                "vae": base.vae,
                "scheduler": base.scheduler,
            }
            if mode == "i2v":
                # TI2V-5B conditions through its first latent frame; it has no CLIP image encoder.
                pipe = WanImageToVideoPipeline(
                    **parts,
                    transformer_2=base.transformer_2,
                    image_encoder=None,
                    image_processor=None,
                    boundary_ratio=base.config.boundary_ratio,
                    expand_timesteps=base.config.expand_timesteps,
                )
            elif mode == "v2v":
                pipe = WanVideoToVideoPipeline(**parts)
            else:  # pragma: no cover - modes come from _plan
                raise ValueError(f"unknown mode {mode!r}")
            if self.cpu_offload and self.device.startswith("cuda"):
                pipe.enable_model_cpu_offload(device=self.device)
            pipe.set_progress_bar_config(disable=True)
            self._pipelines[mode] = pipe
            return pipe

    # --- planning -------------------------------------------------------------------------

    def render_size(self, width: int, height: int) -> tuple[int, int]:
        """The model-resolution size for an output size: same aspect, at most max_area pixels."""
        layout = self.layout()
        multiple = layout.vae_spatial_scale * layout.patch
        scale = min(1.0, math.sqrt(self.max_area / (width * height)))

        def side(length: float, rounding: Callable[[float], float]) -> int:
            return max(multiple, int(rounding(length * scale / multiple)) * multiple)

        # Nearest whole patches (720x1280 -> Wan's native 704x1280), rounded down if that overshoots.
        near = side(width, round), side(height, round)
        if near[0] * near[1] <= self.max_area:
            return near
        return side(width, math.floor), side(height, math.floor)

    def frame_plan(self, seconds: int) -> tuple[int, int, int]:
        """(frames to render, fps, frames to keep) for a clip of `seconds`.

        Wan renders 4k+1 frames; when seconds * fps + 1 would exceed max_frames the clip is
        rendered at fewer frames per second, so its length stays right.
        """
        temporal = self.layout().vae_temporal_scale
        fps = min(self.fps, max(1, (self.max_frames - 1) // seconds))
        keep = seconds * fps
        frames = math.ceil(keep / temporal) * temporal + 1
        return frames, fps, keep

    def _plan(self, request: RenderRequest) -> _Plan:
        width, height = self.render_size(request.width, request.height)
        frames, fps, keep = self.frame_plan(request.seconds)
        common = {"width": width, "height": height, "frames": frames, "fps": fps, "keep": keep}
        if request.remix_frames is not None:
            if not self.supports(REMIX):
                raise BackendError(
                    "remix_not_supported", f"{self.model_name!r} has no video-to-video pipeline.", retryable=False
                )
            source = np.asarray(request.remix_frames)
            picks = np.linspace(0, len(source) - 1, frames).round().astype(int)
            resized = np.stack([_fit_image(frame, width, height) for frame in source[picks]])
            return _Plan(mode="v2v", drop_first=False, source_frames=resized, strength=request.remix_strength, **common)
        start: np.ndarray | None = None
        if request.extend_frames is not None:
            start = _fit_image(np.asarray(request.extend_frames)[-1], width, height)
        elif request.input_reference is not None:
            start = _fit_image(request.input_reference, width, height)
        elif request.cameo_images:
            start = compose_start_image(request.cameo_images, width, height)
        if start is None:
            return _Plan(mode="t2v", drop_first=False, **common)
        if not self.supports(START_IMAGE):
            raise BackendError(
                "start_image_not_supported", f"{self.model_name!r} has no image-to-video pipeline.", retryable=False
            )
        return _Plan(mode="i2v", drop_first=request.extend_frames is not None, start_image=start, **common)

    def _groups(self, plans: list[_Plan]) -> list[list[int]]:
        by_key: dict[tuple, list[int]] = {}
        groups: list[list[int]] = []
        for index, plan in enumerate(plans):
            key = plan.batch_key()
            if key is None:
                groups.append([index])
            else:
                by_key.setdefault(key, []).append(index)
        for indices in by_key.values():
            groups += [indices[i : i + self.max_batch] for i in range(0, len(indices), self.max_batch)]
        return sorted(groups)

    # --- rendering ------------------------------------------------------------------------

    def _call(
        self, group: list[int], requests: list[RenderRequest], plans: list[_Plan], on_step: Callable
    ) -> np.ndarray:
        """One pipeline call for a group of compatible plans; (B, T, H, W, 3) floats in [0, 1]."""
        import torch
        from PIL import Image

        first = plans[group[0]]
        pipe = self._pipeline(first.mode)
        generator_device = "cpu" if self.cpu_offload else self.device
        arguments: dict[str, Any] = {
            "prompt": [requests[i].prompt for i in group],
            "negative_prompt": [self.negative_prompt] * len(group) if self.negative_prompt else None,
            "height": first.height,
            "width": first.width,
            "num_inference_steps": self.steps,
            "guidance_scale": self.guidance_scale,
            # One generator per video: a job's seed gives the same clip alone or in a batch.
            "generator": [torch.Generator(generator_device).manual_seed(requests[i].seed) for i in group],
            "output_type": "np",
            "callback_on_step_end": on_step,
        }
        if first.mode == "v2v":
            arguments["video"] = [Image.fromarray(frame) for frame in first.source_frames]
            arguments["strength"] = first.strength
        else:
            arguments["num_frames"] = first.frames
        if first.mode == "i2v":
            arguments["image"] = Image.fromarray(first.start_image)
        with torch.inference_mode():
            output = pipe(**arguments)
        return np.asarray(output.frames)

    def render(self, requests: list[RenderRequest], progress: ProgressCallback) -> list[RenderResult]:
        """Render every request; frames come back at the requested size."""
        if not requests:
            return []
        from generation.video_model.pipeline import upscale_frames

        plans = [self._plan(request) for request in requests]
        results: list[RenderResult | None] = [None] * len(requests)
        with self._lock:
            for group in self._groups(plans):

                def on_step(pipe: Any, step: int, timestep: Any, tensors: dict, group: list[int] = group) -> dict:
                    total = max(1, int(getattr(pipe, "num_timesteps", 0) or self.steps))
                    try:
                        for index in group:
                            progress(index, min(1.0, (step + 1) / total))
                    except Exception as exc:  # the caller stopping the render (a cancelled job)
                        raise _CallerAborted(exc) from exc
                    return {}

                try:
                    clips = self._call(group, requests, plans, on_step)
                except _CallerAborted as aborted:
                    raise aborted.original from None
                except BackendError:
                    raise
                except _PASS_THROUGH:
                    raise
                except Exception as exc:
                    # CUDA out of memory and other runtime failures may pass on another try or worker.
                    code = "gpu_out_of_memory" if "out of memory" in str(exc).lower() else "render_failed"
                    raise BackendError(code, f"The diffusers model failed: {exc}", retryable=True) from exc
                if len(clips) != len(group):
                    raise BackendError(
                        "render_failed", "The diffusers pipeline returned the wrong number of videos.", retryable=True
                    )
                for index, clip in zip(group, clips, strict=True):
                    request, plan = requests[index], plans[index]
                    frames = (np.clip(clip, 0.0, 1.0) * 255.0).round().astype(np.uint8)
                    frames = frames[1:] if plan.drop_first else frames
                    frames = np.asarray(upscale_frames(frames[: plan.keep], width=request.width, height=request.height))
                    results[index] = RenderResult(
                        frames=frames,
                        fps=plan.fps,
                        model=self.model_name,
                        backend=self.name,
                        extra={"render_size": f"{plan.width}x{plan.height}", "mode": plan.mode, "steps": self.steps},
                    )
                    progress(index, 1.0)
        return [result for result in results if result is not None]
