"""What a viewer asks of for-you: steering ("more anime, less sports") and personalisation."""

from __future__ import annotations

import numpy as np
from django.db import transaction
from django.utils import timezone

from feed.ranking import store, topics
from feed.ranking.models import FeedPreference, Steering
from sora_social.common.embeddings import embed_texts
from sora_social.common.errors import ApplicationError
from sora_social.users.models import User


@transaction.atomic
def steering_set(*, user: User, text: str) -> Steering:
    """Store what the viewer asked for, parsed; the terms are embedded by a task on commit."""
    from feed.ranking import steering as steering_math

    text = " ".join((text or "").split())
    if not text:
        # 422, like a text with no topic: the schema allows any text, and these are refused for what they say.
        raise ApplicationError(
            "steering_empty", "Say what you want more or less of.", fields={"text": ["Required."]}, status_code=422
        )
    if len(text) > steering_math.MAX_TEXT:
        raise ApplicationError(
            "steering_too_long",
            f"At most {steering_math.MAX_TEXT} characters.",
            fields={"text": [f"At most {steering_math.MAX_TEXT} characters."]},
        )
    terms = steering_math.parse(text)
    if not terms:
        raise ApplicationError(
            "steering_not_understood",
            'Name a topic, e.g. "more anime, less sports".',
            fields={"text": ["No topic found."]},
            status_code=422,
        )
    row, _ = Steering.objects.update_or_create(
        user_id=user.pk,
        defaults={
            "text": text,
            "terms": [{"phrase": t.phrase, "direction": t.direction, "topic": None} for t in terms],
            "vectors": None,
            "embedded_at": None,
            "updated_at": timezone.now(),
        },
    )
    from sora_social.outbox.services import outbox_send_on_commit

    transaction.on_commit(lambda: store.profile_forget(user.pk))
    outbox_send_on_commit(task="ranking.steering_embed", args=[user.pk])
    return row


@transaction.atomic
def steering_embed(*, user_id: int) -> Steering | None:
    """Embed the viewer's steering terms (MiniLM), blended with their nearest topics."""
    from feed.ranking import steering as steering_math

    row = Steering.objects.select_for_update().filter(user_id=user_id).first()
    if row is None or not row.terms:
        return row
    phrases = [t["phrase"] for t in row.terms]
    vectors, nearest = steering_math.term_vectors(embed_texts(phrases), topics.topic_vectors())
    row.terms = [{**t, "topic": topics.LABELS[int(k)]} for t, k in zip(row.terms, nearest, strict=True)]
    row.vectors = np.asarray(vectors, dtype=np.float16).tobytes()
    row.embedded_at = timezone.now()
    row.save(update_fields=["terms", "vectors", "embedded_at"])
    transaction.on_commit(lambda: store.profile_forget(user_id))
    return row


@transaction.atomic
def steering_clear(*, user: User) -> bool:
    deleted, _ = Steering.objects.filter(user_id=user.pk).delete()
    transaction.on_commit(lambda: store.profile_forget(user.pk))
    return bool(deleted)


@transaction.atomic
def feed_preference_set(*, user: User, personalized: bool) -> FeedPreference:
    row, _ = FeedPreference.objects.update_or_create(
        user_id=user.pk, defaults={"personalized": personalized, "updated_at": timezone.now()}
    )
    transaction.on_commit(lambda: store.profile_forget(user.pk))
    return row
