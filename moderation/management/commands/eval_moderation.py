"""python manage.py eval_moderation: precision and recall of each policy layer on held-out data."""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from moderation.policy import evaluation

DEFAULT_OUTPUT = Path(settings.BASE_DIR) / "benchmarks" / "results" / "moderation_eval.json"


def _unit(name: str) -> str:
    if name.endswith("_ms") or ".ms_" in name or name.startswith("ms_"):
        return "ms"
    if name.endswith((".rows", "_frames", ".benign_frames", ".hashes")):
        return "count"
    return "ratio"


def machine() -> dict[str, object]:
    """The same description benchmarks/common.py writes, so every result file reads alike."""
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
    }


class Command(BaseCommand):
    help = (
        "Evaluate every moderation policy layer on held-out data: rules, classifier, likeness guard and the "
        "whole prompt pipeline on the held-out prompts; cameo restrictions and licences; banned-media matching and "
        "the nudity detector on a synthetic media set. Prints a table and writes JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="evaluate a stratified sample of this many prompts")
        parser.add_argument("--skip-media", action="store_true", help="leave out the media evaluation")
        parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)

    def handle(self, *args, limit: int | None, skip_media: bool, output: Path, **options) -> None:
        started = time.monotonic()

        def progress(message: str) -> None:
            self.stdout.write(f"[{time.monotonic() - started:6.1f}s] {message}")

        progress("prompt layers on the held-out split ...")
        metrics, details = evaluation.prompt_eval(limit=limit, progress=progress)
        progress("cameo restrictions and licences ...")
        metrics.update(evaluation.restriction_eval())
        if not skip_media:
            progress("media: banned-media matching and nudity on a synthetic set ...")
            metrics.update(evaluation.media_eval())

        self._table(metrics)
        result = {
            "benchmark": "moderation_eval",
            "params": {
                "prompt_rows": details["rows"],
                "limit": limit,
                "classifier_thresholds": details["thresholds"],
                "media": not skip_media,
                "remote_layer": "off",
                "counts": details["counts"],
            },
            "metrics": metrics,
            "units": {name: _unit(name) for name in metrics},
            "machine": machine(),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"wrote {output} in {time.monotonic() - started:.0f}s"))

    def _table(self, metrics: dict[str, float]) -> None:
        self.stdout.write("")
        self.stdout.write(f"{'layer (held-out)':28s} {'flag P':>8s} {'flag R':>8s} {'block P':>8s} {'block R':>8s}")
        for layer in ("rules", "classifier", "likeness", "pipeline"):
            cells = [
                metrics.get(f"{layer}.{kind}.{measure}")
                for kind in ("flag", "block")
                for measure in ("precision", "recall")
            ]
            self.stdout.write(f"{layer:28s} " + " ".join(f"{c:8.3f}" if c is not None else f"{'-':>8s}" for c in cells))
        self.stdout.write("")
        for name, value in metrics.items():
            if name.split(".")[0] in {"rules", "classifier", "likeness"} or name.startswith(
                ("pipeline.flag.p", "pipeline.block")
            ):
                continue
            if name in {"pipeline.flag.recall"}:
                continue
            self.stdout.write(f"  {name:52s} {value:10.4f} {_unit(name)}")
