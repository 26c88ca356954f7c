"""How the classifier-free guidance scale moves physics, direction and colour (the sweep behind
`pipeline.DEFAULT_GUIDANCE`).

    python -m benchmarks.bench_video_model_guidance [--guidance 1,1.5,2,3] [--seed 777]

Draws validation prompts with the evaluation's generator under a seed of their own (777, not the
evaluation's 1234, so the scale is not chosen on the prompts it is then judged by): every drop
prompt for physics and the first 100 motion prompts for direction and colour, each drawn by the
shipped checkpoint at each scale (default steps), and scored by the evaluation's detector.
Writes benchmarks/results/video_model_guidance.json; one line of progress per scale.
"""

from __future__ import annotations

import argparse
import time


def parse_scales(text: str) -> list[float]:
    try:
        scales = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated numbers, e.g. 1,1.5,2,3") from None
    if not scales or any(not 0 <= s <= 20 for s in scales):
        raise argparse.ArgumentTypeError(f"{text!r}: one or more scales between 0 and 20")
    return scales


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--guidance", type=parse_scales, default=[1.0, 1.5, 2.0, 3.0])
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch

    from benchmarks.common import write_result
    from generation.video_model import evaluation
    from generation.video_model.pipeline import DEFAULT_GUIDANCE, DEFAULT_STEPS, VideoModelPipeline

    torch.set_num_threads(args.threads)
    pipe = VideoModelPipeline.load(args.checkpoint)
    cases = evaluation.eval_cases(200, 20, 20, seed=args.seed, size=pipe.config.size)
    drops = [c for c in cases if c.cameo is None and c.spec.motion == "drop"]
    moving = [c for c in cases if c.cameo is None and c.spec.direction][:100]

    metrics: dict[str, float] = {}
    units: dict[str, str] = {}
    for scale in args.guidance:
        started = time.monotonic()
        physics = evaluation.score(drops, evaluation.model_clips(pipe, drops, guidance=scale), pipe.fps)
        motion = evaluation.score(moving, evaluation.model_clips(pipe, moving, guidance=scale), pipe.fps)
        row = {
            "physics_pass_rate": physics["physics_pass_rate"],
            "physics_accel_median_rel_error": physics["physics_accel_median_rel_error"],
            "bounces_lose_height_rate": physics["physics_bounces_lose_height_rate"],
            "direction_adherence": motion["direction_adherence"],
            "colour_adherence": motion["colour_adherence"],
        }
        for name, value in row.items():
            key = f"g{scale:g}_{name}"
            metrics[key] = value if value is not None else float("nan")
            units[key] = "fraction" if "rate" in name or "adherence" in name else "relative error (median)"
        print(f"guidance {scale:g}: {row} ({time.monotonic() - started:.0f}s)", flush=True)

    params = {
        "model": pipe.model_name,
        "checkpoint": str(args.checkpoint or "shipped"),
        "steps": DEFAULT_STEPS,
        "default_guidance": DEFAULT_GUIDANCE,
        "scales": args.guidance,
        "validation_seed": args.seed,
        "drop_prompts": len(drops),
        "direction_prompts": len(moving),
        "threads": args.threads,
    }
    path = write_result("video_model_guidance", params=params, metrics=metrics, units=units)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
