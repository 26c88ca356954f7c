"""Clips per minute of one gpu worker against its batch size, end to end with media.

    python -m benchmarks.bench_batched_worker [--jobs 8] [--batches 1,2,4] [--size 720x1280]

On its own database (the development database's name + `_bench_batched_worker`, created,
migrated and dropped). For each configuration, `--jobs` 4-second clips are submitted through
`generation_job_submit` (untimed; prompts from the demo model's world), then one worker works
the queue exactly as the `gpu` task does (`generation.pipeline.run_batch` on the oldest queued
job, until none is left) and every job is followed to the end: render, media check, watermark,
H.264 encode, C2PA signature, thumbnail, spritesheet, the draft stored and the credits settled.
Timed: from the first claim to the last job settled.

Configurations:
- `sequential`: the worker before batching: one job per task, its media in the task (no overlap);
- `batch_B` for each B of `--batches`: up to B compatible jobs per model pass (the embedded model
  batched on CPU, GENERATION_EMBEDDED_CPU_BATCH), the batch's media in B threads beside the next
  batch's render (`MediaStage`).

Per configuration: clips per minute, the model's busy seconds per clip (`batch_rendered` worker
events), media seconds per clip (`media_done`), and every job succeeded. The embedded model on
CPU takes about a second a clip; the CPU stages at 720x1280 take several: on a 2-core box the
media side bounds throughput, which is what the numbers show. Writes
benchmarks/results/batched_worker.json. Progress goes to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date

from benchmarks.bench_generation import PROMPTS as GENERATION_PROMPTS

PROMPTS = [
    *GENERATION_PROMPTS,
    "a white ball jumps up and down",
    "an orange square falls and stays on the floor",
    "a blue ball rolls to the left",
]


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=8, help="clips per configuration")
    parser.add_argument("--batches", default="1,2,4", help="batch sizes (GENERATION_BATCH_MAX) to measure")
    parser.add_argument(
        "--size", default="720x1280", help="WIDTHxHEIGHT; a size the API does not offer is allowed here (a cheaper run)"
    )
    parser.add_argument("--skip-sequential", action="store_true", help="leave out the pre-batching worker")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Fresh database, measure in a child process (its own Django settings), drop the database."""
    args = _args(argv)
    if args.measure:
        _measure(args)
        return
    from benchmarks.common import measure_in_own_database

    measure_in_own_database(
        "benchmarks.bench_batched_worker",
        "_bench_batched_worker",
        argv or sys.argv[1:],
        HF_HUB_OFFLINE="1",
        GENERATION_BACKEND="embedded",
        GENERATION_DEVICE=os.environ.get("GENERATION_DEVICE", "cpu"),
        GENERATION_MAX_IN_FLIGHT="1000",
        GENERATION_DAILY_FREE_CREDITS="100000",
        GENERATION_DEMO_OUT_OF_DOMAIN="off",
        REDIS_KEY_PREFIX="sora-bench-batched",
    )


def _say(line: str) -> None:
    print(f"[batched_worker] {time.strftime('%H:%M:%S')} {line}", flush=True)


