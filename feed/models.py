"""Posts, remix lineage, comments, likes, shares, hides, and the engagement log.

Invariants the database keeps: a post's lineage is consistent (a root has no parent, depth 0
and is its own root; a remix has a parent, depth > 0 and a root other than itself); one like
and one hide per person and post; event ids unique per user. Counters are denormalized and
kept in step by the services, in the same transaction as the rows they count.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Visibility(models.TextChoices):
    PUBLIC = "public", "Everyone"
    FOLLOWERS = "followers", "Followers"
    FRIENDS = "friends", "Friends (mutual follows)"
    PRIVATE = "private", "Only me"


class RemixPermission(models.TextChoices):
    ANYONE = "anyone", "Anyone who can see it"
    FRIENDS = "friends", "Friends only"
    NOBODY = "nobody", "Nobody"


class RemovalKind(models.TextChoices):
    """Why something left every read path. Empty while it is live."""

    AUTHOR = "author", "Deleted by its author"
    MODERATION = "moderation", "Removed by moderation"
    CAMEO_OWNER = "cameo_owner", "Removed by the owner of a cameo in it"
    POST_AUTHOR = "post_author", "Removed by the post's author"  # comments only


class Post(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    video = models.ForeignKey("generation.Video", on_delete=models.PROTECT, related_name="posts")
    caption = models.CharField(max_length=500, blank=True, default="")
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    remix_permission = models.CharField(max_length=16, choices=RemixPermission.choices, default=RemixPermission.ANYONE)
    cameos = models.ManyToManyField("cameos.Cameo", through="PostCameo", related_name="posts", blank=True)

    # Lineage. Posts are never hard-deleted while remixes point at them (PROTECT): a deleted
    # post stays as a placeholder so the chain keeps its shape.
    remix_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="remixes", db_index=False
    )
    root = models.ForeignKey("self", on_delete=models.PROTECT, related_name="+", db_index=False)
    depth = models.PositiveIntegerField(default=0)
    remix_count = models.PositiveIntegerField(default=0)  # direct remixes
    descendant_count = models.PositiveIntegerField(default=0)  # every remix below, at any depth

    # Moderation limited it to adults: minors and signed-out viewers do not see it.
    age_restricted = models.BooleanField(default=False)

    like_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    share_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    deleted_at = models.DateTimeField(null=True, blank=True)
    delete_kind = models.CharField(max_length=16, choices=RemovalKind.choices, blank=True, default="")
    delete_reason = models.CharField(max_length=300, blank=True, default="")
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(visibility__in=Visibility.values), name="post_visibility_valid"),
            models.CheckConstraint(
                condition=Q(remix_permission__in=RemixPermission.values), name="post_remix_permission_valid"
            ),
            models.CheckConstraint(
                condition=(Q(remix_of__isnull=True) & Q(depth=0) & Q(root=F("id")))
                | (Q(remix_of__isnull=False) & Q(depth__gt=0) & ~Q(root=F("id")) & ~Q(remix_of=F("id"))),
                name="post_lineage_consistent",
            ),
            models.CheckConstraint(
                condition=(Q(deleted_at__isnull=True) & Q(delete_kind=""))
                | (Q(deleted_at__isnull=False) & ~Q(delete_kind="")),
                name="post_deleted_has_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["author", "-created_at", "-id"], name="post_author_idx"),
            models.Index(fields=["-created_at", "-id"], name="post_latest_idx", condition=Q(deleted_at__isnull=True)),
            # The remix tree: children of a post, most-remixed branches first.
            models.Index(fields=["remix_of", "-descendant_count", "id"], name="post_children_idx"),
            models.Index(fields=["root"], name="post_root_idx"),
        ]

    def __str__(self) -> str:
        return f"post {self.pk} by {self.author_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_remix(self) -> bool:
        return self.remix_of_id is not None


class PostCameo(models.Model):
    """A cameo featured in a post (consent checked when the post was made)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="post_cameos")
    cameo = models.ForeignKey("cameos.Cameo", on_delete=models.CASCADE, related_name="post_appearances")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "cameo"], name="post_cameo_unique")]
        indexes = [models.Index(fields=["cameo", "post"], name="post_cameo_cameo_idx")]

    def __str__(self) -> str:
        return f"cameo {self.cameo_id} in post {self.post_id}"


