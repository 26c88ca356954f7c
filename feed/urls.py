from django.urls import path

from feed import apis

# REST endpoints of the feed app, mounted under /api/v1/.
urlpatterns = [
    path("posts", apis.PostCreateApi.as_view(), name="posts"),
    path("posts/<int:post_id>", apis.PostDetailApi.as_view(), name="post-detail"),
    path("posts/<int:post_id>/remixes", apis.RemixListCreateApi.as_view(), name="post-remixes"),
    path("posts/<int:post_id>/chain", apis.PostChainApi.as_view(), name="post-chain"),
    path("posts/<int:post_id>/comments", apis.CommentListCreateApi.as_view(), name="post-comments"),
    path("posts/<int:post_id>/like", apis.LikeApi.as_view(), name="post-like"),
    path("posts/<int:post_id>/likes", apis.LikeListApi.as_view(), name="post-likes"),
    path("posts/<int:post_id>/shares", apis.ShareApi.as_view(), name="post-shares"),
    path("posts/<int:post_id>/hide", apis.HideApi.as_view(), name="post-hide"),
    path("comments/<int:comment_id>", apis.CommentDetailApi.as_view(), name="comment-detail"),
    path("comments/<int:comment_id>/replies", apis.CommentRepliesApi.as_view(), name="comment-replies"),
    path("users/<str:handle>/posts", apis.UserPostsApi.as_view(), name="user-posts"),
    path("events", apis.EventsApi.as_view(), name="events"),
]
