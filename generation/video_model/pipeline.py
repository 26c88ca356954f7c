"""Sampling: text -> video, with cameos, remix and extension; the interface backends call.

    pipe = VideoModelPipeline.load()                 # the shipped weights, CPU
    [clip] = pipe.generate([ClipRequest(prompt="a red ball drops and bounces twice", seed=42)])
    big = upscale_frames(clip, width=720, height=1280)

How each request is served:

* The model draws 4-second windows (``frames`` at ``fps``). A longer clip is the first window
  plus extension windows, each continuing from the last second of what is drawn so far.
* Sampling integrates the rectified-flow ODE with Euler steps from noise (t = 1) to the clip
  (t = 0), with classifier-free guidance: v = v_uncond + g * (v_text - v_uncond). Cameo tokens
  and known frames are given to both branches, so guidance strengthens only the prompt.
* Remix (SDEdit): the parent, resampled to the request's length at model resolution, is
  noised to t = strength and integrated from there under the new prompt. Strength 0 returns
  the parent itself; strength 1 ignores it.
* Extension: the last second of ``extend_frames`` (taken to be at the model's fps; a clip with
  fewer frames is padded by holding its first frame) is given clean as the first slices of
  the window; only new frames are returned.
* The noise comes from a generator seeded by the request's seed, so one request gives the
  same frames every time. On CPU every request runs alone (identical frames whatever else is
  asked for) unless ``batch_on_cpu`` is set; on CUDA requests of the same length run as one
  batch under bf16 autocast.

Plain module (torch, numpy, OpenCV); no Django; never downloads anything.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from generation.video_model import data
from generation.video_model.model import MIN_T, STDiT
from generation.video_model.training import MODEL_NAME, SHIPPED_WEIGHTS, load_weights

DEFAULT_STEPS = 20
# Chosen on held-out validation prompts (seed 777, not the evaluation's) for the shipped step
# 21,500: 62 drops passed the physics check 85 / 92 / 87 / 76 % at guidance 1 / 1.5 / 2 / 3, with
# colour and direction level from 1.5 up; stronger guidance exaggerates the prompt and flattens
# the fall (`python -m benchmarks.bench_video_model_guidance`).
DEFAULT_GUIDANCE = 1.5
# Time shift of the sampling schedule, t -> shift t / (1 + (shift - 1) t): above 1 it spends
# more of the steps at the noisy end, where layout and motion are decided (SD3's resolution
# shift). 1 is the plain uniform schedule.
TIME_SHIFT = float(os.environ.get("VIDEO_MODEL_TIME_SHIFT", "1.0"))


def shifted(t: torch.Tensor, shift: float = TIME_SHIFT) -> torch.Tensor:
    """The schedule's time warp (identity at shift 1; keeps 0 and 1 fixed)."""
    return shift * t / (1 + (shift - 1) * t)


MAX_CAMEOS = 2
CONTEXT_FRAMES = 8  # frames of the clip so far that an extension window continues from
ALLOWED_SECONDS = range(1, 21)


@dataclass
class ClipRequest:
    """One clip to draw. Arrays are uint8 RGB; any size (they are resized)."""

    prompt: str
    seed: int = 0
    seconds: int = 4
    cameo_images: list[np.ndarray] = field(default_factory=list)  # <= 2 HxWx3 images
    remix_frames: np.ndarray | None = None  # (T, H, W, 3) parent video
    remix_strength: float = 0.6  # 0 = the parent, 1 = ignore it
    extend_frames: np.ndarray | None = None  # (T, H, W, 3) clip to continue
    steps: int | None = None
    guidance: float | None = None