class Comment(models.Model):
    """A comment, or a reply to one. Replies are one level deep: `parent` is always top-level."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies", db_index=False
    )
    body = models.CharField(max_length=1000)
    reply_count = models.PositiveIntegerField(default=0)  # live replies
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    delete_kind = models.CharField(max_length=16, choices=RemovalKind.choices, blank=True, default="")
    delete_reason = models.CharField(max_length=300, blank=True, default="")
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="comment_not_own_parent"),
            models.CheckConstraint(
                condition=(Q(deleted_at__isnull=True) & Q(delete_kind=""))
                | (Q(deleted_at__isnull=False) & ~Q(delete_kind="")),
                name="comment_deleted_has_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["post", "-created_at", "-id"], name="comment_top_idx", condition=Q(parent__isnull=True)
            ),
            models.Index(fields=["parent", "created_at", "id"], name="comment_replies_idx"),
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} on post {self.post_id}"


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="like_unique")]
        indexes = [models.Index(fields=["post", "-created_at", "-id"], name="like_post_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.post_id}"


class ShareChannel(models.TextChoices):
    LINK = "link", "Copied a link"
    MESSAGE = "message", "Sent in a message"
    EXTERNAL = "external", "Shared to another app"


class Share(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="shares")
    channel = models.CharField(max_length=16, choices=ShareChannel.choices, default=ShareChannel.LINK)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id} shared {self.post_id} ({self.channel})"


class Hide(models.Model):
    """A "not interested": the post leaves this person's feeds."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hidden_posts")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="hide_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} hid {self.post_id}"


# --- The engagement log ---------------------------------------------------------------------


class EventType(models.IntegerChoices):
    IMPRESSION = 1, "impression"
    VIEW = 2, "view"
    LIKE = 3, "like"
    COMMENT = 4, "comment"
    SHARE = 5, "share"
    REMIX_STARTED = 6, "remix_started"
    REMIX_POSTED = 7, "remix_posted"
    HIDE = 8, "hide"
    REPORT = 9, "report"


class Surface(models.IntegerChoices):
    """Where the client showed the post (the ranker corrects for position and surface)."""

    UNKNOWN = 0, "unknown"
    FOR_YOU = 1, "for_you"
    FOLLOWING = 2, "following"
    LATEST = 3, "latest"
    PROFILE = 4, "profile"
    CHAIN = 5, "chain"
    CAMEO = 6, "cameo"
    NOTIFICATION = 7, "notification"
    LINK = 8, "link"


class RealField(models.FloatField):
    """A 4-byte float (PostgreSQL `real`): plenty for a completion fraction, half the size."""

    def db_type(self, connection) -> str:
        return "real"


class EngagementEvent(models.Model):
    """One thing a client saw someone do with a post. Append-only; see docs/posts.md.

    Compact on purpose (tens of millions of rows): ids are bigints without foreign-key checks,
    the type and surface are small ints, completion is a 4-byte float. The
    primary key (user, client event id) is also the dedupe key. Time scans use a BRIN index on
    `received_at`, which follows insertion order. The one other b-tree, (user, received_at)
    carrying the columns the feed reads, makes a viewer's recent events an index-only scan of a
    few pages instead of one heap page per event (a user's events are scattered through the
    table in arrival order): the for-you profile and the nudge rule read it on every session.
    """

    pk = models.CompositePrimaryKey("user_id", "event_id")
    # No database foreign key: the user is always the authenticated sender, and a per-row
    # referential check cost a third of the insert. Django still cascades a user's deletion.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    post_id = models.BigIntegerField()
    occurred_at = models.DateTimeField()  # the client's clock, checked to be recent
    received_at = models.DateTimeField()  # the server's clock: what incremental readers scan by
    event_id = models.UUIDField()  # the client's id for the event, for dedupe of retries
    watch_ms = models.IntegerField(null=True, blank=True)
    completion = RealField(null=True, blank=True)
    type = models.PositiveSmallIntegerField(choices=EventType.choices)
    surface = models.PositiveSmallIntegerField(choices=Surface.choices, default=Surface.UNKNOWN)
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    # The probability that the feed showed this post in this slot (for-you items carry it; the
    # client sends it back on the impression): what off-policy evaluation weighs by.
    propensity = RealField(null=True, blank=True)

    class Meta:
        indexes = [
            BrinIndex(fields=["received_at"], name="event_received_brin", pages_per_range=32),
            models.Index(
                fields=["user", "received_at"],
                include=["type", "post_id", "occurred_at", "completion", "watch_ms"],
                name="event_user_recent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} by {self.user_id} on {self.post_id}"
