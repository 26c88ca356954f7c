"""python manage.py train_prompt_classifier: fit the prompt classifier and write its file."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from moderation.policy import classifier


class Command(BaseCommand):
    help = (
        "Train the prompt classifier on moderation/policy/data/prompts.csv (train split), choose its "
        "thresholds on the validation split, and write moderation/policy/models/prompt_classifier.joblib."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=classifier.MODEL_PATH, help="where to write the model")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, output: Path, seed: int, **options) -> None:
        started = time.monotonic()

        def progress(message: str) -> None:
            self.stdout.write(f"[{time.monotonic() - started:6.1f}s] {message}")

        bundle = classifier.train(seed=seed, progress=progress)
        size = classifier.save(bundle, output)
        thresholds, metrics = bundle["thresholds"], bundle["metrics"]
        self.stdout.write(
            "thresholds (chosen on validation): "
            f"review >= {thresholds['review']:.4f}, block >= {thresholds['block']:.4f}"
        )
        for name in ("review", "block"):
            self.stdout.write(
                f"validation {name:6s}: precision {metrics[f'validation_{name}_precision']:.3f}  "
                f"recall {metrics[f'validation_{name}_recall']:.3f}"
            )
        self.stdout.write(
            self.style.SUCCESS(f"wrote {output} ({size / 1024:.0f} KiB) in {time.monotonic() - started:.0f}s")
        )
