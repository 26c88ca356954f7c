"""`python manage.py train_ranker`: train the ranker on the engagement log and write it where
the feed reads it (settings.FEED_RANKING["MODEL_PATH"], var/ranking/ranker.npz by default).

Without a trained file the feed uses the cold-start heuristic (feed/ranking/model.py); a
file trained on other features is ignored the same way. The web processes pick a new file
up on their next session build (they check its modification time).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from feed.ranking.dataset import training_set
from feed.ranking.train import train_mlp


class Command(BaseCommand):
    help = "Train the feed ranker (p(remix), p(create), p(like), p(hide), watch time) on the engagement log."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=14, help="Window of the log to learn from.")
        parser.add_argument("--user-mod", type=int, default=4, help="Sample viewers with user_id %% N == 0.")
        parser.add_argument("--max-rows", type=int, default=300_000)
        parser.add_argument("--epochs", type=int, default=8)
        parser.add_argument("--hidden", type=int, default=32)
        parser.add_argument("--output", default=None, help="Where to write (default: the configured MODEL_PATH).")

    def handle(self, *args, **opts) -> None:
        output = Path(opts["output"] or settings.FEED_RANKING["MODEL_PATH"])
        started = time.monotonic()
        say = self.stdout.write
        say(f"Reading the last {opts['days']} days of the engagement log ...")
        data = training_set(
            now=timezone.now(), days=opts["days"], user_mod=opts["user_mod"], max_rows=opts["max_rows"], say=say
        )
        try:
            model, metrics = train_mlp(
                data,
                hidden=opts["hidden"],
                epochs=opts["epochs"],
                objective=settings.FEED_RANKING.get("OBJECTIVE"),
                say=say,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        model.meta["window_days"] = opts["days"]
        model.save(output)
        say(json.dumps({**metrics, "value_weights": model.meta["value_weights"]}, indent=2))
        say(self.style.SUCCESS(f"Wrote {output} ({len(data):,} rows, {time.monotonic() - started:.0f} s)."))
