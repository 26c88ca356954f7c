"""Evaluation of the video model: prompt adherence, motion direction, physics, cameo fidelity.

A simple detector reads every clip: pixels far from the known empty room are foreground, the
largest connected blob per frame is the main object. From it:

* colour: the median colour of the main blob, nearest of the seven palette colours;
* shape: the blob's median fill of its bounding box (square ~1, ball ~0.8, triangle ~0.55);
* direction: the main blob's displacement along the prompt's axis (left/right/up/down);
* physics (drop prompts): a parabola fitted to the fall before the first floor contact must
  curve downward (acceleration > 0) and fit well (R^2 >= 0.95); after it, each bounce must
  reach no higher than the one before and the first lower than the drop;
* cameo fidelity: the sprite cut out of each frame against its reference image (PSNR), and
  whether the sprite is nearer its own reference than 7 other references (identification).

Each measure is taken on the model's clips, on real procedural clips of the same specs, and
on an untrained model's clips. The prompts are held out: paraphrase templates and phrasings
that the training caption table does not contain. A second, simpler detector
(`plain_detector`: no room model, no training threshold, no palette) judges colour and
direction beside the first.

Two splits of held-out prompts, drawn the same way under different seeds:
* `dev` (DEV_SEED): for choosing among runs, checkpoints, sampling settings; run it as often
  as you like; the report goes to var/ (not shipped);
* `report` (REPORT_SEED): the number the README quotes, run once per shipped weights file
  after everything is chosen. Each report run is appended to `weights/report_log.json`
  (weights hash, step, when); a second report run on weights already reported is refused
  unless asked for with `again=True` (`--again`), and the log then shows it.
The report names the weights it describes: the file's sha256 and its training step.

Plain module; no Django.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generation.video_model import data, plain_detector

# Checkpoints 16,000 to 21,500 were compared on 1234 (the old evaluation seed) and the
# guidance scale on 777: both are development seeds now. The report seed had not been used
# before the first report under it.
DEV_SEED = 1234
REPORT_SEED = 4_241_977
SPLITS = {"dev": DEV_SEED, "report": REPORT_SEED}

FOREGROUND_THRESHOLD = data.FOREGROUND_THRESHOLD
MIN_AREA = 4  # px: smaller blobs are noise
PALETTE = np.array(list(data.COLOURS.values()), np.float32)
PALETTE_NAMES = list(data.COLOURS)
DIRECTION_MIN_PX = 3.0

# Held-out prompt structures, never in the training captions.
PARAPHRASE_FRAMES = (
    "watch as {s} {m}",
    "{s} {m}, filmed from the side",
    "a short clip where {s} {m}",
    "here {s} {m}",
    "video of {s} that {m}",
    "{s} {m} in front of a plain backdrop",
    "in this scene {s} {m}",
    "we see {s} that {m}",
)


def _paraphrase_motion(motion: str, direction: str | None, count: int) -> list[str]:
    d = direction or ""
    word = data.NUMBER_WORDS.get(count, ("a few times",))[0]
    return {
        "drop": (
            ["falls and stays on the floor", "plops down onto the floor"]
            if count == 0
            else [
                f"hits the ground and bounces back up {word}",
                f"plummets and bounces {word}",
                f"falls from above and bounces {word}",
            ]
        ),
        "throw": [f"gets thrown toward the {d}", f"is launched to the {d}"],
        "slide": [f"moves to the {d} along the floor", f"slips to the {d}"],
        "roll": [f"goes rolling to the {d}", f"rolls off to the {d}"],
        "rise": ["floats upward", "ascends slowly", "lifts off and rises"],
        "jump": ["jumps repeatedly", "leaps up and down"],
        "static": ["stays where it is", "remains still on the floor"],
    }[motion]


@dataclass
class EvalCase:
    prompt: str
    spec: data.ClipSpec
    paraphrase: bool
    seed: int
    cameo: np.ndarray | None = None  # reference texture for cameo cases
    distractors: list[np.ndarray] = field(default_factory=list)

    @property
    def main(self) -> data.ObjectSpec:
        return self.spec.objects[0]


def eval_cases(
    n_prompts: int = 240, n_drop_extra: int = 40, n_cameo: int = 40, seed: int = 1234, size: int = 32
) -> list[EvalCase]:
    """Held-out prompts with the specs they describe (for real clips and for judging)."""
    rng = np.random.default_rng(seed)
    # The sampler's noise seeds come from the split's seed too, so no two splits share noise.
    noise_base = int(np.random.default_rng([seed, 1]).integers(0, 2**30))
    cases: list[EvalCase] = []
    motions = ["drop", "throw", "slide", "roll", "rise", "jump", "static"]
    weights = np.array([0.24, 0.14, 0.16, 0.12, 0.14, 0.12, 0.08])

    def single(motion: str, i: int) -> EvalCase:
        for _ in range(100):
            spec = data.sample_clip_spec(rng, size=size, motion=motion)
            key = spec.caption_key()
            count = key[2]
            paraphrase = bool(rng.random() < 0.5)
            subject = str(rng.choice(data._subject_phrases(key[4][0])))
            if paraphrase:
                frame = str(rng.choice(PARAPHRASE_FRAMES))
                pool = _paraphrase_motion(motion, spec.direction, count)
                if rng.random() < 0.4:
                    pool = data._motion_phrases(motion, spec.direction, count, spec.variant)
                prompt = frame.format(s=subject, m=str(rng.choice(pool)))
            else:
                phrase = str(rng.choice(data._motion_phrases(motion, spec.direction, count, spec.variant)))
                prompt = f"{subject} {phrase}" + str(rng.choice(data.SUFFIXES))
            if prompt not in data.captions_for_key(key, limit=data.caption_limit(key)):
                return EvalCase(prompt, spec, paraphrase, seed=noise_base + i)
        raise RuntimeError("could not find a held-out prompt")

    for i in range(n_prompts):
        cases.append(single(str(rng.choice(motions, p=weights / weights.sum())), i))
    for i in range(n_drop_extra):
        cases.append(single("drop", n_prompts + i))
    # Cameo cases: held-out handles and reference textures the model never saw.
    tex_rng = np.random.default_rng(seed + 1)
    for i in range(n_cameo):
        texture = data.random_texture(tex_rng)
        motion = str(rng.choice(["drop", "slide", "rise", "jump", "static", "throw"]))
        spec = data.sample_clip_spec(rng, size=size, motion=motion, cameo_textures=[texture])
        key = spec.caption_key()
        name = str(rng.choice(data.HELDOUT_CAMEO_NAMES))
        phrase = str(rng.choice(data._motion_phrases(motion, spec.direction, key[2], spec.variant)))
        distractors = [data.random_texture(tex_rng) for _ in range(7)]
        cases.append(EvalCase(f"{name} {phrase}", spec, False, noise_base + 100_000 + i, texture, distractors))
    return cases


# --- The detector ---------------------------------------------------------------------------


@dataclass
class Blob:
    area: int
    cx: float
    cy: float
    bbox: tuple[int, int, int, int]  # x, y, w, h
    colour: np.ndarray  # median RGB
    fill: float
    touches_border: bool


def detect(frame: np.ndarray, bg: np.ndarray) -> list[Blob]:
    """Foreground blobs of one frame, largest first."""
    import cv2

    diff = np.abs(frame.astype(np.float32) - bg).max(-1)
    mask = (diff > FOREGROUND_THRESHOLD).astype(np.uint8)
    n, labels, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    size = frame.shape[0]
    blobs = []
    for k in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[k])
        if area < MIN_AREA:
            continue
        pix = frame[labels == k].astype(np.float32)
        blobs.append(
            Blob(
                area=area,
                cx=float(cents[k][0]),
                cy=float(cents[k][1]),
                bbox=(x, y, w, h),
                colour=np.median(pix, axis=0),
                fill=area / float(w * h),
                touches_border=x == 0 or y == 0 or x + w >= size or y + h >= size,
            )
        )
    blobs.sort(key=lambda b: -b.area)
    return blobs


def main_track(clip: np.ndarray) -> list[Blob | None]:
    bg = data.background(clip.shape[1])
    out: list[Blob | None] = []
    for frame in clip:
        blobs = detect(frame, bg)
        out.append(blobs[0] if blobs else None)
    return out


def nearest_colour(rgb: np.ndarray) -> str:
    return PALETTE_NAMES[int(np.argmin(((PALETTE - rgb[None]) ** 2).sum(-1)))]


def classify_shape(fill: float) -> str:
    if fill >= 0.9:
        return "square"
    if fill >= 0.66:
        return "ball"
    return "triangle"


def judge_appearance(track: list[Blob | None]) -> tuple[str | None, str | None]:
    found = [b for b in track if b is not None]
    if len(found) < len(track) // 2:
        return None, None
    colour = nearest_colour(np.median(np.stack([b.colour for b in found]), axis=0))
    inner = [b.fill for b in found if not b.touches_border] or [b.fill for b in found]
    return colour, classify_shape(float(np.median(inner)))


def judge_direction(track: list[Blob | None], direction: str) -> bool:
    pts = np.array([(b.cx, b.cy) for b in track if b is not None])
    if len(pts) < max(4, len(track) // 2):
        return False
    delta = pts[-3:].mean(0) - pts[:3].mean(0)
    along = {"right": delta[0], "left": -delta[0], "down": delta[1], "up": -delta[1]}[direction]
    return bool(along >= DIRECTION_MIN_PX)


def judge_physics(track: list[Blob | None], fps: int, gravity: float) -> dict:
    """Fit the fall and the bounces of a dropped object's track."""
    result = {"steady_fall": False, "bounces_lose_height": False, "accel": None, "bounces": 0}
    if sum(b is not None for b in track) < len(track) * 0.75:
        return result
    # Fill short gaps by interpolation so one missed frame does not break the track.
    idx = np.array([i for i, b in enumerate(track) if b is not None])
    ys = np.array([track[i].cy for i in idx])  # type: ignore[union-attr]
    y = np.interp(np.arange(len(track)), idx, ys)
    floor = float(np.percentile(y, 90))
    on_floor = y >= floor - 0.75
    # First contact: where the fall stops (frames are too sparse to catch the floor itself).
    rising = np.flatnonzero((np.diff(y) <= 0.05) & (y[:-1] >= floor - 2.5))
    contact = int(rising[0]) if len(rising) else len(y) - 1
    if contact < 4:
        return result
    t = np.arange(contact + 1) / fps
    coef = np.polyfit(t, y[: contact + 1], 2)
    fit = np.polyval(coef, t)
    ss_res = float(((y[: contact + 1] - fit) ** 2).sum())
    ss_tot = float(((y[: contact + 1] - y[: contact + 1].mean()) ** 2).sum()) + 1e-9
    accel = 2.0 * coef[0]
    result["accel"] = float(accel)
    result["accel_rel_error"] = float(abs(accel - gravity) / gravity)
    result["steady_fall"] = bool(accel > 0 and 1 - ss_res / ss_tot >= 0.95)
    # Bounces: runs of frames off the floor after the first contact.
    heights = []
    run: list[float] = []
    for k in range(contact, len(y)):
        if not on_floor[k]:
            run.append(floor - y[k])
        elif run:
            heights.append(max(run))
            run = []
    if run:
        heights.append(max(run))
    heights = [h for h in heights if h >= 1.0]
    drop = floor - y[0]
    ok = all(b <= a + 0.5 for a, b in itertools.pairwise(heights))
    ok = ok and (not heights or heights[0] < drop - 0.5)
    result["bounces"] = len(heights)
    result["bounces_lose_height"] = bool(ok)
    return result


