"""`python manage.py demo`: a fresh database, the real server and workers, the whole story."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from sora_social.demo.client import Demo, DemoFailure
from sora_social.demo.database import database_url_with_name, manage, migrate, recreate_database
from sora_social.demo.scenario import run_scenario
from sora_social.demo.sections.moderation import MODERATOR_PASSWORD
from sora_social.demo.stack import LiveStack


class Command(BaseCommand):
    help = "Run the end-to-end demo against a live ASGI server and Celery workers on a fresh database."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--keep-running", action="store_true", help="Leave the stack up afterwards.")

    def handle(self, *args, keep_running: bool = False, **options) -> None:
        root = Path(settings.BASE_DIR)
        db_name = settings.DATABASES["default"]["NAME"] + "_demo"
        env = {
            **os.environ,
            "DJANGO_ENV": "development",
            "DATABASE_URL": database_url_with_name(settings.DATABASE_URL, db_name),
            "REDIS_KEY_PREFIX": "sora-demo",
            "MEDIA_ROOT": str(root / "var" / "demo-media"),
            # Low enough that the demo's teen reaches her daily for-you limit and sees the stop.
            "FEED_TEEN_DAILY_LIMIT": "8",
            # No random for-you slots: the story reads the ranking as ranked (a handful of posts
            # would make the 5 % exploration a coin toss on what comes first).
            "FEED_EXPLORE_SHARE": "0",
        }
        say = self.stdout.write
        say(f"Preparing a fresh demo database ({db_name}) and migrating it ...")
        recreate_database(env["DATABASE_URL"])
        migrate(env)
        staff_password = "demo-staff-pass-2026"
        manage(
            env,
            "ensure_staff",
            "--handle",
            "staff",
            "--password",
            staff_password,
            "--display-name",
            "Sam (staff)",
            "--group",
            "moderator",
        )
        # A second moderator, so an appeal goes to someone other than the one who decided.
        manage(
            env,
            "ensure_staff",
            "--handle",
            "moira",
            "--password",
            MODERATOR_PASSWORD,
            "--display-name",
            "Moira (moderator)",
            "--group",
            "moderator",
        )
        log_dir = root / "var" / "demo-logs"
        say("Starting the ASGI server (HTTP + websockets) and the Celery workers (queues gpu and default) ...")
        stack = LiveStack(env, log_dir=log_dir, beat=True)
        stack.start()
        say(f"Server up at {stack.base_url}; logs in {log_dir}.")
        started = time.monotonic()
        demo = Demo(stack.base_url, stack.ws_url, say=say)
        try:
            demo.log_in("staff", staff_password)
            run_scenario(demo)
        except DemoFailure as failure:
            say(self.style.ERROR(f"\nThe demo stopped: {failure}"))
            stack.stop()
            raise SystemExit(1) from failure
        say("")
        say(self.style.SUCCESS(f"Demo finished: {demo.calls} API calls in {time.monotonic() - started:.1f}s."))
        if keep_running:
            say(f"The stack keeps running at {stack.base_url} (Ctrl-C to stop).")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        stack.stop()
