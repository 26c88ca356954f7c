"""Operators: make an API key for an account, with a plan or quota of its own.

    python manage.py api_key_create --handle fleet_app --name "instance A" --scopes videos --plan fleet

Prints the secret (once) on stdout. This is how one sora_social instance gets the key it uses
to reach another as its GPU fleet (GENERATION_REMOTE_ENDPOINTS / GENERATION_REMOTE_API_KEY).
"""

from django.core.management.base import BaseCommand, CommandError

from sora_social.apikeys.services import api_key_create
from sora_social.common.errors import ApplicationError
from sora_social.users.models import User


class Command(BaseCommand):
    help = "Make an API key for an account (prints the secret once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--handle", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", default="videos", help="comma-separated: videos, social, all")
        parser.add_argument("--plan", default=None)
        parser.add_argument("--daily-credits", type=int, default=None)
        parser.add_argument("--max-in-flight", type=int, default=None)
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, **options) -> None:
        user = User.objects.filter(handle__iexact=options["handle"]).first()
        if user is None:
            raise CommandError(f"No user @{options['handle']}.")
        try:
            _, secret = api_key_create(
                user=user,
                name=options["name"],
                scopes=[s.strip() for s in options["scopes"].split(",") if s.strip()],
                expires_in_days=options["expires_in_days"],
                plan=options["plan"],
                daily_credits=options["daily_credits"],
                max_in_flight=options["max_in_flight"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(secret)
