"""What the ranking app loads before a process says it is ready (registered in RankingConfig.ready)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from feed.models import Post


def warm_ranker() -> None:
    from django.conf import settings

    from feed.ranking.model import current_model
    from feed.ranking.topics import topic_vectors

    current_model(settings.FEED_RANKING.get("MODEL_PATH"))
    topic_vectors()


def warm_embeddings() -> None:
    from sora_social.common.embeddings import embed_texts

    embed_texts(["warm up"])


def post_embedding_queue(*, post: Post) -> None:
    """A post was published (feed.ports): embed its caption for candidate retrieval, through the
    outbox, so a broker outage delays the embedding instead of losing it."""
    from sora_social.outbox.services import outbox_send_on_commit

    outbox_send_on_commit(task="ranking.post_embedding_compute", args=[post.pk])
