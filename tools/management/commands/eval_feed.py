"""`python manage.py eval_feed`: every ranker under every behaviour model (tools/feed/worlds.py),
and the conclusions that hold in all of them; `--offpolicy`: the off-policy estimates of each
ranker's value from the real engagement log (tools/feed/offpolicy.py).

What is simulated and what is production code: tools/feed/simulate.py. Writes
benchmarks/results/feed_eval.json (or feed_offpolicy.json) and prints the tables
docs/ranking.md quotes.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tools.feed import evaluation
from tools.feed.synthetic import make_population
from tools.feed.worlds import WORLDS


class Command(BaseCommand):
    help = "Evaluate for-you against baselines under several behaviour models (or off-policy on the real log)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", type=int, default=3_000)
        parser.add_argument("--posts", type=int, default=40_000)
        parser.add_argument("--sessions", type=int, default=600)
        parser.add_argument("--items", type=int, default=40, help="Posts per session (two pages).")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--worlds", default=",".join(WORLDS), help=f"Comma-separated, of: {', '.join(WORLDS)}.")
        parser.add_argument("--offpolicy", action="store_true", help="Estimate from the real engagement log.")
        parser.add_argument("--days", type=int, default=14, help="--offpolicy: the window of the log.")
        parser.add_argument("--no-write", action="store_true", help="Print only (tests).")

    def handle(self, *args, **o) -> None:
        if o["offpolicy"]:
            from tools.feed.offpolicy_log import run_offpolicy

            run_offpolicy(days=o["days"], write=not o["no_write"], say=self.stdout.write)
            return
        names = [n.strip() for n in o["worlds"].split(",") if n.strip()]
        unknown = [n for n in names if n not in WORLDS]
        if unknown or not names:
            raise CommandError(f"Unknown worlds {unknown}; choose from {', '.join(WORLDS)}.")
        say = self.stdout.write
        started = time.monotonic()
        say(f"Population: {o['users']:,} users, {o['posts']:,} posts ...")
        base = make_population(o["users"], o["posts"], seed=o["seed"], days=14)
        worlds = evaluation.calibrated_worlds(base, names, o["seed"])
        results = [
            evaluation.run_world(w, base, sessions=o["sessions"], items=o["items"], seed=o["seed"], say=say)
            for w in worlds
        ]
        lines = [
            "",
            *evaluation.table(results),
            "",
            *evaluation.weights_table(results),
            "",
            *evaluation.conclusions(results),
        ]
        for line in lines:
            say(line)
        if o["no_write"]:
            return
        from benchmarks.common import write_result

        metrics = {
            f"{r.world.name}_{policy}_{k}": round(v, 4)
            for r in results
            for policy, values in r.evaluation.metrics.items()
            for k, v in values.items()
        }
        units = {k: ("s" if "watch_s" in k else "ratio" if ("share" in k or "gini" in k) else "count") for k in metrics}
        path = write_result(
            "feed_eval",
            params={
                "users": o["users"],
                "posts": o["posts"],
                "sessions": o["sessions"],
                "items_per_session": o["items"],
                "seed": o["seed"],
                "worlds": {w.name: {"summary": w.summary, "intercepts": w.intercepts} for w in worlds},
                "policies": evaluation.POLICIES,
                "objective": settings.FEED_RANKING.get("OBJECTIVE"),
                "value_weights": {r.world.name: r.value_weights for r in results},
                "holdout": {
                    r.world.name: {k: (round(v, 4) if v is not None else None) for k, v in r.holdout.items()}
                    for r in results
                },
                "paired_differences_for_you_minus": {
                    r.world.name: {
                        other: {m: [round(x, 4) for x in ci] for m, ci in d.items()} for other, d in r.diffs.items()
                    }
                    for r in results
                },
                "conclusions": evaluation.conclusions(results),
                "new_creators": {r.world.name: r.evaluation.new_creators for r in results},
                "seconds": round(time.monotonic() - started, 1),
                "simulated": "population, graph, posts, past log, behaviour (tools/feed/synthetic.py, worlds.py)",
                "real": "features, trained MLP, fitted value, scoring, re-rank (feed.ranking.services.rank_candidates)",
            },
            metrics=metrics,
            units=units,
        )
        say(json.dumps({"wrote": str(path)}))
