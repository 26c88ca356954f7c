from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The end-to-end demo: `python manage.py demo`. No models."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "sora_social.demo"
    label = "demo"
