"""Training the STDiT on procedural clips: rectified flow, classifier-free guidance, resumable.

    python -m generation.video_model.training --steps 6000 --workdir var/video_model [--resume]
    python manage.py train_video_model ...   (the same, through Django)

Every example is drawn fresh from `data.sample_example` (no dataset on disk). Caption
embeddings are computed once with the bundled MiniLM and cached under the work directory.
Checkpoints (model, EMA, optimiser, step, RNG) are written every `--checkpoint-every` steps;
`--resume` continues from the latest. `export_weights` writes the EMA weights in fp16: the
file the embedded backend ships with.

Plain torch + numpy; no Django.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from generation.video_model import data
from generation.video_model.model import ModelConfig, STDiT, count_parameters

SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "stdit-v1.pt"
MODEL_NAME = "sora-social-stdit-v1"


@dataclass
class TrainConfig:
    steps: int = 6000
    batch: int = 8
    lr: float = 5e-4
    warmup: int = 200
    weight_decay: float = 0.01
    ema: float = 0.998
    p_drop_text: float = 0.1  # classifier-free guidance learns the unconditional velocity too
    p_prefix: float = 0.2  # share of examples that learn to continue given clean first frames
    p_cameo: float = 0.25
    # "velocity": the rectified-flow loss on v, i.e. the x0 error weighted by 1/t^2 (sharp detail);
    # "x0": the x0 error unweighted, which gives the noisy end (layout, motion, the prompt's
    # colour and direction) its share of the gradient. See docs/video_model.md, "Training".
    loss: str = "velocity"
    # > 1 moves training time toward the noisy end (t' = s t / (1 + (s - 1) t), as in SD3),
    # where the clip's layout and motion are decided.
    t_shift: float = 1.0
    # Multipliers on the default odds of some motions ({"drop": 1.5}): a run that focuses on
    # what the model draws worst without dropping the rest.
    motion_boost: dict[str, float] = field(default_factory=dict)
    # Extra loss weight on the pixels where objects are (1 + w there): the room is most of every
    # frame and trivially predicted, so where the object is, frame by frame, gets more of the
    # gradient. 0 is the plain mean over pixels.
    fg_weight: float = 0.0
    seed: int = 0
    threads: int = 1  # leave the other core of a shared 2-core machine free
    checkpoint_every: int = 100
    log_every: int = 25


# --- Caption embeddings ---------------------------------------------------------------------


def caption_table() -> dict[tuple, list[str]]:
    """Every caption key with its training captions (deterministic)."""
    return {key: data.captions_for_key(key, limit=data.caption_limit(key)) for key in data.all_caption_keys()}


def embed_captions(
    captions: list[str], cache_dir: Path, progress: Callable[[str], None] = print
) -> dict[str, np.ndarray]:
    """{caption: 384-d embedding}, cached on disk by the caption set's hash."""
    unique = sorted(set(captions))
    digest = hashlib.sha1("\n".join(unique).encode()).hexdigest()[:12]
    path = cache_dir / f"captions-{digest}.npz"
    if path.exists():
        stored = np.load(path, allow_pickle=False)
        return dict(zip(stored["text"].tolist(), stored["emb"], strict=True))
    from sora_social.common.embeddings import embed_texts

    progress(f"embedding {len(unique)} captions with all-MiniLM-L6-v2 (once; cached in {path}) ...")
    vectors = np.concatenate([embed_texts(unique[i : i + 2048]) for i in range(0, len(unique), 2048)])
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, text=np.array(unique), emb=vectors.astype(np.float32))
    os.replace(tmp, path)
    return dict(zip(unique, vectors, strict=True))


def set_text_statistics(model: STDiT, embeddings: dict[str, np.ndarray]) -> None:
    """Store the per-dimension mean and spread of the caption embeddings in the model."""
    matrix = np.stack(list(embeddings.values())).astype(np.float64)
    with torch.no_grad():
        model.text_mean.copy_(torch.from_numpy(matrix.mean(0)).float())
        model.text_scale.copy_(torch.from_numpy(matrix.std(0) + 1e-3).float())


# --- Data ------------------------------------------------------------------------------------


