"""Thin REST views for posts, remixes and chains, comments, likes, shares, hides and events."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from feed import selectors, services
from feed.models import Post
from feed.serializers import (
    ChainNodeOutputSerializer,
    CommentCreateInputSerializer,
    CommentOutputSerializer,
    EventBatchInputSerializer,
    EventBatchOutputSerializer,
    HideStateOutputSerializer,
    LikeOutputSerializer,
    LikeStateOutputSerializer,
    PostCreateInputSerializer,
    PostDeleteInputSerializer,
    PostOutputSerializer,
    PostUpdateInputSerializer,
    ShareInputSerializer,
    ShareOutputSerializer,
    TreeNodeOutputSerializer,
    author_data,
    chain_node_data,
    comment_data,
    post_data,
    posts_data,
    tree_node_data,
)
from generation.selectors import video_get_owned
from sora_social.common.errors import ApplicationError
from sora_social.common.pagination import page_payload, page_serializer, page_size_from, paginate_queryset
from sora_social.common.parsers import JSONParser
from sora_social.common.permissions import IsNotSuspended
from sora_social.common.schema import PAGE_PARAMS, error_responses
from sora_social.idempotency.apis import IDEMPOTENCY_KEY_PARAMETER, idempotent
from sora_social.users.selectors import user_get_visible

TAGS = ["posts"]


class WritesNeedGoodStanding(IsNotSuspended):
    """Suspended accounts may read; they may not post, comment, like, share or hide."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().has_permission(request, view)


class _FeedApi(APIView):
    permission_classes = [IsAuthenticated, WritesNeedGoodStanding]


def _one_post(request: Request, post: Post) -> dict[str, Any]:
    lineage = selectors.lineage_refs(viewer=request.user, posts=[post])
    return post_data(post, viewer_id=request.user.pk, request=request, lineage=lineage)


def _post_page(request: Request, queryset) -> Response:
    rows, next_cursor = paginate_queryset(queryset, request, ordering=("-created_at", "-id"))
    lineage = selectors.lineage_refs(viewer=request.user, posts=rows)
    results = posts_data(rows, viewer_id=request.user.pk, request=request, lineage=lineage)
    return Response(page_payload(request, results, next_cursor))


# --- posts ----------------------------------------------------------------------------------


class PostCreateApi(_FeedApi):
    @extend_schema(
        request=PostCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: PostOutputSerializer,
            **error_responses(e403="cameo_permission_denied, account_suspended", e404="video_not_found"),
        },
        tags=TAGS,
        summary="Post one of your videos",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = PostCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        post = services.post_create(
            author=request.user,
            video=video_get_owned(user=request.user, video_id=v["video_id"]),
            caption=v["caption"],
            visibility=v["visibility"],
            remix_permission=v["remix_permission"],
            cameos=selectors.cameos_by_ids(cameo_ids=v["cameo_ids"]),
        )
        return Response(_one_post(request, post), status=status.HTTP_201_CREATED)


