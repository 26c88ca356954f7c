"""What the ranking app loads before a process says it is ready (registered in RankingConfig.ready)."""

from __future__ import annotations


def warm_ranker() -> None:
    from django.conf import settings

    from feed.ranking.model import current_model
    from feed.ranking.topics import topic_vectors

    current_model(settings.FEED_RANKING.get("MODEL_PATH"))
    topic_vectors()


def warm_embeddings() -> None:
    from sora_social.common.embeddings import embed_texts

    embed_texts(["warm up"])
