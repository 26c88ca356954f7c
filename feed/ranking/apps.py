from django.apps import AppConfig


class RankingConfig(AppConfig):
    """Feeds and ranking: candidate sources, features, models, re-rank, creation nudges."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "feed.ranking"
    label = "ranking"
