from django.apps import AppConfig


class CameosConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cameos"

    def ready(self) -> None:
        # Cameo verification (default worker) loads its face detector before the worker is ready.
        from cameos.vision import warm_face_detector
        from sora_social.common import warmup

        warmup.register("cameo_face_detector", warm_face_detector, roles=["default"])
        _register_account_handlers()


def _register_account_handlers() -> None:
    # Leaving (users.ports): cameos erases first, taking down every video with the likeness.
    from cameos.account import cameos_erase_for_account, cameos_export_for_account
    from sora_social.users import ports as user_ports

    user_ports.register_account_exporter(cameos_export_for_account)
    user_ports.register_account_eraser(cameos_erase_for_account, order=user_ports.ORDER_CAMEOS)