class PostDetailApi(_FeedApi):
    delete_reads_body = True  # an optional reason

    @extend_schema(summary="A post", responses=PostOutputSerializer, tags=TAGS)
    def get(self, request: Request, post_id: int) -> Response:
        return Response(_one_post(request, selectors.post_get_visible(viewer=request.user, post_id=post_id)))

    @extend_schema(
        summary="Change my post's caption, visibility or remix permission",
        request=PostUpdateInputSerializer,
        responses=PostOutputSerializer,
        tags=TAGS,
    )
    def patch(self, request: Request, post_id: int) -> Response:
        post = selectors.post_get_visible(viewer=request.user, post_id=post_id)
        data = PostUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        services.post_update(
            post=post,
            by=request.user,
            caption=v.get("caption"),
            visibility=v.get("visibility"),
            remix_permission=v.get("remix_permission"),
        )
        return Response(_one_post(request, selectors.post_get_visible(viewer=request.user, post_id=post_id)))

    @extend_schema(summary="Delete my post", request=PostDeleteInputSerializer, responses={204: None}, tags=TAGS)
    def delete(self, request: Request, post_id: int) -> Response:
        post = selectors.post_get_visible(viewer=request.user, post_id=post_id)
        data = PostDeleteInputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        services.post_delete(post=post, by=request.user, reason=data.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class RemixListCreateApi(_FeedApi):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(TreeNodeOutputSerializer),
        tags=TAGS,
        summary="The remix tree below a post: pre-order, most-remixed branches first",
    )
    def get(self, request: Request, post_id: int) -> Response:
        nodes, next_cursor, lineage = selectors.remix_tree_page(
            viewer=request.user,
            post_id=post_id,
            cursor=request.query_params.get("cursor"),
            limit=page_size_from(request),
        )
        results = [tree_node_data(n, viewer_id=request.user.pk, request=request, lineage=lineage) for n in nodes]
        return Response(page_payload(request, results, next_cursor))

    @extend_schema(
        request=PostCreateInputSerializer,
        responses={
            201: PostOutputSerializer,
            403: OpenApiResponse(description="remix_not_allowed, cameo_permission_denied"),
            404: OpenApiResponse(description="post_not_found, video_not_found"),
        },
        tags=TAGS,
        summary="Post one of your videos as a remix of this post",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @idempotent
    def post(self, request: Request, post_id: int) -> Response:
        data = PostCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        post = services.remix_create(
            author=request.user,
            parent_id=post_id,
            video_id=v["video_id"],
            caption=v["caption"],
            visibility=v["visibility"],
            remix_permission=v["remix_permission"],
            cameo_ids=v["cameo_ids"],
        )
        return Response(_one_post(request, post), status=status.HTTP_201_CREATED)


class PostChainApi(_FeedApi):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(ChainNodeOutputSerializer),
        tags=TAGS,
        summary="The chain above a post: its parent first, the root last",
    )
    def get(self, request: Request, post_id: int) -> Response:
        refs, next_cursor, lineage = selectors.chain_ancestors_page(
            viewer=request.user,
            post_id=post_id,
            cursor=request.query_params.get("cursor"),
            limit=page_size_from(request),
        )
        results = [chain_node_data(r, viewer_id=request.user.pk, request=request, lineage=lineage) for r in refs]
        return Response(page_payload(request, results, next_cursor))


class UserPostsApi(_FeedApi):
    @extend_schema(
        summary="A user's posts that I may see, newest first",
        parameters=PAGE_PARAMS,
        responses=page_serializer(PostOutputSerializer),
        tags=TAGS,
    )
    def get(self, request: Request, handle: str) -> Response:
        author = user_get_visible(viewer=request.user, handle=handle)
        return _post_page(request, selectors.posts_of_author(viewer=request.user, author=author))


# --- comments -------------------------------------------------------------------------------


class CommentListCreateApi(_FeedApi):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(CommentOutputSerializer),
        tags=["comments"],
        summary="Top-level comments on a post, newest first",
    )
    def get(self, request: Request, post_id: int) -> Response:
        post = selectors.post_get_visible(viewer=request.user, post_id=post_id)
        rows, next_cursor = paginate_queryset(
            selectors.comments_of_post(viewer=request.user, post=post), request, ordering=("-created_at", "-id")
        )
        return Response(page_payload(request, [comment_data(c) for c in rows], next_cursor))

    @extend_schema(
        summary="Comment on a post (or reply to a comment)",
        request=CommentCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: CommentOutputSerializer},
        tags=["comments"],
    )
    @idempotent
    def post(self, request: Request, post_id: int) -> Response:
        data = CommentCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.comment_create(
            author=request.user,
            post_id=post_id,
            body=data.validated_data["body"],
            reply_to_id=data.validated_data["reply_to"],
        )
        return Response(comment_data(comment), status=status.HTTP_201_CREATED)


class CommentRepliesApi(_FeedApi):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(CommentOutputSerializer),
        tags=["comments"],
        summary="Replies to a comment, oldest first",
    )
    def get(self, request: Request, comment_id: int) -> Response:
        comment = selectors.comment_get_visible(viewer=request.user, comment_id=comment_id)
        if comment.parent_id is not None:
            raise ApplicationError("not_a_thread", "Replies hang off top-level comments only.")
        rows, next_cursor = paginate_queryset(
            selectors.comment_replies(viewer=request.user, comment=comment), request, ordering=("created_at", "id")
        )
        return Response(page_payload(request, [comment_data(c) for c in rows], next_cursor))


