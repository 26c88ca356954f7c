from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sora_social.apikeys"
    label = "apikeys"

    def ready(self) -> None:
        # A person who leaves takes their apps' keys with them (before anything else is erased).
        from sora_social.apikeys.services import api_keys_erase_for_account
        from sora_social.users import ports as user_ports

        user_ports.register_account_eraser(api_keys_erase_for_account, order=user_ports.ORDER_API_KEYS)
