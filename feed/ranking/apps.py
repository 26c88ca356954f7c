from django.apps import AppConfig


class RankingConfig(AppConfig):
    """Feeds and ranking: candidate sources, features, models, re-rank, creation nudges."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "feed.ranking"
    label = "ranking"

    def ready(self) -> None:
        # The web process ranks with the model file and topic vectors; the default worker embeds
        # posts and steering text. Both load before the process says it is ready.
        from feed import ports as feed_ports
        from feed.ranking.handlers import post_embedding_queue, warm_embeddings, warm_ranker
        from sora_social.common import warmup

        feed_ports.register_post_published_listener(post_embedding_queue)

        warmup.register("ranker", warm_ranker, roles=["web"])
        warmup.register("sentence_embeddings", warm_embeddings, roles=["default"])
        _register_account_handlers()


def _register_account_handlers() -> None:
    # Leaving (users.ports): steering and feed preferences.
    from feed.ranking.account import ranking_erase_for_account, ranking_export_for_account
    from sora_social.users import ports as user_ports

    user_ports.register_account_exporter(ranking_export_for_account)
    user_ports.register_account_eraser(ranking_erase_for_account, order=user_ports.ORDER_FEED)
