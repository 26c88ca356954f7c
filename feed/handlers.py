"""Feed's side of the ports that lower apps (cameos, generation) define. Registered in
`FeedConfig.ready()`; each is a thin adapter onto a feed service or selector."""

from __future__ import annotations

from feed import selectors, services
from feed.models import Post, RemovalKind
from generation.models import Video
from sora_social.users.models import User


def video_visible_through_posts(viewer_id: int, video: Video) -> bool:
    """generation asks: may this viewer read this video's bytes? Yes if a post they may see
    shows it."""
    return Post.objects.filter(video_id=video.pk).filter(selectors.visible_posts_q(viewer_id)).exists()


def video_taken_down(video_id: int, reason: str) -> None:
    """generation took a video down: its posts vanish by themselves (they read the video's
    status); notifications about them are hidden too."""
    services.notifications_hide_for_video(video_id)


def video_restored(video_id: int) -> None:
    services.notifications_unhide_for_video(video_id)


def cameo_appearance_removed(*, video_id: int, cameo_id: int, creator_id: int, reason: str, actor_id: int) -> None:
    """cameos: the owner of a cameo removed their appearance from a video. Every post showing
    the video is removed (soft delete, with the reason) and its notifications hidden. (The
    video itself is taken down by generation's own handler on the same port.)"""
    by = User.objects.filter(pk=actor_id).first()
    services.posts_take_down_for_video(video_id=video_id, reason=reason, kind=RemovalKind.CAMEO_OWNER, by=by)


def remix_source(*, viewer: User, post_id: int) -> tuple[Video, int]:
    """generation asks: which video does a remix of post `post_id` start from? Refuses with
    NotFound("post_not_found") or Forbidden("remix_not_allowed") like the remix endpoint."""
    post = selectors.post_get_for_remix(viewer=viewer, post_id=post_id)
    return post.video, post.pk


def posts_visible_for_notifications(viewer_id: int, post_ids: list[int]) -> set[int]:
    """notifications asks: which of these posts may the recipient still see?"""
    return selectors.visible_post_ids(viewer=viewer_id, post_ids=post_ids)


def comments_visible_for_notifications(viewer_id: int, comment_ids: list[int]) -> set[int]:
    """…and which of these comments: live, and on a post the recipient may see."""
    from feed.models import Comment

    rows = Comment.objects.filter(pk__in=comment_ids, deleted_at__isnull=True).values_list("pk", "post_id")
    visible_posts = selectors.visible_post_ids(viewer=viewer_id, post_ids={post_id for _, post_id in rows})
    return {pk for pk, post_id in rows if post_id in visible_posts}