class ClipStream(torch.utils.data.IterableDataset):
    """An endless stream of (video, text embedding, refs, n_refs), drawn fresh each time."""

    def __init__(
        self,
        config: ModelConfig,
        captions: dict[tuple, list[str]],
        embeddings: dict[str, np.ndarray],
        *,
        seed: int,
        p_cameo: float,
        motion_boost: dict[str, float] | None = None,
    ) -> None:
        super().__init__()
        self.motion_boost = dict(motion_boost or {})
        self.config = config
        self.captions = captions
        self.embeddings = embeddings
        self.seed = seed
        self.p_cameo = p_cameo

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, worker])
        while True:
            ex = data.sample_example(
                rng,
                size=self.config.size,
                frames=self.config.frames,
                fps=self.config.fps,
                p_cameo=self.p_cameo,
                captions=self.captions,
                motion_boost=self.motion_boost,
            )
            yield (
                torch.from_numpy(ex.video),
                torch.from_numpy(self.embeddings[ex.caption]),
                torch.from_numpy(ex.refs),
                torch.tensor(ex.n_refs),
            )


def to_model_space(video: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float -1..1."""
    return video.float() / 127.5 - 1.0


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    return ((x.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)


# --- The loss ----------------------------------------------------------------------------------


def foreground_mask(video: torch.Tensor) -> torch.Tensor:
    """(B, T, S, S) float: 1 where a frame differs from the empty room (the objects), grown by
    one pixel and one frame so that a near miss of the object's position is weighted too."""
    room = torch.from_numpy(data.background(video.shape[-2]))
    away = (video.float() - room).abs().amax(-1) > data.FOREGROUND_THRESHOLD
    grown = torch.nn.functional.max_pool3d(away.float()[:, None], kernel_size=3, stride=1, padding=1)
    return grown[:, 0]


def flow_loss(
    model: STDiT,
    video: torch.Tensor,
    text: torch.Tensor,
    refs: torch.Tensor,
    n_refs: torch.Tensor,
    generator: torch.Generator,
    *,
    p_drop_text: float = 0.1,
    p_prefix: float = 0.2,
    loss: str = "velocity",
    t_shift: float = 1.0,
    fg_weight: float = 0.0,
) -> torch.Tensor:
    """Rectified flow: x_t = (1 - t) x0 + t eps; the loss is on v = eps - x0, which the network
    gives through its x0 prediction (see `STDiT.velocity`), or with ``loss="x0"`` on the x0
    prediction itself (the same error without the 1/t^2 weight)."""
    if loss not in ("velocity", "x0"):
        raise ValueError(f"unknown loss {loss!r}")
    cfg = model.config
    x0 = to_model_space(video)
    b = x0.shape[0]
    noise = torch.randn(x0.shape, generator=generator)
    # Logit-normal t puts more training on the middle of the path, where it matters most.
    t = torch.sigmoid(torch.randn(b, generator=generator))
    t = t_shift * t / (1 + (t_shift - 1) * t)
    xt = (1 - t)[:, None, None, None, None] * x0 + t[:, None, None, None, None] * noise
    drop = torch.rand(b, generator=generator) < p_drop_text
    text = torch.where(drop[:, None], model.null_text.expand_as(text), text)

    # Some examples get their first one or two temporal slices clean: that is extension.
    slices = cfg.frames // cfg.patch_t
    with_prefix = torch.rand(b, generator=generator) < p_prefix
    prefix_len = torch.randint(1, 3, (b,), generator=generator)
    clean = with_prefix[:, None] & (torch.arange(slices)[None, :] < prefix_len[:, None])
    frame_clean = clean.repeat_interleave(cfg.patch_t, dim=1)[:, :, None, None, None]
    xt = torch.where(frame_clean, x0, xt)

    if loss == "x0":
        per_pixel = (model(xt, t, text, to_model_space(refs), n_refs, clean) - x0) ** 2
    else:
        v = model.velocity(xt, t, text, to_model_space(refs), n_refs, clean)
        per_pixel = (v - (noise - x0)) ** 2
    weight = (~frame_clean).float().expand_as(per_pixel)
    if fg_weight:
        weight = weight * (1.0 + fg_weight * foreground_mask(video))[..., None]
    return (per_pixel * weight).sum() / weight.sum().clamp_min(1.0)


# --- Checkpoints -------------------------------------------------------------------------------


def save_checkpoint(
    path: Path,
    *,
    model: STDiT,
    ema: STDiT,
    optimiser: torch.optim.Optimizer,
    step: int,
    train: TrainConfig,
    step_offset: int = 0,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "ema": ema.state_dict(),
            "optimiser": optimiser.state_dict(),
            "step": step,
            "step_offset": step_offset,
            "config": model.config.as_dict(),
            "train": train.__dict__,
            "torch_rng": torch.get_rng_state(),
        },
        tmp,
    )
    os.replace(tmp, path)  # never leave a half-written checkpoint behind