def _measure(args: argparse.Namespace) -> None:
    from benchmarks.common import django_setup, write_result

    django_setup()
    from django.conf import settings

    from generation import jobs, pipeline
    from generation.backends.base import reset_backends
    from generation.models import GenerationJob, JobStatus
    from sora_social.users.services import user_create

    if args.size not in settings.GENERATION_SIZES:
        settings.GENERATION_SIZES = (*settings.GENERATION_SIZES, args.size)
    users = [
        user_create(handle=f"bench_batch_{i}", password="a long bench password 1", date_of_birth=date(1990, 1, 1))
        for i in range(4)
    ]
    events: list[pipeline.WorkerEvent] = []
    pipeline.WORKER_EVENT_LISTENERS.append(events.append)

    def submit(count: int, tag: str) -> list[int]:
        ids = []
        for i in range(count):
            request = jobs.SubmitRequest(prompt=PROMPTS[i % len(PROMPTS)], seed=1000 + i, size=args.size)
            job, _ = jobs.generation_job_submit(user=users[i % len(users)], request=request)
            ids.append(job.pk)
        _say(f"{tag}: {count} jobs queued")
        return ids

    def work(ids: list[int], *, limit: int, overlap: bool, tag: str) -> float:
        """The worker loop: the oldest queued job's task, again and again; seconds to the last settled."""
        started = time.monotonic()
        while True:
            queued = GenerationJob.objects.filter(pk__in=ids, status=JobStatus.QUEUED).order_by("created_at", "pk")
            leader = queued.values_list("pk", flat=True).first()
            if leader is None:
                break
            outcomes = pipeline.run_batch(leader, worker=f"bench-{tag}", limit=limit, wait=not overlap)
            done = GenerationJob.objects.filter(pk__in=ids, status=JobStatus.SUCCEEDED).count()
            _say(f"{tag}: batch of {len(outcomes)} handed over; {done}/{len(ids)} settled")
        if overlap:
            pipeline.drain_media_stage(timeout=3600)
        seconds = time.monotonic() - started
        statuses = list(GenerationJob.objects.filter(pk__in=ids).values_list("status", flat=True))
        if statuses.count(JobStatus.SUCCEEDED) != len(ids):
            raise SystemExit(f"{tag}: not every job succeeded: {statuses}")
        return seconds

    # Untimed warm-up: the model, the text encoder, the media check's models, the signer.
    settings.GENERATION_EMBEDDED_CPU_BATCH = True
    reset_backends()
    _say("warming up (model, text encoder, media check, signer) ...")
    work(submit(2, "warm-up"), limit=2, overlap=False, tag="warm-up")

    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    configs: list[tuple[str, int, bool]] = [] if args.skip_sequential else [("sequential", 1, False)]
    configs += [(f"batch_{b}", b, True) for b in batches]
    metrics: dict[str, float] = {}
    units: dict[str, str] = {}
    load_start = os.getloadavg()[0]
    for name, limit, overlap in configs:
        settings.GENERATION_BATCH_MAX = limit
        settings.GENERATION_MEDIA_THREADS = limit
        pipeline._stage = None  # a media pool sized for this configuration
        ids = submit(args.jobs, name)
        del events[:]
        seconds = work(ids, limit=limit, overlap=overlap, tag=name)
        renders = [e for e in events if e.kind == "batch_rendered"]
        media = [e for e in events if e.kind == "media_done"]
        clips_per_minute = args.jobs * 60.0 / seconds
        metrics[f"{name}_clips_per_min"] = round(clips_per_minute, 2)
        metrics[f"{name}_model_s_per_clip"] = round(sum(e.seconds for e in renders) / args.jobs, 3)
        metrics[f"{name}_media_s_per_clip"] = round(sum(e.seconds for e in media) / max(1, len(media)), 3)
        metrics[f"{name}_mean_batch"] = round(sum(e.jobs for e in renders) / max(1, len(renders)), 2)
        units.update(
            {
                f"{name}_clips_per_min": "clips/min (first claim to last settled)",
                f"{name}_model_s_per_clip": "s (model pass time / clips)",
                f"{name}_media_s_per_clip": "s (CPU stages of one clip, wall clock in its thread)",
                f"{name}_mean_batch": "jobs per model pass",
            }
        )
        _say(
            f"{name}: {clips_per_minute:.2f} clips/min ({seconds:.0f} s for {args.jobs}); model "
            f"{metrics[f'{name}_model_s_per_clip']} s/clip, media {metrics[f'{name}_media_s_per_clip']} s/clip"
        )
    path = write_result(
        "batched_worker",
        params={
            "jobs_per_config": args.jobs,
            "batches": batches,
            "seconds_per_clip": 4,
            "size": args.size,
            "backend": "embedded",
            "device": settings.GENERATION_DEVICE,
            "embedded_cpu_batch": True,
            "torch_threads": _torch_threads(),
            "load_average_start": round(load_start, 2),
            "load_average_end": round(os.getloadavg()[0], 2),
        },
        metrics=metrics,
        units=units,
    )
    _say(f"wrote {path}")


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
