"""Print the notifications websocket's JSON Schema, or write it to docs/websocket.schema.json."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from sora_social.notifications.protocol import websocket_schema

DOC = Path(settings.BASE_DIR) / "docs" / "websocket.schema.json"


def rendered() -> str:
    return json.dumps(websocket_schema(), indent=2, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = "The websocket protocol as JSON Schema (--write: into docs/websocket.schema.json)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--write", action="store_true")

    def handle(self, *args, **options) -> None:
        if options["write"]:
            DOC.write_text(rendered())
            self.stdout.write(f"wrote {DOC}")
        else:
            self.stdout.write(rendered(), ending="")
