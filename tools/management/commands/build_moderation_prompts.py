"""python manage.py build_moderation_prompts: rebuild the moderation prompt sets from their vocabulary."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tools.moderation import build_prompts


class Command(BaseCommand):
    help = (
        "Rebuild tools/moderation/data/prompts.csv and restrictions.csv from the vocabulary in "
        "tools/moderation/vocabulary/ (deterministic: the same files, byte for byte)."
    )

    def handle(self, *args, **options) -> None:
        for line in build_prompts.build():
            self.stdout.write(line)