def judge_cameo(clip: np.ndarray, reference: np.ndarray, distractors: list[np.ndarray], side: float) -> dict:
    """Cut the sprite out of each frame and compare with its reference (and with others)."""
    import cv2

    s = round(side)
    refs = [reference, *distractors]
    small = [cv2.resize(r, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32) for r in refs]
    errors = []
    wins = 0
    frames = 0
    for frame, blob in zip(clip, main_track(clip), strict=True):
        if blob is None or blob.touches_border:
            continue
        x0, y0 = round(blob.cx - side / 2), round(blob.cy - side / 2)
        if x0 < 0 or y0 < 0 or x0 + s > frame.shape[1] or y0 + s > frame.shape[0]:
            continue
        crop = frame[y0 : y0 + s, x0 : x0 + s].astype(np.float32)
        # Compare the inner part: the sprite's edge pixels blend with the room.
        mse = [float(((crop[1:-1, 1:-1] - r[1:-1, 1:-1]) ** 2).mean()) for r in small]
        errors.append(mse[0])
        wins += int(np.argmin(mse) == 0)
        frames += 1
    if frames == 0:
        return {"psnr": 0.0, "identified": 0.0, "frames": 0}
    psnr = float(np.mean([10 * math.log10(255.0**2 / max(e, 1e-6)) for e in errors]))
    return {"psnr": psnr, "identified": wins / frames, "frames": frames}


