"""Post embeddings: each post's MiniLM vector, nearest topic and the author's post ordinal."""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.utils import timezone

from feed.models import Post
from feed.ranking import topics
from feed.ranking.models import PostEmbedding
from feed.ranking.selectors import pack_vector
from sora_social.common.embeddings import embed_texts


def _post_texts(post_ids: list[int]) -> dict[int, str]:
    """What a post is about: the prompt that made its video (when generated) and its caption."""
    rows = Post.objects.filter(pk__in=post_ids).values_list("id", "caption", "video__generation_job__prompt")
    return {pid: " ".join(filter(None, [prompt or "", caption])).strip() for pid, caption, prompt in rows}


def _text_sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@transaction.atomic
def post_embeddings_compute(*, post_ids: list[int]) -> int:
    """Embed posts (prompt + caption) and store vector, topic and the author's post ordinal.

    Idempotent: a post whose text has not changed since its embedding is skipped."""
    texts = _post_texts(post_ids)
    if not texts:
        return 0
    existing = dict(PostEmbedding.objects.filter(post_id__in=list(texts)).values_list("post_id", "text_sha"))
    todo = [pid for pid, text in texts.items() if existing.get(pid) != _text_sha(text)]
    if not todo:
        return 0
    vectors = embed_texts([texts[pid] or "a short video" for pid in todo])
    nearest = topics.nearest_topics(vectors)
    posts = {p["id"]: p for p in Post.objects.filter(pk__in=todo).values("id", "author_id", "created_at")}
    for i, pid in enumerate(todo):
        post = posts[pid]
        seq = Post.objects.filter(author_id=post["author_id"], created_at__lte=post["created_at"]).count()
        PostEmbedding.objects.update_or_create(
            post_id=pid,
            defaults={
                "vector": pack_vector(vectors[i]),
                "topic": int(nearest[i]),
                "author_seq": max(seq, 1),
                "post_created_at": post["created_at"],
                "text_sha": _text_sha(texts[pid]),
                "computed_at": timezone.now(),
            },
        )
    return len(todo)


def post_embedding_compute(*, post_id: int) -> int:
    """Feed calls this (through the task) after a post is created: see docs/ranking.md."""
    return post_embeddings_compute(post_ids=[post_id])


def post_embeddings_backfill(*, batch: int = 256) -> int:
    """Embed up to `batch` live posts that have no embedding yet, newest first."""
    missing = list(
        Post.objects.filter(deleted_at__isnull=True)
        .exclude(pk__in=PostEmbedding.objects.values("post_id"))
        .order_by("-created_at")
        .values_list("id", flat=True)[:batch]
    )
    return post_embeddings_compute(post_ids=missing) if missing else 0