def export_weights(ema: STDiT, path: Path, *, step: int, extra: dict | None = None) -> Path:
    """The shipped file: EMA weights in fp16 plus the config (small enough to commit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in ema.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    blob = {"config": ema.config.as_dict(), "state": state, "step": step, "name": MODEL_NAME, **(extra or {})}
    torch.save(blob, tmp)
    os.replace(tmp, path)
    return path


def load_weights(path: Path | str | None = None, device: str = "cpu") -> STDiT:
    """The model from a shipped weights file (or a training checkpoint's EMA)."""
    path = Path(path or SHIPPED_WEIGHTS)
    blob = torch.load(path, map_location="cpu", weights_only=False)
    config = ModelConfig(**blob["config"])
    model = STDiT(config)
    state = blob["state"] if "state" in blob else blob["ema"]
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.to(device).eval()


@torch.no_grad()
def _ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p, 1.0 - decay)


def _lr(step: int, train: TrainConfig) -> float:
    if step < train.warmup:
        return train.lr * (step + 1) / train.warmup
    progress = (step - train.warmup) / max(1, train.steps - train.warmup)
    return train.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


# --- The loop ----------------------------------------------------------------------------------


def train(
    train_config: TrainConfig,
    *,
    workdir: Path,
    model_config: ModelConfig | None = None,
    resume: bool = False,
    init_from: Path | None = None,
    export_to: Path | None = None,
    workers: int = 0,
    say: Callable[[str], None] = print,
    show_progress: bool = True,
) -> dict:
    """Train (or continue training) and return a summary with the loss curve."""
    torch.set_num_threads(train_config.threads)
    torch.manual_seed(train_config.seed)
    workdir.mkdir(parents=True, exist_ok=True)
    checkpoint = workdir / "checkpoint.pt"

    model_config = model_config or ModelConfig()
    model = STDiT(model_config)
    ema = copy.deepcopy(model).requires_grad_(False)
    optimiser = torch.optim.AdamW(model.parameters(), lr=train_config.lr, weight_decay=train_config.weight_decay)
    step = 0
    # Steps the starting weights had already been trained for (``init_from``): exported weights
    # report the total, so a fine-tuned checkpoint still says how much training it holds.
    step_offset = 0
    if init_from is not None and not (resume and checkpoint.exists()):
        # A new run (fresh optimiser and schedule) that starts from trained weights.
        blob = torch.load(init_from, map_location="cpu", weights_only=False)
        model_config = ModelConfig(**blob["config"])
        model = load_weights(init_from).train().requires_grad_(True)
        ema = copy.deepcopy(model).requires_grad_(False)
        optimiser = torch.optim.AdamW(model.parameters(), lr=train_config.lr, weight_decay=train_config.weight_decay)
        step_offset = int(blob.get("step", 0))
        say(f"starting from {init_from} (trained {step_offset} steps)")
    if resume and checkpoint.exists():
        blob = torch.load(checkpoint, map_location="cpu", weights_only=False)
        model_config = ModelConfig(**blob["config"])
        model = STDiT(model_config)
        model.load_state_dict(blob["model"])
        ema = copy.deepcopy(model).requires_grad_(False)
        ema.load_state_dict(blob["ema"])
        optimiser = torch.optim.AdamW(model.parameters(), lr=train_config.lr, weight_decay=train_config.weight_decay)
        optimiser.load_state_dict(blob["optimiser"])
        step = int(blob["step"])
        step_offset = int(blob.get("step_offset", 0))
        torch.set_rng_state(blob["torch_rng"])
        say(f"resumed from {checkpoint} at step {step}")
    say(f"model: {count_parameters(model) / 1e6:.2f}M parameters, {model_config.tokens} video tokens per clip")

    table = caption_table()
    embeddings = embed_captions([c for caps in table.values() for c in caps], workdir.parent, progress=say)
    if step == 0 and step_offset == 0:
        set_text_statistics(model, embeddings)
        ema.load_state_dict(model.state_dict())
    # A resumed run draws new clips (seeded by the step) rather than replaying the old ones.
    stream = ClipStream(
        model_config,
        table,
        embeddings,
        seed=train_config.seed + step,
        p_cameo=train_config.p_cameo,
        motion_boost=train_config.motion_boost,
    )
    loader = torch.utils.data.DataLoader(
        stream,
        batch_size=train_config.batch,
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
    )
    batches = iter(loader)
    generator = torch.Generator().manual_seed(train_config.seed * 7919 + step)

    losses: list[tuple[int, float]] = []
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=train_config.steps, initial=step, unit="step", dynamic_ncols=True, mininterval=5.0)
    started = time.monotonic()
    running = None
    model.train()
    while step < train_config.steps:
        video, text, refs, n_refs = next(batches)
        for group in optimiser.param_groups:
            group["lr"] = _lr(step, train_config)
        loss = flow_loss(
            model,
            video,
            text,
            refs,
            n_refs,
            generator,
            p_drop_text=train_config.p_drop_text,
            p_prefix=train_config.p_prefix,
            loss=train_config.loss,
            t_shift=train_config.t_shift,
            fg_weight=train_config.fg_weight,
        )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        # Early on the EMA follows closely; later it averages over ~1/(1-decay) steps.
        _ema_update(ema, model, min(train_config.ema, (1 + step) / (10 + step)))
        step += 1
        value = loss.item()
        running = value if running is None else 0.95 * running + 0.05 * value
        if step % train_config.log_every == 0 or step == train_config.steps:
            losses.append((step, running))
            if bar is None:
                say(f"step {step} loss {running:.4f} ({time.monotonic() - started:.0f}s)")
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{running:.4f}", lr=f"{optimiser.param_groups[0]['lr']:.1e}", refresh=False)
        if step % train_config.checkpoint_every == 0 or step == train_config.steps:
            save_checkpoint(
                checkpoint,
                model=model,
                ema=ema,
                optimiser=optimiser,
                step=step,
                train=train_config,
                step_offset=step_offset,
            )
            if export_to is not None:
                export_weights(ema, export_to, step=step_offset + step)
    if bar is not None:
        bar.close()
    return {
        "steps": step,
        "seconds": time.monotonic() - started,
        "losses": losses,
        "final_loss": running,
        "checkpoint": str(checkpoint),
        "exported": str(export_to) if export_to else None,
    }


