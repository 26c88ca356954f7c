from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sora_social.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        # Webhooks sit above generation and notifications: they are told of events through
        # those apps' ports (neither imports this app).
        from generation import ports as generation_ports
        from sora_social.notifications import ports as notification_ports
        from sora_social.users import ports as user_ports
        from sora_social.webhooks import account, services

        generation_ports.register_job_finished_listener(services.on_job_finished)
        notification_ports.register_notification_listener(services.on_notification)
        user_ports.register_account_eraser(account.erase, order=user_ports.ORDER_API_KEYS)
