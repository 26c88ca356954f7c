"""`manage.py ensure_staff --handle mod --password …`: create or update a staff account.

For operators (the first moderator) and the demo. Groups are optional: `--group moderator`.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from sora_social.users.models import User


class Command(BaseCommand):
    help = "Create (or update) a staff account, optionally in some groups."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--handle", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--display-name", default="")
        parser.add_argument("--group", action="append", default=[], help="Add to this group (repeatable).")
        parser.add_argument("--superuser", action="store_true")

    @transaction.atomic
    def handle(self, *args, handle: str, password: str, display_name: str, group: list[str], superuser: bool, **kw):
        user = User.objects.filter(handle__iexact=handle).first()
        created = user is None
        if created:
            user = User(handle=handle, date_of_birth=date(1990, 1, 1))
        user.display_name = display_name or user.display_name or handle
        user.is_staff = True
        user.is_superuser = superuser or user.is_superuser
        user.is_active = True
        user.set_password(password)
        user.save()
        for name in group:
            user.groups.add(Group.objects.get_or_create(name=name)[0])
        self.stdout.write(f"{'Created' if created else 'Updated'} staff account @{user.handle}.")