# --- Scoring a set of clips -------------------------------------------------------------------


def score(cases: list[EvalCase], clips: list[np.ndarray], fps: int) -> dict:
    """Every measure over the clips of the given cases (same order)."""
    colour_ok, shape_ok, dir_ok = [], [], []
    by_para: dict[str, list[bool]] = {"paraphrase": [], "seen_structure": []}
    physics, accel_err, bounce_count_ok = [], [], []
    steady, losing = [], []
    cameo_psnr, cameo_id = [], []
    for case, clip in zip(cases, clips, strict=True):
        track = main_track(clip)
        if case.cameo is not None:
            res = judge_cameo(clip, case.cameo, case.distractors, 2 * case.main.radius)
            cameo_psnr.append(res["psnr"])
            cameo_id.append(res["identified"])
            continue
        colour, shape = judge_appearance(track)
        c_ok = colour == case.main.colour
        colour_ok.append(c_ok)
        shape_ok.append(shape == case.main.shape)
        by_para["paraphrase" if case.paraphrase else "seen_structure"].append(c_ok)
        if case.spec.direction:
            dir_ok.append(judge_direction(track, case.spec.direction))
        if case.spec.motion == "drop":
            res = judge_physics(track, fps, case.spec.gravity)
            steady.append(res["steady_fall"])
            losing.append(res["bounces_lose_height"])
            physics.append(res["steady_fall"] and res["bounces_lose_height"])
            if res["accel"] is not None:
                accel_err.append(res["accel_rel_error"])
            if 1 <= case.spec.n_bounces <= 3:
                bounce_count_ok.append(res["bounces"] == case.spec.n_bounces)

    def rate(xs: list[bool]) -> float | None:
        return round(float(np.mean(xs)), 4) if xs else None

    return {
        "colour_adherence": rate(colour_ok),
        "shape_adherence": rate(shape_ok),
        "colour_adherence_paraphrase": rate(by_para["paraphrase"]),
        "colour_adherence_seen_structure": rate(by_para["seen_structure"]),
        "direction_adherence": rate(dir_ok),
        "physics_pass_rate": rate(physics),
        "physics_steady_fall_rate": rate(steady),
        "physics_bounces_lose_height_rate": rate(losing),
        "physics_accel_median_rel_error": round(float(np.median(accel_err)), 4) if accel_err else None,
        "physics_accel_fitted_share": round(len(accel_err) / max(1, len(physics)), 4),
        "bounce_count_match": rate(bounce_count_ok),
        "cameo_psnr_db": round(float(np.mean(cameo_psnr)), 2) if cameo_psnr else None,
        "cameo_identification": rate(cameo_id),
        "counts": {
            "appearance_prompts": len(colour_ok),
            "direction_prompts": len(dir_ok),
            "drop_prompts": len(physics),
            "cameo_prompts": len(cameo_psnr),
        },
    }


