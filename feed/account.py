"""What feed (and its ranking) exports and erases when a user leaves (registered on
users.ports in FeedConfig).

Erasing runs after cameos (whose take-downs already removed every post showing the person's
likeness) and before generation (posts go before the videos they show): the user's posts are
deleted by their author (a remix chain keeps a placeholder, as for any deleted post) and lose
their captions; comments are deleted and lose their text; likes, shares and hides go, with
the counters they fed; the engagement log goes. (Ranking's own rows, steering and feed
preferences, are erased by feed/ranking/account.py.)
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, F

from feed import services
from feed.models import Comment, EngagementEvent, EventType, Hide, Like, Post, Share
from sora_social.users.models import User
from sora_social.users.ports import ExportSection

ERASE_REASON = "The author deleted their account."


@transaction.atomic
def feed_erase_for_account(*, user: User) -> dict[str, int]:
    posts = 0
    for post in Post.objects.filter(author=user, deleted_at__isnull=True).order_by("pk"):
        services.post_delete(post=post, by=user, reason=ERASE_REASON)
        posts += 1
    Post.objects.filter(author=user).update(caption="")

    comments = 0
    for comment in Comment.objects.filter(author=user, deleted_at__isnull=True).order_by("pk"):
        services.comment_delete(comment=comment, by=user)
        comments += 1
    Comment.objects.filter(author=user).update(body="")

    # One like per person and post: each liked post loses exactly one.
    liked = list(Like.objects.filter(user=user).values_list("post_id", flat=True))
    Like.objects.filter(user=user).delete()
    Post.objects.filter(pk__in=liked).update(like_count=F("like_count") - 1)
    shares = 0
    for row in Share.objects.filter(user=user).values("post_id").annotate(n=Count("id")):
        Post.objects.filter(pk=row["post_id"]).update(share_count=F("share_count") - row["n"])
        shares += row["n"]
    Share.objects.filter(user=user).delete()
    Hide.objects.filter(user=user).delete()

    events, _ = EngagementEvent.objects.filter(user=user).delete()
    return {
        "feed.posts_deleted": posts,
        "feed.comments_deleted": comments,
        "feed.likes_deleted": len(liked),
        "feed.shares_deleted": shares,
        "feed.events_deleted": events,
    }


def feed_export_for_account(*, user: User) -> Iterable[ExportSection]:
    posts = [
        {
            "id": p.pk,
            "video_id": p.video_id,
            "caption": p.caption,
            "visibility": p.visibility,
            "remix_permission": p.remix_permission,
            "remix_of": p.remix_of_id,
            "cameos": sorted(pc.cameo_id for pc in p.post_cameos.all()),
            "like_count": p.like_count,
            "comment_count": p.comment_count,
            "remix_count": p.remix_count,
            "created_at": p.created_at,
            "deleted_at": p.deleted_at,
            "delete_kind": p.delete_kind,
            "delete_reason": p.delete_reason,
        }
        for p in Post.objects.filter(author=user).prefetch_related("post_cameos").order_by("pk")
    ]
    comments = [
        {
            "id": c.pk,
            "post_id": c.post_id,
            "in_reply_to_thread": c.parent_id,
            "body": c.body,
            "created_at": c.created_at,
            "deleted_at": c.deleted_at,
        }
        for c in Comment.objects.filter(author=user).order_by("pk")
    ]
    events = [
        {
            "post_id": e["post_id"],
            "type": EventType(e["type"]).label,
            "occurred_at": e["occurred_at"],
            "watch_ms": e["watch_ms"],
            "completion": e["completion"],
        }
        for e in EngagementEvent.objects.filter(user=user)
        .order_by("received_at")
        .values("post_id", "type", "occurred_at", "watch_ms", "completion")
        .iterator(chunk_size=5000)
    ]
    data = {
        "posts": posts,
        "comments": comments,
        "likes": [
            {"post_id": post_id, "at": at}
            for post_id, at in Like.objects.filter(user=user).order_by("pk").values_list("post_id", "created_at")
        ],
        "shares": [
            {"post_id": post_id, "channel": channel, "at": at}
            for post_id, channel, at in Share.objects.filter(user=user)
            .order_by("pk")
            .values_list("post_id", "channel", "created_at")
        ],
        "hidden_posts": list(Hide.objects.filter(user=user).order_by("pk").values_list("post_id", flat=True)),
        "engagement_events": events,
    }
    return [ExportSection(name="posts", data=data)]
