from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sora_social.idempotency"
    label = "idempotency"

    def ready(self) -> None:
        # Leaving (users.ports): stored responses go with the account.
        from sora_social.idempotency.account import idempotency_erase_for_account
        from sora_social.users import ports as user_ports

        user_ports.register_account_eraser(idempotency_erase_for_account, order=user_ports.ORDER_NOTIFICATIONS)
