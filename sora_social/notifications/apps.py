from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sora_social.notifications"
    label = "notifications"

    def ready(self) -> None:
        # Leaving (users.ports): the user's stream is exported and erased; the user is told
        # when their export is ready.
        from sora_social.notifications import account, handlers, services
        from sora_social.users import ports as user_ports

        user_ports.register_account_exporter(account.notifications_export_for_account)
        user_ports.register_account_eraser(
            account.notifications_erase_for_account, order=user_ports.ORDER_NOTIFICATIONS
        )
        user_ports.register_export_ready_listener(account.notify_export_ready)
        # users' own writes: a new follower is told; revoked tokens close their websockets.
        user_ports.register_follow_listener(handlers.notify_new_follower)
        user_ports.register_tokens_revoked_listener(services.sockets_close_for_tokens)
        # Apps' API keys open websockets too (scope `social`); revoking one closes them.
        from sora_social.apikeys import ports as apikey_ports

        apikey_ports.register_keys_revoked_listener(services.sockets_close_for_api_keys)