class CommentDetailApi(_FeedApi):
    @extend_schema(summary="A comment", responses=CommentOutputSerializer, tags=["comments"])
    def get(self, request: Request, comment_id: int) -> Response:
        return Response(comment_data(selectors.comment_get_visible(viewer=request.user, comment_id=comment_id)))

    @extend_schema(
        summary="Delete a comment (its author, or the post's author)", responses={204: None}, tags=["comments"]
    )
    def delete(self, request: Request, comment_id: int) -> Response:
        comment = selectors.comment_get_visible(viewer=request.user, comment_id=comment_id)
        services.comment_delete(comment=comment, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- likes, shares, hides -------------------------------------------------------------------


class LikeApi(_FeedApi):
    def _state(self, request: Request, post_id: int, liked: bool) -> Response:
        count = Post.objects.values_list("like_count", flat=True).get(pk=post_id)
        return Response({"liked": liked, "like_count": count})

    @extend_schema(request=None, responses=LikeStateOutputSerializer, tags=["likes"], summary="Like (idempotent)")
    def post(self, request: Request, post_id: int) -> Response:
        services.like_create(user=request.user, post_id=post_id)
        return self._state(request, post_id, True)

    @extend_schema(request=None, responses=LikeStateOutputSerializer, tags=["likes"], summary="Unlike (idempotent)")
    def delete(self, request: Request, post_id: int) -> Response:
        services.like_delete(user=request.user, post_id=post_id)
        return self._state(request, post_id, False)


class LikeListApi(_FeedApi):
    @extend_schema(
        summary="Who liked a post, newest first",
        parameters=PAGE_PARAMS,
        responses=page_serializer(LikeOutputSerializer),
        tags=["likes"],
    )
    def get(self, request: Request, post_id: int) -> Response:
        post = selectors.post_get_visible(viewer=request.user, post_id=post_id)
        rows, next_cursor = paginate_queryset(
            selectors.likes_of_post(viewer=request.user, post=post), request, ordering=("-created_at", "-id")
        )
        results = [{"user": author_data(like.user), "liked_at": like.created_at} for like in rows]
        return Response(page_payload(request, results, next_cursor))


class ShareApi(_FeedApi):
    @extend_schema(
        summary="Record a share of a post (where it went)",
        request=ShareInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: ShareOutputSerializer},
        tags=["posts"],
    )
    @idempotent
    def post(self, request: Request, post_id: int) -> Response:
        data = ShareInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        share = services.share_create(user=request.user, post_id=post_id, channel=data.validated_data["channel"])
        count = Post.objects.values_list("share_count", flat=True).get(pk=post_id)
        return Response({"id": share.pk, "channel": share.channel, "share_count": count}, status=201)


class HideApi(_FeedApi):
    @extend_schema(request=None, responses=HideStateOutputSerializer, tags=["posts"], summary="Not interested")
    def post(self, request: Request, post_id: int) -> Response:
        services.hide_create(user=request.user, post_id=post_id)
        return Response({"hidden": True})

    @extend_schema(request=None, responses=HideStateOutputSerializer, tags=["posts"], summary="Undo not interested")
    def delete(self, request: Request, post_id: int) -> Response:
        # No visibility check: undoing a hide must work even if the post has gone since.
        services.hide_delete(user=request.user, post=Post(pk=post_id))
        return Response({"hidden": False})


# --- events ---------------------------------------------------------------------------------


class EventsApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=EventBatchInputSerializer,
        responses={
            200: EventBatchOutputSerializer,
            400: OpenApiResponse(description="invalid_batch, batch_too_large (the whole call is refused)"),
        },
        tags=["events"],
        summary="Append up to 500 engagement events; bad ones are listed, good ones stored",
    )
    def post(self, request: Request) -> Response:
        body = request.data
        events = body.get("events") if isinstance(body, dict) else None
        if events is None or set(body) != {"events"}:
            raise ApplicationError("invalid_batch", 'Send {"events": [...]}, and nothing else.')
        result = services.events_ingest(user=request.user, events=events)
        return Response(
            {
                "received": result.received,
                "accepted": result.accepted,
                "duplicate_ids": result.duplicate_ids,
                "rejected": result.rejected,
            }
        )
