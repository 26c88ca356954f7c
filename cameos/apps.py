from django.apps import AppConfig


class CameosConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cameos"
