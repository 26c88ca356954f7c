"""Comments and likes on a post the viewer can see, without people hidden by a block."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from feed.models import Comment, Like, Post
from feed.selectors.posts import post_is_visible
from sora_social.common.errors import NotFound
from sora_social.users.models import Block, User
from sora_social.users.selectors import blocked_user_ids


def _comments_visible_to(viewer: User) -> QuerySet[Comment]:
    blocked = Exists(
        Block.objects.filter(
            Q(blocker_id=viewer.pk, blocked_id=OuterRef("author_id"))
            | Q(blocker_id=OuterRef("author_id"), blocked_id=viewer.pk)
        )
    )
    return (
        Comment.objects.filter(deleted_at__isnull=True, author__is_active=True)
        .exclude(blocked)
        .select_related("author")
    )


def comments_of_post(*, viewer: User, post: Post) -> QuerySet[Comment]:
    """Top-level comments on a post the viewer can see, without people hidden by a block."""
    return _comments_visible_to(viewer).filter(post_id=post.pk, parent__isnull=True)


def comment_replies(*, viewer: User, comment: Comment) -> QuerySet[Comment]:
    return _comments_visible_to(viewer).filter(parent_id=comment.pk)


def comment_get_visible(*, viewer: User, comment_id: int) -> Comment:
    """A live comment on a post the viewer can see, by someone not blocked either way."""
    comment = _comments_visible_to(viewer).filter(pk=comment_id).select_related("post").first()
    if comment is None or not post_is_visible(viewer=viewer, post=comment.post_id):
        raise NotFound("comment_not_found", "No such comment.")
    if comment.parent_id is not None and not _comments_visible_to(viewer).filter(pk=comment.parent_id).exists():
        raise NotFound("comment_not_found", "No such comment.")
    return comment


def likes_of_post(*, viewer: User, post: Post) -> QuerySet[Like]:
    """Who liked a post the viewer can see, without people hidden from them by a block."""
    return (
        Like.objects.filter(post_id=post.pk, user__is_active=True)
        .exclude(user_id__in=blocked_user_ids(viewer))
        .select_related("user")
    )
