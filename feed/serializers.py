"""Input serializers, the output builders, and output serializers that describe them.

Outputs are built by plain functions (a feed page serializes dozens of posts, with signed
URLs and per-viewer flags); the Output serializers document the same shapes for the schema,
and the tests check responses against them.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from rest_framework import serializers
from rest_framework.request import Request

from feed.events import MAX_BATCH, SURFACES, TYPES
from feed.models import Comment, Post, RemixPermission, ShareChannel, Visibility
from feed.selectors import PostRef, TreeNode, viewer_may_remix
from generation.selectors import ContentUrls
from sora_social.common.serializers import InputSerializer
from sora_social.users.models import User

# --- inputs ---------------------------------------------------------------------------------


class PostCreateInputSerializer(InputSerializer):
    video_id = serializers.IntegerField(min_value=1, help_text="One of your videos (POST /videos).")
    caption = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False, default=Visibility.PUBLIC)
    remix_permission = serializers.ChoiceField(
        choices=RemixPermission.choices, required=False, default=RemixPermission.ANYONE
    )
    cameo_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=4
    )


class PostUpdateInputSerializer(InputSerializer):
    caption = serializers.CharField(max_length=500, required=False, allow_blank=True)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    remix_permission = serializers.ChoiceField(choices=RemixPermission.choices, required=False)


class PostDeleteInputSerializer(InputSerializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CommentCreateInputSerializer(InputSerializer):
    body = serializers.CharField(max_length=1000)
    reply_to = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text="Id of the comment replied to."
    )


class ShareInputSerializer(InputSerializer):
    channel = serializers.ChoiceField(choices=ShareChannel.choices, required=False, default=ShareChannel.LINK)


class EventBatchInputSerializer(InputSerializer):
    # Each event is checked by the endpoint itself (feed/events.py validate_event), and one that
    # is not valid is listed in the answer's `rejected` while the others are stored: the items
    # are any JSON value as far as the request is concerned, and the schema says so.
    events = serializers.ListField(
        child=serializers.JSONField(),
        max_length=MAX_BATCH,
        help_text=(
            "Up to 500 events, each an object: id (UUID, chosen by the client; a retried event is stored "
            f"once), type ({', '.join(TYPES)}), post_id, and optionally at (date-time), watch_ms and "
            "completion (view), surface "
            f"({', '.join(SURFACES)}), position, propensity (impression). An event that is not valid is "
            "listed in `rejected` with its index and a code; the others are stored."
        ),
    )


# --- outputs --------------------------------------------------------------------------------


class AuthorOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    handle = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.CharField(allow_null=True)


class PostVideoOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="Signed URL of the MP4, for this viewer; expires within an hour.")
    thumbnail_url = serializers.CharField(allow_null=True)
    duration_s = serializers.FloatField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class CreditOutputSerializer(serializers.Serializer):
    """Who a remix credits (its parent, its root); a placeholder when that post is gone."""

    id = serializers.IntegerField()
    available = serializers.BooleanField()
    author = AuthorOutputSerializer(allow_null=True)


class FeaturedCameoOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    display_name = serializers.CharField()
    owner_handle = serializers.CharField()


class ViewerStateOutputSerializer(serializers.Serializer):
    is_author = serializers.BooleanField()
    liked = serializers.BooleanField()
    can_remix = serializers.BooleanField()
    remix_refusal = serializers.CharField(allow_blank=True)


class PostOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = AuthorOutputSerializer()
    caption = serializers.CharField(allow_blank=True)
    visibility = serializers.ChoiceField(choices=Visibility.choices)
    remix_permission = serializers.ChoiceField(choices=RemixPermission.choices)
    created_at = serializers.DateTimeField()
    video = PostVideoOutputSerializer()
    cameos = FeaturedCameoOutputSerializer(many=True)
    remix_of = CreditOutputSerializer(allow_null=True)
    root = CreditOutputSerializer(allow_null=True)
    depth = serializers.IntegerField()
    remix_count = serializers.IntegerField(help_text="Direct remixes.")
    descendant_count = serializers.IntegerField(help_text="Remixes at any depth below this post.")
    like_count = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    share_count = serializers.IntegerField()
    viewer = ViewerStateOutputSerializer()


class ChainNodeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    available = serializers.BooleanField(help_text="False: a placeholder (deleted, or hidden from you).")
    parent_id = serializers.IntegerField(allow_null=True)
    depth = serializers.IntegerField()
    remix_count = serializers.IntegerField()
    descendant_count = serializers.IntegerField()
    post = PostOutputSerializer(allow_null=True)


class TreeNodeOutputSerializer(ChainNodeOutputSerializer):
    position = serializers.IntegerField(help_text="Pre-order position below the post (the post is 0).")
    level = serializers.IntegerField(help_text="1 for a direct remix of the post, 2 for a remix of one, …")


class CommentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    post_id = serializers.IntegerField()
    parent_id = serializers.IntegerField(allow_null=True)
    author = AuthorOutputSerializer()
    body = serializers.CharField()
    reply_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class LikeOutputSerializer(serializers.Serializer):
    user = AuthorOutputSerializer()
    liked_at = serializers.DateTimeField()


class LikeStateOutputSerializer(serializers.Serializer):
    liked = serializers.BooleanField()
    like_count = serializers.IntegerField()


class ShareOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=ShareChannel.choices)
    share_count = serializers.IntegerField()


class HideStateOutputSerializer(serializers.Serializer):
    hidden = serializers.BooleanField()


class EventRejectionOutputSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the event in the batch.")
    id = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class EventBatchOutputSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    accepted = serializers.IntegerField(help_text="Newly stored.")
    duplicate_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Already stored (a retry) or repeated in this batch: not an error."
    )
    rejected = EventRejectionOutputSerializer(many=True)


# --- builders -------------------------------------------------------------------------------


def _avatar_url(avatar: Any) -> str | None:
    if not avatar:
        return None
    # A FieldFile on a User; a bare storage name on the chain paths' stand-ins.
    return avatar.url if hasattr(avatar, "url") else default_storage.url(str(avatar))


def author_data(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "handle": user.handle,
        "display_name": user.display_name,
        "avatar_url": _avatar_url(user.avatar),
    }


def _credit(ref: PostRef | None, post_id: int | None) -> dict[str, Any] | None:
    if post_id is None:
        return None
    if ref is None or not ref.available or ref.post is None:
        return {"id": post_id, "available": False, "author": None}
    return {"id": post_id, "available": True, "author": author_data(ref.post.author)}


def post_data(
    post: Post,
    *,
    viewer_id: int | None,
    request: Request | None,
    lineage: dict[int, PostRef],
    urls: ContentUrls | None = None,
) -> dict[str, Any]:
    """A post the viewer may see. `lineage` holds refs of parents and roots (selectors.lineage_refs).

    `urls`: the response's signed-URL maker (generation.selectors.ContentUrls(request)); list
    builders make one per page rather than work out host, path and key twice per post."""
    if urls is None:
        urls = ContentUrls(request)
    video = post.video
    can_remix, refusal = viewer_may_remix(viewer_id=viewer_id, post=post)
    featured = getattr(post, "featured", None)
    if featured is None:
        featured = list(post.post_cameos.select_related("cameo__owner"))
    return {
        "id": post.pk,
        "author": author_data(post.author),
        "caption": post.caption,
        "visibility": post.visibility,
        "remix_permission": post.remix_permission,
        "created_at": post.created_at,
        "video": {
            "id": video.pk,
            "url": urls.url(video_id=video.pk, variant="video", viewer_id=viewer_id or 0),
            "thumbnail_url": urls.url(video_id=video.pk, variant="thumbnail", viewer_id=viewer_id or 0)
            if video.thumbnail
            else None,
            "duration_s": video.duration_s,
            "width": video.width,
            "height": video.height,
        },
        "cameos": [
            {
                "id": pc.cameo.pk,
                "name": pc.cameo.name,
                "display_name": pc.cameo.display_name,
                "owner_handle": pc.cameo.owner.handle,
            }
            for pc in featured
        ],
        "remix_of": _credit(lineage.get(post.remix_of_id), post.remix_of_id),
        "root": _credit(lineage.get(post.root_id), post.root_id) if post.remix_of_id else None,
        "depth": post.depth,
        "remix_count": post.remix_count,
        "descendant_count": post.descendant_count,
        "like_count": post.like_count,
        "comment_count": post.comment_count,
        "share_count": post.share_count,
        "viewer": {
            "is_author": viewer_id == post.author_id,
            "liked": bool(getattr(post, "viewer_liked", False)),
            "can_remix": can_remix,
            "remix_refusal": refusal,
        },
    }


def posts_data(
    posts: list[Post], *, viewer_id: int | None, request: Request | None, lineage: dict[int, PostRef]
) -> list[dict[str, Any]]:
    urls = ContentUrls(request)
    return [post_data(p, viewer_id=viewer_id, request=request, lineage=lineage, urls=urls) for p in posts]


def chain_node_data(
    ref: PostRef, *, viewer_id: int | None, request: Request | None, lineage: dict[int, PostRef]
) -> dict[str, Any]:
    return {
        "id": ref.id,
        "available": ref.available,
        "parent_id": ref.parent_id,
        "depth": ref.depth,
        "remix_count": ref.remix_count,
        "descendant_count": ref.descendant_count,
        "post": post_data(ref.post, viewer_id=viewer_id, request=request, lineage=lineage) if ref.post else None,
    }


def tree_node_data(
    node: TreeNode, *, viewer_id: int | None, request: Request | None, lineage: dict[int, PostRef]
) -> dict[str, Any]:
    return {
        **chain_node_data(node.ref, viewer_id=viewer_id, request=request, lineage=lineage),
        "position": node.position,
        "level": node.level,
    }


def comment_data(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "post_id": comment.post_id,
        "parent_id": comment.parent_id,
        "author": author_data(comment.author),
        "body": comment.body,
        "reply_count": comment.reply_count,
        "created_at": comment.created_at,
    }
