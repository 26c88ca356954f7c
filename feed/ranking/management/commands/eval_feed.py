"""`python manage.py eval_feed`: for-you vs. reverse-chronological vs. a watch-time-only ranker
on a simulated population (see feed/ranking/simulate.py for what is simulated and what is
the production code). Writes benchmarks/results/feed_eval.json and prints the table that
docs/ranking.md quotes.
"""

from __future__ import annotations

import json
import time

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand

from feed.ranking import simulate
from feed.ranking.features import feature_matrix
from feed.ranking.selectors import ViewerProfile
from feed.ranking.services import rank_candidates
from feed.ranking.synthetic import make_population
from feed.ranking.train import train_mlp

LABELS = {
    "friends_share": ("share of friends' posts shown", "{:.1%}"),
    "friends_share_first_10": ("... in the first 10 posts", "{:.1%}"),
    "remixable_share": ("share of remixable posts shown", "{:.1%}"),
    "author_gini": ("author concentration (Gini over impressions)", "{:.3f}"),
    "top_1pct_authors_share": ("impressions going to the top 1 % of authors", "{:.1%}"),
    "first_post_feedback_share": ("new creators whose first post got feedback", "{:.1%}"),
    "expected_creations_per_session": ("predicted creations per session", "{:.3f}"),
    "expected_watch_s_per_session": ("predicted seconds watched per session", "{:.0f}"),
    "expected_hides_per_session": ("predicted hides per session", "{:.3f}"),
}


class Command(BaseCommand):
    help = "Evaluate for-you against reverse-chronological and watch-time-only ranking on a synthetic population."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", type=int, default=10_000)
        parser.add_argument("--posts", type=int, default=200_000)
        parser.add_argument("--sessions", type=int, default=4_000)
        parser.add_argument("--items", type=int, default=40, help="Posts per session (two pages).")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--no-write", action="store_true", help="Print only (tests).")

    def handle(self, *args, **o) -> None:
        from benchmarks.common import write_result

        say = self.stdout.write
        started = time.monotonic()
        say(f"Population: {o['users']:,} users, {o['posts']:,} posts ...")
        pop = make_population(o["users"], o["posts"], seed=o["seed"], days=14)
        rng = np.random.default_rng(o["seed"] + 11)
        say("Simulating a past engagement log ...")
        hist = simulate.simulate_history(pop, rng)
        say(f"  {len(hist.rows['viewer']):,} past impressions; training the ranker on them ...")
        data = simulate.training_set(pop, hist, rng)
        model, holdout = train_mlp(data, epochs=6, seed=o["seed"])
        say("  holdout AUC: " + ", ".join(f"{k[:-4]} {v:.3f}" for k, v in holdout.items() if k.endswith("_auc") and v))
        sources = simulate.Sources(pop, hist, {k: int(v) for k, v in settings.FEED_RANKING["SOURCES"].items()})

        def rank(u, ids, found, batch, hidden_days) -> list[int]:
            profile = ViewerProfile(
                user_id=u,
                is_minor=bool(pop.is_minor[u]),
                personalized=True,
                following=set(pop.graph.following(u).tolist()),
                friends=set(pop.graph.friends(u).tolist()),
            )
            return rank_candidates(profile, ids.tolist(), found, batch, hidden_days, model=model).post_ids

        def watch_rank(batch, ids) -> list[int]:
            watch = model.predict(feature_matrix(batch)).watch_s
            return ids[np.argsort(-watch, kind="stable")].tolist()

        say(f"Scrolling {o['sessions']:,} sessions of {o['items']} posts under each policy ...")
        result = simulate.evaluate(
            pop, hist, sources, rank, watch_rank, sessions=o["sessions"], items=o["items"], seed=o["seed"], say=say
        )
        population = result.pop("_population")
        say("")
        header = f"| metric | {' | '.join(result)} |"
        say(header)
        say("|" + "---|" * (len(result) + 1))
        for key, (label, fmt) in LABELS.items():
            say(f"| {label} | " + " | ".join(fmt.format(result[p][key]) for p in result) + " |")
        if o["no_write"]:
            return
        metrics = {f"{policy}_{k}": round(v, 4) for policy, values in result.items() for k, v in values.items()}
        units = {k: ("s" if "watch_s" in k else "ratio" if ("share" in k or "gini" in k) else "count") for k in metrics}
        path = write_result(
            "feed_eval",
            params={
                "users": o["users"],
                "posts": o["posts"],
                "sessions": o["sessions"],
                "items_per_session": o["items"],
                "seed": o["seed"],
                "new_creators": population["new_creators"],
                "posting_authors_7d": population["posting_authors_7d"],
                "model_holdout": {k: (round(v, 4) if v is not None else None) for k, v in holdout.items()},
                "weights": settings.FEED_RANKING["WEIGHTS"],
                "seconds": round(time.monotonic() - started, 1),
                "simulated": "population, graph, posts, past log, user behaviour (feed/ranking/synthetic.py)",
                "real": "features, trained MLP, scoring, re-rank (feed/ranking/services.rank_candidates)",
            },
            metrics=metrics,
            units=units,
        )
        say(json.dumps({"wrote": str(path)}))
