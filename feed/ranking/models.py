"""What the ranker stores: post embeddings and counters, viewers' steering and preferences.

Sessions (the frozen ranked list a for-you scroll pages through), the "seen" memory and the
teen daily counters are short-lived and live in Redis (see `store.py`); a sample of the
sessions' candidate pools is kept here (`PoolLog`) for off-policy evaluation.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from feed.models import RealField


class PostEmbedding(models.Model):
    """The prompt/caption embedding of a post (MiniLM, 384-d, stored as float16 bytes) and
    what is derived from it once: the nearest topic and the author's ordinal of the post."""

    post = models.OneToOneField("feed.Post", on_delete=models.CASCADE, primary_key=True, related_name="+")
    vector = models.BinaryField()  # 384 float16 = 768 bytes (stored inline, under the TOAST threshold)
    topic = models.SmallIntegerField()  # index into topics.LABELS
    # 1 for the author's first post, 2 for the second, ...: the creator-side boost reads it.
    author_seq = models.PositiveIntegerField(default=1)
    post_created_at = models.DateTimeField()  # copied from the post, for the topic index
    text_sha = models.CharField(max_length=16, blank=True, default="")  # recompute when the text changes
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["topic", "-post_created_at"], name="rk_emb_topic_idx"),
            # New creators' first posts, for the exploration source (a small partial index).
            models.Index(fields=["-post_created_at"], name="rk_emb_early_idx", condition=Q(author_seq__lte=3)),
        ]

    def __str__(self) -> str:
        return f"embedding of post {self.post_id} (topic {self.topic})"


class PostStats(models.Model):
    """Engagement counters of a post, folded in from the event log by `stats_refresh`.

    The log is the truth; these are its running sums (rates are derived with priors at
    ranking time, so a post with three impressions is not "100 % remixed").
    """

    post = models.OneToOneField("feed.Post", on_delete=models.CASCADE, primary_key=True, related_name="+")
    impressions = models.PositiveIntegerField(default=0)
    views = models.PositiveIntegerField(default=0)
    completion_sum = models.FloatField(default=0)
    watch_ms_sum = models.BigIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    shares = models.PositiveIntegerField(default=0)
    remix_starts = models.PositiveIntegerField(default=0)
    remixes = models.PositiveIntegerField(default=0)
    hides = models.PositiveIntegerField(default=0)
    reports = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"stats of post {self.post_id}"


class ReportedPost(models.Model):
    """A post a viewer reported, folded from the event log by `stats_refresh` (every minute),
    so every feed can leave it out with one index probe instead of scanning the viewer's
    slice of the log. (When moderation's own Report model lands, read that instead.)"""

    pk = models.CompositePrimaryKey("user_id", "post_id")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    post = models.ForeignKey("feed.Post", on_delete=models.CASCADE, related_name="+", db_index=False)
    reported_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} reported {self.post_id}"


class Watermark(models.Model):
    """How far an incremental reader of the event log has got (by `received_at`)."""

    name = models.CharField(max_length=40, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M:%S}"


class Steering(models.Model):
    """What a viewer told the feed in words ("more anime, less sports"), parsed into terms,
    each embedded once; applied as boosts on the similarity of a post to each term."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    text = models.CharField(max_length=300)
    terms = models.JSONField(default=list)  # [{"phrase": "anime", "direction": "more", "topic": "anime"}]
    vectors = models.BinaryField(null=True, blank=True)  # len(terms) x 384 float16, once embedded
    embedded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"steering of {self.user_id}: {self.text!r}"


class FeedPreference(models.Model):
    """A viewer's feed options. Without a row: personalised (adults) — see services."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    personalized = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"feed preferences of {self.user_id}"


class PoolLog(models.Model):
    """The candidate pool of a sampled for-you session, as the logging policy saw it: what
    off-policy evaluation needs beside the impressions (`tools/feed/offpolicy_log.py`).

    The impressions say what a slot showed and with what probability; without the pool they
    cannot say what else it could have shown, and an estimate over "what the session showed
    from slot k on" is biased (docs/ranking.md, "Off-policy evaluation"). A sample of sessions
    (`FEED_RANKING["POOL_LOG_SHARE"]`) keeps its pool: one row of arrays, a few kB, written once
    when the session is built and never updated. Impressions find their session by (viewer,
    post): a post is in at most one of a viewer's sessions while it is in the seen memory.
    """

    id = models.BigAutoField(primary_key=True)
    # No database foreign key (as on the event log): one insert, no referential check; Django
    # still deletes a user's rows with the user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    session = models.CharField(max_length=16)  # the Redis session id (store.session_create)
    created_at = models.DateTimeField()  # when the list was built (the features' "as of")
    model = models.CharField(max_length=64, blank=True, default="")
    explore_share = RealField()  # the share of random slots the list was built with
    # Every candidate the ranker scored and the explorer could draw from, in the logging
    # ranker's order: its list first, then the rest by score (so slot k's greedy pick is the
    # first one not placed yet).
    candidates = ArrayField(models.BigIntegerField())
    # Slot k of the list showed candidates[shown[k]], with probability propensity[k] given the
    # slots above (feed/ranking/explore.py).
    shown = ArrayField(models.SmallIntegerField())
    propensity = ArrayField(RealField())

    class Meta:
        indexes = [
            models.Index(fields=["user", "created_at"], name="rk_poollog_user_idx"),
            BrinIndex(fields=["created_at"], name="rk_poollog_created_brin"),
        ]

    def __str__(self) -> str:
        return f"pool of session {self.session} of {self.user_id} ({len(self.candidates)} candidates)"
