from django.apps import AppConfig


class ToolsConfig(AppConfig):
    """Registered only so `manage.py` finds the tooling commands; it has no models."""

    name = "tools"
    label = "tools"
    verbose_name = "Offline tooling"