def resize_clip(frames: np.ndarray, size: int, length: int | None = None) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (length or T, size, size, 3): centre square crop, area resize,
    nearest-frame resampling in time."""
    import cv2

    clip = np.asarray(frames)
    if clip.ndim == 3:
        clip = clip[None]
    if clip.ndim != 4 or clip.shape[-1] < 3 or clip.shape[0] == 0:
        raise ValueError(f"frames must be (T, H, W, 3), got {clip.shape}")
    clip = clip[..., :3].astype(np.uint8)
    if length is not None and length != clip.shape[0]:
        idx = np.minimum((np.arange(length) * clip.shape[0] / length).astype(int), clip.shape[0] - 1)
        clip = clip[idx]
    h, w = clip.shape[1:3]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    out = [cv2.resize(f[top : top + side, left : left + side], (size, size), interpolation=interp) for f in clip]
    return np.stack(out).astype(np.uint8)


def upscale_frames(frames: np.ndarray, *, width: int, height: int) -> np.ndarray:
    """Model-resolution frames -> (T, height, width, 3) uint8 for the MP4.

    The square picture is scaled to fit the target (no cropping, so nothing in the scene is
    lost) with bicubic interpolation, then letterboxed by replicating the edge rows and columns:
    in portrait the room's dark wall continues above and its floor continues below, which
    reads as more of the same room rather than black bars.
    """
    import cv2

    clip = np.asarray(frames, dtype=np.uint8)
    if clip.ndim != 4 or clip.shape[-1] != 3:
        raise ValueError(f"frames must be (T, H, W, 3), got {clip.shape}")
    if width <= 0 or height <= 0:
        raise ValueError("width and height must be positive")
    h, w = clip.shape[1:3]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    top = (height - new_h) // 2
    left = (width - new_w) // 2
    out = np.empty((clip.shape[0], height, width, 3), np.uint8)
    for i, frame in enumerate(clip):
        big = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_CUBIC)
        out[i] = cv2.copyMakeBorder(big, top, height - new_h - top, left, width - new_w - left, cv2.BORDER_REPLICATE)
    return out


class VideoModelPipeline:
    """The embedded text-to-video model with its sampler; see the module docstring."""

    def __init__(self, model: STDiT, *, device: str = "cpu", name: str = MODEL_NAME) -> None:
        self.model = model.to(device).eval().requires_grad_(False)
        self.device = torch.device(device)
        self.config = model.config
        self.model_name = name
        self.fps = self.config.fps
        self.height = self.width = self.config.size
        self._embedding_cache: dict[str, np.ndarray] = {}
        # Draw compatible requests together on CPU too (the gpu worker's batches, measured by
        # benchmarks/bench_batched_worker.py); off by default: alone, a seed's frames never
        # depend on what else is drawn.
        self.batch_on_cpu = False
        self.embed_fn: Callable[[list[str]], np.ndarray] | None = None

    @classmethod
    def load(cls, checkpoint: str | Path | None = None, device: str = "cpu") -> VideoModelPipeline:
        """The shipped checkpoint (``None``) or any weights/checkpoint file; fast, offline."""
        path = Path(checkpoint) if checkpoint is not None else SHIPPED_WEIGHTS
        if not path.exists():
            raise FileNotFoundError(str(path))
        blob = torch.load(path, map_location="cpu", weights_only=False)
        name = blob.get("name", MODEL_NAME) if isinstance(blob, dict) else MODEL_NAME
        return cls(load_weights(path, device="cpu"), device=device, name=name)

    # --- conditioning ----------------------------------------------------------------------

    def embed_prompts(self, prompts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings (N, 384), cached per prompt."""
        missing = [p for p in dict.fromkeys(prompts) if p not in self._embedding_cache]
        if missing:
            if self.embed_fn is None:
                from sora_social.common.embeddings import embed_texts

                self.embed_fn = embed_texts
            for p, v in zip(missing, self.embed_fn(list(missing)), strict=True):
                self._embedding_cache[p] = np.asarray(v, np.float32)
        return np.stack([self._embedding_cache[p] for p in prompts])

    def _refs(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
        if len(images) > MAX_CAMEOS:
            raise ValueError(f"at most {MAX_CAMEOS} cameo images, got {len(images)}")
        refs = np.zeros((MAX_CAMEOS, self.config.ref_size, self.config.ref_size, 3), np.uint8)
        for i, img in enumerate(images):
            arr = np.asarray(img)
            if arr.ndim not in (2, 3) or arr.size == 0:
                raise ValueError(f"cameo image {i} must be HxWx3, got {arr.shape}")
            refs[i] = data.resize_reference(arr, self.config.ref_size)
        return refs, len(images)

    # --- sampling --------------------------------------------------------------------------

    def _velocity(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        text: torch.Tensor,
        refs: torch.Tensor,
        n_refs: torch.Tensor,
        clean: torch.Tensor,
        guidance: torch.Tensor,
    ) -> torch.Tensor:
        b = x.shape[0]
        null = self.model.null_text[None].expand(b, -1).to(text.dtype)
        use_amp = self.device.type == "cuda"
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            x0 = self.model(
                torch.cat([x, x]),
                torch.cat([t, t]),
                torch.cat([text, null]),
                torch.cat([refs, refs]),
                torch.cat([n_refs, n_refs]),
                torch.cat([clean, clean]),
            ).float()
        # The model predicts x0; the velocity follows (in fp32, as in `STDiT.velocity`).
        v = (torch.cat([x, x]) - x0) / torch.cat([t, t]).clamp_min(MIN_T)[:, None, None, None, None]
        v_text, v_null = v[:b], v[b:]
        return v_null + guidance[:, None, None, None, None] * (v_text - v_null)

    @torch.no_grad()
    def _window(
        self,
        *,
        text: torch.Tensor,
        refs: torch.Tensor,
        n_refs: torch.Tensor,
        noise: torch.Tensor,
        prefix: torch.Tensor | None,
        init: torch.Tensor | None,
        strength: torch.Tensor,
        steps: int,
        guidance: torch.Tensor,
        progress: Callable[[float], None],
    ) -> torch.Tensor:
        """Draw one window (B, frames, S, S, 3) in [-1, 1].

        prefix: (B, P, S, S, 3) known first frames (P a multiple of patch_t) or None;
        init: (B, frames, S, S, 3) the remix parent for this window or None; strength (B,)
        the t each sample starts from (1 without a parent).
        """
        cfg = self.config
        b = noise.shape[0]
        slices = cfg.frames // cfg.patch_t
        clean = torch.zeros(b, slices, dtype=torch.bool, device=self.device)
        known = torch.zeros_like(noise)
        if prefix is not None:
            n_clean = prefix.shape[1] // cfg.patch_t
            clean[:, :n_clean] = True
            known[:, : prefix.shape[1]] = prefix
        frame_clean = clean.repeat_interleave(cfg.patch_t, dim=1)[:, :, None, None, None]
        s = strength[:, None, None, None, None]
        x = noise if init is None else (1 - s) * init + s * noise
        x = torch.where(frame_clean, known, x)
        for k in range(steps):
            # Each sample walks its own schedule from t = strength down to 0.
            t_now = strength * shifted(torch.tensor(1 - k / steps))
            t_next = strength * shifted(torch.tensor(1 - (k + 1) / steps))
            v = self._velocity(x, t_now, text, refs, n_refs, clean, guidance)
            x = x + (t_next - t_now)[:, None, None, None, None] * v
            x = torch.where(frame_clean, known, x)
            progress((k + 1) / steps)
        return x

    def _prepare(self, req: ClipRequest) -> dict:
        if not isinstance(req.prompt, str):
            raise ValueError("prompt must be a string")
        seconds = int(req.seconds)
        if seconds not in ALLOWED_SECONDS:
            raise ValueError(f"seconds must be 1..{ALLOWED_SECONDS[-1]}, got {req.seconds}")
        strength = float(req.remix_strength)
        if not 0.0 <= strength <= 1.0:
            raise ValueError("remix_strength must lie in [0, 1]")
        steps = int(req.steps or DEFAULT_STEPS)
        if not 1 <= steps <= 200:
            raise ValueError("steps must lie in 1..200")
        refs, n_refs = self._refs(req.cameo_images or [])
        n_frames = seconds * self.fps
        parent = None
        if req.remix_frames is not None:
            parent = resize_clip(req.remix_frames, self.config.size, n_frames)
        context = None
        if req.extend_frames is not None:
            tail = resize_clip(req.extend_frames, self.config.size)[-CONTEXT_FRAMES:]
            if len(tail) < CONTEXT_FRAMES:  # hold the first frame (a still image becomes a pause)
                pad = np.repeat(tail[:1], CONTEXT_FRAMES - len(tail), axis=0)
                tail = np.concatenate([pad, tail])
            context = tail
        return {
            "n_frames": n_frames,
            "strength": strength if parent is not None else 1.0,
            "parent": parent,
            "context": context,
            "refs": refs,
            "n_refs": n_refs,
            "steps": steps,
            "guidance": float(DEFAULT_GUIDANCE if req.guidance is None else req.guidance),
            "seed": int(req.seed),
        }

    def _to_model(self, frames: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(frames).to(self.device).float() / 127.5 - 1.0

    def _run_group(self, reqs: list[ClipRequest], progress: Callable[[float], None]) -> list[np.ndarray]:
        """Requests of one length and step count, drawn together."""
        cfg = self.config
        preps = [self._prepare(r) for r in reqs]
        n_frames, steps = preps[0]["n_frames"], preps[0]["steps"]
        # A parent at strength 0 is returned as it is, with no sampling at all.
        if all(p["parent"] is not None and p["strength"] == 0.0 for p in preps):
            progress(1.0)
            return [p["parent"].copy() for p in preps]
        text = torch.from_numpy(self.embed_prompts([r.prompt for r in reqs])).to(self.device)
        refs = self._to_model(np.stack([p["refs"] for p in preps]))
        n_refs = torch.tensor([p["n_refs"] for p in preps], device=self.device)
        strength = torch.tensor([p["strength"] for p in preps], device=self.device, dtype=torch.float32)
        guidance = torch.tensor([p["guidance"] for p in preps], device=self.device, dtype=torch.float32)
        gens = [torch.Generator().manual_seed(p["seed"]) for p in preps]
        shape = (cfg.frames, cfg.size, cfg.size, 3)

        has_context = preps[0]["context"] is not None
        new_per_window = cfg.frames - CONTEXT_FRAMES
        first_new = 0 if has_context else cfg.frames
        n_windows = (
            1 + max(0, math.ceil((n_frames - first_new) / new_per_window))
            if not has_context
            else max(1, math.ceil(n_frames / new_per_window))
        )
        made: torch.Tensor | None = None  # (B, frames so far, S, S, 3), context included
        if has_context:
            made = self._to_model(np.stack([p["context"] for p in preps]))
        produced = 0
        for w in range(n_windows):
            noise = torch.stack([torch.randn(shape, generator=g) for g in gens]).to(self.device)
            prefix = None if made is None else made[:, -CONTEXT_FRAMES:]
            start = produced - (0 if prefix is None else CONTEXT_FRAMES)  # window's first frame in the output
            init = None
            if any(p["parent"] is not None for p in preps):
                frames = []
                for p in preps:
                    par = p["parent"] if p["parent"] is not None else np.zeros((n_frames, *shape[1:]), np.uint8)
                    idx = np.clip(np.arange(start, start + cfg.frames), 0, n_frames - 1)
                    frames.append(par[idx])
                init = self._to_model(np.stack(frames))

            def window_progress(f: float, w: int = w) -> None:
                progress(min(1.0, (w + f) / n_windows))

            x = self._window(
                text=text,
                refs=refs,
                n_refs=n_refs,
                noise=noise,
                prefix=prefix,
                init=init,
                strength=strength,
                steps=steps,
                guidance=guidance,
                progress=window_progress,
            )
            new = x if prefix is None else x[:, CONTEXT_FRAMES:]
            made = new if made is None else torch.cat([made, new], dim=1)
            produced += new.shape[1]
        assert made is not None
        out = made[:, CONTEXT_FRAMES:] if has_context else made
        pixels = ((out[:, :n_frames].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
        results = []
        for p, clip in zip(preps, pixels, strict=True):
            # Strength 0 inside a mixed batch: still the parent, exactly.
            results.append(p["parent"].copy() if p["parent"] is not None and p["strength"] == 0.0 else clip)
        return results

    def generate(
        self, requests: Sequence[ClipRequest], progress: Callable[[float], None] | None = None
    ) -> list[np.ndarray]:
        """Draw every request; returns uint8 (seconds * fps, height, width, 3) per request."""
        report = progress or (lambda fraction: None)
        requests = list(requests)
        for r in requests:
            self._prepare(r)  # refuse bad input before any work
        if self.device.type == "cuda" or self.batch_on_cpu:
            groups: dict[tuple, list[int]] = {}
            for i, r in enumerate(requests):
                key = (int(r.seconds), int(r.steps or DEFAULT_STEPS), r.extend_frames is not None)
                groups.setdefault(key, []).append(i)
            order = list(groups.values())
        else:
            order = [[i] for i in range(len(requests))]
        results: list[np.ndarray | None] = [None] * len(requests)
        done = 0
        for idx in order:

            def group_progress(f: float, done: int = done, n: int = len(idx)) -> None:
                report(min(1.0, (done + f * n) / len(requests)))

            clips = self._run_group([requests[i] for i in idx], group_progress)
            for i, clip in zip(idx, clips, strict=True):
                results[i] = clip
            done += len(idx)
        report(1.0)
        return [r for r in results if r is not None]
