from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ModerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "moderation"

    def ready(self) -> None:
        from generation import ports as generation_ports
        from moderation import handlers, roles

        # generation sits below moderation's case layer: it hands flagged videos over this port.
        generation_ports.register_policy_review_handler(handlers.policy_review)
        # Leaving (users.ports): reports and appeals go into the user's archive (and stay).
        from moderation.account import moderation_export_for_account
        from sora_social.users import ports as user_ports

        user_ports.register_account_exporter(moderation_export_for_account)
        # Setup data, not business logic: keep the moderator group's permissions exactly as
        # roles.py says after every migrate (and after a test flush, which empties auth tables).
        post_migrate.connect(roles.on_post_migrate, sender=self, dispatch_uid="moderation.moderator_group")
