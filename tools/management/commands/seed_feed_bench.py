"""`python manage.py seed_feed_bench`: the feed benchmark's database, seeded in minutes."""

from __future__ import annotations

import json
import os
import shutil

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sora_social.demo.database import database_url_with_name, migrate
from tools.feed.benchseed import seed


def bench_database_url(name: str | None = None) -> str:
    return database_url_with_name(settings.DATABASE_URL, name or settings.DATABASES["default"]["NAME"] + "_bench")


class Command(BaseCommand):
    help = "Drop, recreate and seed a separate benchmark database (users, graph, posts, events) with COPY."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", type=int, default=100_000)
        parser.add_argument("--posts", type=int, default=1_000_000)
        parser.add_argument("--events", type=int, default=10_000_000)
        parser.add_argument("--database", default=None, help="Name of the database (default <name>_bench).")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--clients", type=int, default=1000, help="Users given bearer tokens for the clients.")

    def handle(self, *args, **opts) -> None:
        url = bench_database_url(opts["database"])
        if url.rsplit("/", 1)[-1] == settings.DATABASES["default"]["NAME"]:
            raise CommandError("Refusing to seed the development database; pick another name.")
        free = shutil.disk_usage(settings.BASE_DIR).free
        need = int(opts["events"] * 160 + opts["posts"] * 2600)
        if free < need * 1.5:
            raise CommandError(f"Not enough disk: {free / 1e9:.1f} GB free, about {need / 1e9:.1f} GB needed.")

        def run_migrations(target: str) -> None:
            migrate({**os.environ, "DATABASE_URL": target})

        summary = seed(
            url,
            users=opts["users"],
            posts=opts["posts"],
            events=opts["events"],
            seed_value=opts["seed"],
            clients=opts["clients"],
            say=lambda m: self.stdout.write(m),
            migrate=run_migrations,
        )
        self.stdout.write(json.dumps(summary, indent=2))
