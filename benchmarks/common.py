"""Shared bits of the benchmarks: the result file shape and the machine description."""

from __future__ import annotations

import json
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def base_database_url() -> str:
    """The development database's URL; each benchmark's own database is named after it."""
    return os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sora_social")


def bench_database_env(suffix: str, **extra: str) -> dict[str, str]:
    """Environment for a benchmark's child processes: development settings on its own database
    (the development database's name + ``suffix``), its own Redis prefix and media folder."""
    from sora_social.demo.database import database_url_with_name

    base = base_database_url()
    name = base.rsplit("/", 1)[-1].split("?")[0] + suffix
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sora_social.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": database_url_with_name(base, name),
        "REDIS_KEY_PREFIX": "sora-bench",
        "MEDIA_ROOT": str(Path(__file__).resolve().parents[1] / "var" / "bench-media"),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def measure_in_own_database(module: str, suffix: str, argv: list[str], **extra_env: str) -> None:
    """Create and migrate the benchmark's own database (`bench_database_env(suffix)`), run
    `python -m <module> --measure <argv>` against it (its own Django settings), drop it."""
    import subprocess
    import sys

    from benchmarks.bench_events import _drop
    from sora_social.demo.database import migrate, recreate_database

    env = bench_database_env(suffix, **extra_env)
    print(f"[{module.rsplit('.', 1)[-1]}] preparing {env['DATABASE_URL'].rsplit('/', 1)[-1]} ...", flush=True)
    recreate_database(env["DATABASE_URL"])
    try:
        migrate(env)
        child = [sys.executable, "-m", module, "--measure", *argv]
        subprocess.run(child, cwd=Path(__file__).resolve().parents[1], env=env, check=True)
    finally:
        _drop(env["DATABASE_URL"])


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
    }


def write_result(benchmark: str, *, params: dict[str, Any], metrics: dict[str, float], units: dict[str, str]) -> Path:
    """Write benchmarks/results/<benchmark>.json in the project's one result shape."""
    missing = set(metrics) - set(units)
    if missing:
        raise ValueError(f"metrics without units: {sorted(missing)}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{benchmark}.json"
    body = {
        "benchmark": benchmark,
        "params": params,
        "metrics": metrics,
        "units": units,
        "machine": machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[max(0, min(98, round(q) - 1))]


def django_setup(settings_module: str = "sora_social.settings") -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    django.setup()
