"""CPU seconds to generate clips with the embedded video model (2 threads, as on a 2-core box).

    python -m benchmarks.bench_video_model_cpu [--checkpoint PATH] [--repeats 3]

Loads the shipped checkpoint, warms the text encoder (its one-off load is reported apart),
then times `VideoModelPipeline.generate` for 4-second clips (median of several seeds) and one
12-second clip (made by extension), each with the default steps and guidance, plus the
upscale to 720x1280 for the MP4. Writes benchmarks/results/video_model_cpu.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch

    from benchmarks.common import write_result
    from generation.video_model.pipeline import (
        DEFAULT_GUIDANCE,
        DEFAULT_STEPS,
        ClipRequest,
        VideoModelPipeline,
        upscale_frames,
    )

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    pipe = VideoModelPipeline.load(args.checkpoint)
    load_s = time.perf_counter() - started
    prompt = "a red ball drops and bounces twice"
    started = time.perf_counter()
    pipe.embed_prompts([prompt, "a blue square slides to the left"])
    encoder_s = time.perf_counter() - started

    def timed(request: ClipRequest) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        pipe.generate([request])
        return time.perf_counter() - wall, time.process_time() - cpu

    pipe.generate([ClipRequest(prompt=prompt, seed=0, steps=2)])  # first-call allocations
    runs = [timed(ClipRequest(prompt=prompt, seed=seed)) for seed in range(args.repeats)]
    wall_4s = statistics.median(w for w, _ in runs)
    cpu_4s = statistics.median(c for _, c in runs)
    wall_12s, _cpu_12s = timed(ClipRequest(prompt="a blue square slides to the left", seed=1, seconds=12))
    [clip] = pipe.generate([ClipRequest(prompt=prompt, seed=0, steps=1)])
    started = time.perf_counter()
    upscale_frames(clip, width=720, height=1280)
    upscale_s = time.perf_counter() - started

    metrics = {
        "cpu_seconds_per_4s_clip": round(wall_4s, 3),
        "cpu_process_seconds_per_4s_clip": round(cpu_4s, 3),
        "cpu_seconds_per_12s_clip": round(wall_12s, 3),
        "upscale_720x1280_seconds_per_4s_clip": round(upscale_s, 3),
        "checkpoint_load_seconds": round(load_s, 3),
        "text_encoder_first_load_seconds": round(encoder_s, 3),
    }
    units = {
        "cpu_seconds_per_4s_clip": "s (wall clock, median)",
        "cpu_process_seconds_per_4s_clip": "s (process CPU time summed over threads, median)",
        "cpu_seconds_per_12s_clip": "s (wall clock)",
        "upscale_720x1280_seconds_per_4s_clip": "s",
        "checkpoint_load_seconds": "s",
        "text_encoder_first_load_seconds": "s (one-off per process)",
    }
    params = {
        "model": pipe.model_name,
        "resolution": f"{pipe.width}x{pipe.height}",
        "fps": pipe.fps,
        "frames_per_4s_clip": 4 * pipe.fps,
        "steps": DEFAULT_STEPS,
        "guidance": DEFAULT_GUIDANCE,
        "threads": args.threads,
        "repeats": args.repeats,
        "parameters": sum(p.numel() for p in pipe.model.parameters()),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }
    path = write_result("video_model_cpu", params=params, metrics=metrics, units=units)
    print(f"wrote {path}: {metrics}")


if __name__ == "__main__":
    main()
