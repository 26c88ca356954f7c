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
        # Load the prompt layers' models (classifier, sentence embeddings, likeness lists) in the
        # web process and the media check's detector in the gpu worker before they say ready.
        from sora_social.common import warmup

        warmup.register("prompt_policy", handlers.warm_prompt_policy, roles=["web"])
        warmup.register("media_policy", handlers.warm_media_policy, roles=["gpu"])
        # Setup data, not business logic: keep the moderator group's permissions exactly as
        # roles.py says after every migrate (and after a test flush, which empties auth tables).
        post_migrate.connect(roles.on_post_migrate, sender=self, dispatch_uid="moderation.moderator_group")
