"""`manage.py make_dev_certificate`: a development C2PA signing certificate at the settings paths."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from generation.provenance import certificate_files_valid, ensure_dev_certificate_at


class Command(BaseCommand):
    help = (
        "Create a development root CA and an ES256 C2PA signing certificate at C2PA_CERT_CHAIN_PATH and "
        "C2PA_PRIVATE_KEY_PATH, unless valid files are already there. Never use it in production."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="replace existing files with a new pair")

    def handle(self, *args, force: bool = False, **options) -> None:
        chain_path = Path(settings.C2PA_CERT_CHAIN_PATH)
        key_path = Path(settings.C2PA_PRIVATE_KEY_PATH)
        if force:
            chain_path.unlink(missing_ok=True)
            key_path.unlink(missing_ok=True)
        if certificate_files_valid(chain_path, key_path):
            self.stdout.write(f"C2PA signing certificate already in place: {chain_path} (key {key_path})")
            return
        ensure_dev_certificate_at(chain_path, key_path)
        self.stdout.write(
            self.style.SUCCESS(f"Created a development C2PA certificate chain {chain_path} and key {key_path}")
        )