def real_clips(cases: list[EvalCase], size: int = 32) -> list[np.ndarray]:
    return [data.render_clip(c.spec, size=size) for c in cases]


def model_clips(
    pipe: object,
    cases: list[EvalCase],
    *,
    steps: int | None = None,
    guidance: float | None = None,
    batch: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> list[np.ndarray]:
    """Draw every case with a pipeline (batched for throughput; each case has its own seed)."""
    from generation.video_model.pipeline import ClipRequest

    clips: list[np.ndarray] = []
    for start in range(0, len(cases), batch):
        chunk = cases[start : start + batch]
        reqs = [
            ClipRequest(
                prompt=c.prompt,
                seed=c.seed,
                seconds=4,
                cameo_images=[c.cameo] if c.cameo is not None else [],
                steps=steps,
                guidance=guidance,
            )
            for c in chunk
        ]
        # Cameo and plain requests differ only in their reference tokens: one pass serves both.
        clips += pipe._run_group(reqs, lambda f: None)  # type: ignore[attr-defined]
        if progress:
            progress(len(clips), len(cases))
    return clips


def weights_identity(path: str | Path | None) -> dict:
    """What a report is about: the weights file, its sha256 and the training step it holds."""
    import hashlib

    import torch

    from generation.video_model.training import SHIPPED_WEIGHTS

    file = Path(path) if path is not None else SHIPPED_WEIGHTS
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    blob = torch.load(file, map_location="cpu", weights_only=False)
    step = None
    if isinstance(blob, dict) and "step" in blob:
        # A training checkpoint counts its steps from where it was started (step_offset).
        step = int(blob["step"]) + int(blob.get("step_offset", 0) if "ema" in blob else 0)
    return {
        "file": "shipped" if path is None else str(path),
        "sha256": digest.hexdigest(),
        "step": step,
        "bytes": file.stat().st_size,
    }


def evaluate(
    checkpoint: str | None = None,
    *,
    n_prompts: int = 240,
    n_drop_extra: int = 40,
    n_cameo: int = 40,
    steps: int | None = None,
    guidance: float | None = None,
    include_untrained: bool = True,
    threads: int = 2,
    split: str = "dev",
    seed: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """The whole evaluation on one split (`dev` or `report`); returns the JSON-ready report.

    `seed` may replace the dev split's seed (another development set); the report split's
    seed is fixed.
    """
    import torch

    from generation.video_model.model import STDiT
    from generation.video_model.pipeline import DEFAULT_GUIDANCE, DEFAULT_STEPS, VideoModelPipeline

    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}")
    if split == "report" and seed not in (None, REPORT_SEED):
        raise ValueError("the report split's seed is fixed (REPORT_SEED); use the dev split for other seeds")
    seed = SPLITS[split] if seed is None else seed
    torch.set_num_threads(threads)
    pipe = VideoModelPipeline.load(checkpoint)
    cases = eval_cases(n_prompts, n_drop_extra, n_cameo, seed=seed, size=pipe.config.size)

    def stage(name: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: progress(name, done, total)) if progress else None

    report: dict = {
        "model": pipe.model_name,
        "checkpoint": str(checkpoint or "shipped"),
        "weights": weights_identity(checkpoint),
        "split": split,
        "seed": seed,
        "steps": steps or DEFAULT_STEPS,
        "guidance": DEFAULT_GUIDANCE if guidance is None else guidance,
        "prompts": {
            "appearance": n_prompts + n_drop_extra,
            "cameo": n_cameo,
            "paraphrase_share": round(float(np.mean([c.paraphrase for c in cases if c.cameo is None])), 3),
            "examples": [c.prompt for c in cases[:6]] + [c.prompt for c in cases if c.cameo is not None][:2],
        },
        "machine": platform.platform(),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    sets = {"real_clips": real_clips(cases, pipe.config.size)}
    sets["trained"] = model_clips(pipe, cases, steps=steps, guidance=guidance, progress=stage("trained"))
    if include_untrained:
        torch.manual_seed(0)
        untrained = VideoModelPipeline(STDiT(pipe.config), name="untrained")
        untrained.embed_fn = pipe.embed_fn
        untrained._embedding_cache = pipe._embedding_cache
        sets["untrained"] = model_clips(untrained, cases, steps=steps, guidance=guidance, progress=stage("untrained"))
    for name, clips in sets.items():
        report[name] = score(cases, clips, pipe.fps)
    # The second detector, on the same clips: colour and direction only (see plain_detector).
    report["second_detector"] = {name: plain_detector.score(cases, clips) for name, clips in sets.items()}
    report["detectors_agree"] = {name: _agreement(cases, clips) for name, clips in sets.items()}
    return report


def _agreement(cases: list[EvalCase], clips: list[np.ndarray]) -> dict:
    """How often the two detectors give the same verdict (right or wrong) on one clip."""
    colour, direction = [], []
    for case, clip in zip(cases, clips, strict=True):
        if case.cameo is not None:
            continue
        main_colour, _ = judge_appearance(main_track(clip))
        colour.append((main_colour == case.main.colour) == (plain_detector.judge_colour(clip) == case.main.colour))
        if case.spec.direction:
            direction.append(
                judge_direction(main_track(clip), case.spec.direction)
                == plain_detector.judge_direction(clip, case.spec.direction)
            )
    return {
        "colour": round(float(np.mean(colour)), 4) if colour else None,
        "direction": round(float(np.mean(direction)), 4) if direction else None,
    }


# --- The report log -------------------------------------------------------------------------

REPORT_LOG = Path(__file__).resolve().parent / "weights" / "report_log.json"


class ReportSeedUsed(Exception):
    """These weights were already reported on the report split."""


def report_log(path: Path = REPORT_LOG) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def check_report_allowed(sha256: str, *, again: bool, path: Path = REPORT_LOG) -> None:
    earlier = [entry for entry in report_log(path) if entry["sha256"] == sha256]
    if earlier and not again:
        raise ReportSeedUsed(
            f"these weights (sha256 {sha256[:12]}...) were reported on the report split on "
            f"{earlier[-1]['when']}; choose on the dev split, or pass --again to run the report once more "
            "(it is logged)"
        )


def log_report(report: dict, *, again: bool, path: Path = REPORT_LOG) -> dict:
    """Append this report run to the log; returns the entry (also put into the report)."""
    log = report_log(path)
    entry = {
        "sha256": report["weights"]["sha256"],
        "step": report["weights"]["step"],
        "seed": report["seed"],
        "when": report["when"],
        "again": again,
    }
    log.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(log, indent=2) + "\n")
    return {
        "runs_on_report_seed": len(log),
        "distinct_weights_reported": len({e["sha256"] for e in log}),
        "runs_for_these_weights": sum(e["sha256"] == entry["sha256"] for e in log),
    }


# --- Command line ---------------------------------------------------------------------------

DEFAULT_OUTPUT = "generation/video_model/weights/eval.json"
DEV_OUTPUT = "var/video_model/eval-dev.json"


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Options shared by `python -m generation.video_model.evaluation` and `eval_video_model`."""
    parser = parser or argparse.ArgumentParser(description="Evaluate the embedded video model.")
    parser.add_argument("--checkpoint", default=None, help="weights or checkpoint file (default: shipped)")
    parser.add_argument(
        "--split",
        choices=sorted(SPLITS),
        default="dev",
        help="dev: choose runs, checkpoints and settings here (any number of times); "
        "report: the shipped number, once per weights file (default: dev)",
    )
    parser.add_argument(
        "--output", default=None, help=f"where to write the JSON (default: {DEV_OUTPUT}; report: {DEFAULT_OUTPUT})"
    )
    parser.add_argument("--prompts", type=int, default=240, help="held-out appearance/motion prompts")
    parser.add_argument("--drop-prompts", type=int, default=40, help="extra drop prompts for physics")
    parser.add_argument("--cameo-prompts", type=int, default=40)
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: the pipeline's)")
    parser.add_argument("--guidance", type=float, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None, help=f"dev split only (default {DEV_SEED})")
    parser.add_argument("--again", action="store_true", help="report split: weights already reported (logged)")
    parser.add_argument("--skip-untrained", action="store_true", help="leave out the untrained baseline")
    return parser


def run_from_args(args: argparse.Namespace, say: Callable[[str], None] = print) -> dict:
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, unit="clip"))
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    split = getattr(args, "split", None) or "dev"
    again = bool(getattr(args, "again", False))
    if split == "report":
        if args.seed not in (None, REPORT_SEED):
            raise SystemExit("--seed is for the dev split; the report split's seed is fixed")
        # Refuse before minutes of rendering, not after.
        check_report_allowed(weights_identity(args.checkpoint)["sha256"], again=again)
    report = evaluate(
        args.checkpoint,
        n_prompts=args.prompts,
        n_drop_extra=args.drop_prompts,
        n_cameo=args.cameo_prompts,
        steps=args.steps,
        guidance=args.guidance,
        include_untrained=not args.skip_untrained,
        threads=args.threads,
        split=split,
        seed=args.seed,
        progress=progress,
    )
    if split == "report":
        report["report_seed_log"] = log_report(report, again=again)
    out = Path(args.output or (DEFAULT_OUTPUT if split == "report" else DEV_OUTPUT))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    t, second = report["trained"], report["second_detector"]["trained"]
    say(
        f"wrote {out} ({split} split, seed {report['seed']}, weights {report['weights']['sha256'][:12]} "
        f"step {report['weights']['step']}): colour {t['colour_adherence']}, shape {t['shape_adherence']}, "
        f"direction {t['direction_adherence']}, physics {t['physics_pass_rate']}, "
        f"cameo PSNR {t['cameo_psnr_db']} dB; second detector: colour {second['colour_adherence']}, "
        f"direction {second['direction_adherence']}"
    )
    return report


def main(argv: list[str] | None = None) -> None:
    run_from_args(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
