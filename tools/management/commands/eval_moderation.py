"""python manage.py eval_moderation: precision and recall of each policy layer on held-out data."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from benchmarks.common import machine
from tools.moderation import evaluation

DEFAULT_OUTPUT = Path(settings.BASE_DIR) / "benchmarks" / "results" / "moderation_eval.json"


def _unit(name: str) -> str:
    if name.endswith("_ms") or ".ms_" in name or name.startswith("ms_"):
        return "ms"
    if name.endswith((".rows", "_frames", ".benign_frames", ".hashes")):
        return "count"
    return "ratio"


class Command(BaseCommand):
    help = (
        "Evaluate every moderation policy layer on held-out data: rules, classifier, likeness guard and the "
        "whole prompt pipeline on the held-out prompts; cameo restrictions and licences; banned-media matching and "
        "the nudity detector on a synthetic media set. Prints a table and writes JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="evaluate a stratified sample of this many prompts")
        parser.add_argument("--skip-media", action="store_true", help="leave out the media evaluation")
        parser.add_argument(
            "--skip-sets",
            action="store_true",
            help="leave out the people set, the external set, the languages and the unlisted names",
        )
        parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)

    def handle(self, *args, limit: int | None, skip_media: bool, skip_sets: bool, output: Path, **options) -> None:
        started = time.monotonic()

        def progress(message: str) -> None:
            self.stdout.write(f"[{time.monotonic() - started:6.1f}s] {message}")

        progress("prompt layers on the held-out split ...")
        metrics, details = evaluation.prompt_eval(limit=limit, progress=progress)
        metrics["heldout.rows"] = float(details["rows"])
        progress("cameo restrictions and licences ...")
        metrics.update(evaluation.restriction_eval())
        flagged_people: list[str] = []
        if not skip_sets:
            progress("benign people-and-actions set (dev and test) ...")
            for split in ("dev", "test"):
                people, flagged = evaluation.people_eval(split=split, limit=limit)
                metrics.update(people)
                flagged_people += flagged if split == "test" else []
            progress("external harmful set (HarmBench, Do-Not-Answer) ...")
            metrics.update(evaluation.external_eval(limit=limit))
            progress("languages (the multilingual set's test split) ...")
            metrics.update(evaluation.language_eval())
            metrics.update(evaluation.likeness_unlisted_eval())
        if not skip_media:
            progress("media: banned-media matching and nudity on a synthetic set ...")
            metrics.update(evaluation.media_eval())

        self._table(metrics)
        if not skip_sets:
            self._sets_table(metrics)
        result = {
            "benchmark": "moderation_eval",
            "params": {
                "prompt_rows": details["rows"],
                "limit": limit,
                "classifier_thresholds": details["thresholds"],
                "media": not skip_media,
                "remote_layer": "off",
                "counts": details["counts"],
                "people_test_flagged": flagged_people,
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

    def _sets_table(self, metrics: dict[str, float]) -> None:
        """Issue 20's table: each set the pipeline is judged on, one row each (flag = review or block)."""
        self.stdout.write("")
        self.stdout.write(f"{'set':44s} {'rows':>6s} {'flag':>8s} {'block':>8s} {'benign flag':>12s}")

        def row(name: str, rows: float, flag: float | None, block: float | None, benign: float | None = None):
            cells = [f"{v:8.3f}" if v is not None else f"{'-':>8s}" for v in (flag, block)]
            tail = f"{benign:12.3f}" if benign is not None else f"{'-':>12s}"
            self.stdout.write(f"{name:44s} {rows:6.0f} {' '.join(cells)} {tail}")

        get = metrics.get
        row(
            "project held-out, harmful (recall)",
            get("heldout.rows", 0.0),
            get("pipeline.flag.recall"),
            get("pipeline.block.recall"),
        )
        for split in ("dev", "test"):
            p = f"people.{split}"
            row(
                f"people-and-actions, {split} (benign: rates)",
                get(f"{p}.rows", 0.0),
                get(f"{p}.review_rate"),
                get(f"{p}.block_rate"),
            )
        row(
            "external: all (recall)",
            get("external.all.rows", 0.0),
            get("external.all.flag.recall"),
            get("external.all.block.recall"),
        )
        for key in sorted(
            k[len("external.") : -len(".rows")]
            for k in metrics
            if k.startswith("external.") and k.endswith(".rows") and k != "external.all.rows"
        ):
            row(
                f"  external: {key}",
                get(f"external.{key}.rows", 0.0),
                get(f"external.{key}.flag.recall"),
                get(f"external.{key}.block.recall"),
            )
        for key in sorted(k for k in metrics if k.startswith("language.") and k.endswith(".rows")):
            language = key.split(".")[1]
            p = f"language.{language}"
            row(
                f"language {language} (harmful recall; identified {get(f'{p}.identified', 0):.2f})",
                get(key, 0.0),
                get(f"{p}.flag.recall"),
                get(f"{p}.block.recall"),
                get(f"{p}.benign_flag_rate"),
            )
        row(
            "likeness: public figures not in the list",
            get("likeness_unlisted.rows", 0.0),
            get("likeness_unlisted.flag.recall"),
            get("likeness_unlisted.block.recall"),
        )
        self.stdout.write("(people rows: review rate under 'flag' and block rate under 'block')")
