"""python manage.py train_prompt_classifier: fit the prompt classifiers and write their files."""

from __future__ import annotations

import functools
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from moderation.policy import classifier, multilingual
from tools.moderation import training


class Command(BaseCommand):
    help = (
        "Train the English prompt classifier on tools/moderation/data/prompts.csv (train split; thresholds on the "
        "validation split) and the multilingual layer's head (same train split; thresholds on the multilingual "
        "set's dev split), and write them to moderation/policy/models/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--which", choices=["both", "english", "multilingual"], default="both")
        parser.add_argument("--output", type=Path, default=classifier.MODEL_PATH, help="the English model's file")
        parser.add_argument("--multilingual-output", type=Path, default=multilingual.MODEL_PATH)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--embedding-head",
            choices=training.EMBEDDING_HEADS,
            default=training.SHIPPED_EMBEDDING_HEAD,
            help="the English classifier's sentence-embedding half: mlp (shipped since 2026-12-06) or logistic",
        )

    def handle(
        self, *args, which: str, output: Path, multilingual_output: Path, seed: int, embedding_head: str, **options
    ) -> None:
        started = time.monotonic()

        def progress(message: str) -> None:
            self.stdout.write(f"[{time.monotonic() - started:6.1f}s] {message}")

        jobs = []
        if which in ("both", "english"):
            english = functools.partial(training.train, embedding_head=embedding_head)
            jobs.append(("English", english, output, "validation"))
        if which in ("both", "multilingual"):
            jobs.append(("multilingual", training.train_multilingual, multilingual_output, "dev"))
        for name, train, path, split in jobs:
            bundle = train(seed=seed, progress=progress)
            size = training.save(bundle, path)
            thresholds, metrics = bundle["thresholds"], bundle["metrics"]
            self.stdout.write(
                f"{name} thresholds (chosen on {split}): "
                f"review >= {thresholds['review']:.4f}, block >= {thresholds['block']:.4f}"
            )
            for kind in ("review", "block"):
                self.stdout.write(
                    f"{split} {kind:6s}: precision {metrics[f'{split}_{kind}_precision']:.3f}  "
                    f"recall {metrics[f'{split}_{kind}_recall']:.3f}"
                )
            self.stdout.write(self.style.SUCCESS(f"wrote {path} ({size / 1024:.0f} KiB)"))
        self.stdout.write(f"done in {time.monotonic() - started:.0f}s")