def parse_motion_boost(text: str) -> dict[str, float]:
    """``"drop=1.5,throw=1.2"`` -> ``{"drop": 1.5, "throw": 1.2}`` (motions from data.MOTIONS)."""
    boost: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name not in data.MOTIONS:
            raise argparse.ArgumentTypeError(f"unknown motion {name!r} (one of {', '.join(data.MOTIONS)})")
        try:
            factor = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: the factor must be a number") from None
        if not 0 <= factor <= 20:
            raise argparse.ArgumentTypeError(f"{part!r}: the factor must be between 0 and 20")
        boost[name] = factor
    return boost


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command-line options (shared by this module and `manage.py train_video_model`)."""
    parser = parser or argparse.ArgumentParser(description="Train the embedded video model on procedural clips.")
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--batch", type=int, default=TrainConfig.batch)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument("--workers", type=int, default=0, help="data-generation processes")
    parser.add_argument("--dim", type=int, default=ModelConfig.dim)
    parser.add_argument("--depth", type=int, default=ModelConfig.depth)
    parser.add_argument("--heads", type=int, default=ModelConfig.heads)
    parser.add_argument("--attention", choices=["full", "factorized"], default=ModelConfig.attention)
    parser.add_argument("--workdir", type=Path, default=Path("var/video_model/run"))
    parser.add_argument("--export", type=Path, default=None, help="also write the shipped fp16 weights here")
    parser.add_argument("--checkpoint-every", type=int, default=TrainConfig.checkpoint_every)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start a new run from these weights (e.g. the shipped checkpoint) instead of from scratch",
    )
    parser.add_argument(
        "--loss", choices=["velocity", "x0"], default=TrainConfig.loss, help="what the squared error is taken on"
    )
    parser.add_argument("--t-shift", type=float, default=TrainConfig.t_shift, help="> 1 trains more at the noisy end")
    parser.add_argument(
        "--motion-boost",
        type=parse_motion_boost,
        default={},
        help="multiply the odds of some motions, e.g. drop=1.5,throw=1.2 (a focused run)",
    )
    parser.add_argument(
        "--fg-weight",
        type=float,
        default=TrainConfig.fg_weight,
        help="extra loss weight on the objects' pixels (1 + w there; 0 = plain mean)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    return parser


def run_from_args(args: argparse.Namespace, say: Callable[[str], None] = print) -> dict:
    config = TrainConfig(
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        threads=args.threads,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        loss=args.loss,
        t_shift=args.t_shift,
        motion_boost=dict(getattr(args, "motion_boost", None) or {}),
        fg_weight=getattr(args, "fg_weight", 0.0),
    )
    model_config = ModelConfig(dim=args.dim, depth=args.depth, heads=args.heads, attention=args.attention)
    summary = train(
        config,
        workdir=args.workdir,
        model_config=model_config,
        resume=args.resume,
        init_from=args.init_from,
        export_to=args.export,
        workers=args.workers,
        say=say,
        show_progress=not args.no_progress,
    )
    say(f"trained to step {summary['steps']} in {summary['seconds']:.0f}s; final loss {summary['final_loss']:.4f}")
    return summary


def main(argv: list[str] | None = None) -> None:
    run_from_args(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
