"""Posts as a viewer may see them: one post, a list, whether a remix is allowed, the credits
(parents and roots) a list of posts shows.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q, QuerySet

from cameos.models import Cameo
from feed.models import Hide, Post, PostCameo, RemixPermission
from feed.selectors.refs import PostRef
from feed.selectors.visibility import _viewer_id, visibility_sql, visible_posts_q, with_viewer_state
from sora_social.common.errors import Forbidden, NotFound
from sora_social.users.models import Follow, User


def _post_rows() -> QuerySet[Post]:
    cameos = Prefetch(
        "post_cameos", queryset=PostCameo.objects.select_related("cameo__owner").order_by("id"), to_attr="featured"
    )
    return Post.objects.select_related("author", "video").prefetch_related(cameos)


def posts_visible_to(viewer: User | int | None) -> QuerySet[Post]:
    """Every post `viewer` may see, ready to show (author, video, cameos, viewer state)."""
    viewer_id = _viewer_id(viewer)
    return with_viewer_state(_post_rows().filter(visible_posts_q(viewer_id)), viewer_id)


def post_is_visible(*, viewer: User | int | None, post: Post | int) -> bool:
    post_id = post if isinstance(post, int) else post.pk
    return Post.objects.filter(pk=post_id).filter(visible_posts_q(viewer)).exists()


def visible_post_ids(*, viewer: User | int | None, post_ids: set[int] | list[int]) -> set[int]:
    """Which of `post_ids` the viewer may see: one query however many ids."""
    if not post_ids:
        return set()
    viewer_id = _viewer_id(viewer)
    rule = visibility_sql(alias="p", viewer_id=viewer_id)
    sql = f"SELECT p.id FROM {Post._meta.db_table} p WHERE p.id = ANY(%(ids)s) AND {rule}"
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": list(post_ids), "viewer": viewer_id})
        return {row[0] for row in cursor.fetchall()}


def post_get_visible(*, viewer: User | int | None, post_id: int) -> Post:
    """The post as `viewer` may see it; NotFound if it does not exist for them (never 403,
    which would confirm a private post exists)."""
    post = posts_visible_to(viewer).filter(pk=post_id).first()
    if post is None:
        raise NotFound("post_not_found", "No such post.")
    return post


def viewer_may_remix(*, viewer_id: int | None, post: Post) -> tuple[bool, str]:
    """(allowed, reason) for a post the viewer can already see. Needs `with_viewer_state`."""
    if viewer_id is not None and viewer_id == post.author_id:
        return True, ""
    if post.remix_permission == RemixPermission.NOBODY:
        return False, "The author does not allow remixes of this post."
    if post.remix_permission == RemixPermission.FRIENDS and not (
        getattr(post, "viewer_follows_author", False) and getattr(post, "author_follows_viewer", False)
    ):
        return False, "Only the author's friends (mutual follows) may remix this post."
    return True, ""


def post_get_for_remix(*, viewer: User | int, post_id: int) -> Post:
    """The post `viewer` wants to remix, if they may: NotFound("post_not_found") when they
    cannot see it, Forbidden("remix_not_allowed") when its author does not let them remix it.

    The generation pipeline resolves a remix source with this (through a port it defines).
    """
    post = post_get_visible(viewer=viewer, post_id=post_id)
    allowed, reason = viewer_may_remix(viewer_id=_viewer_id(viewer), post=post)
    if not allowed:
        raise Forbidden("remix_not_allowed", reason)
    return post


def posts_of_author(*, viewer: User, author: User) -> QuerySet[Post]:
    return posts_visible_to(viewer).filter(author_id=author.pk)


def posts_latest(*, viewer: User) -> QuerySet[Post]:
    """Every post the viewer may see, newest first, without the ones they hid (the firehose)."""
    return posts_visible_to(viewer).exclude(pk__in=_hidden_ids(viewer))


def posts_following(*, viewer: User) -> QuerySet[Post]:
    """Posts of people the viewer follows (and their own), newest first, without hidden ones."""
    following = Follow.objects.filter(follower_id=viewer.pk).values("followee_id")
    return posts_latest(viewer=viewer).filter(Q(author_id__in=following) | Q(author_id=viewer.pk))


def _hidden_ids(viewer: User) -> QuerySet[Hide]:
    return Hide.objects.filter(user_id=viewer.pk).values("post_id")


def lineage_refs(*, viewer: User | int | None, posts: list[Post]) -> dict[int, PostRef]:
    """Refs of the parents and roots of `posts`, so each remix credits both (one query)."""
    ids = {p.remix_of_id for p in posts if p.remix_of_id} | {p.root_id for p in posts if p.remix_of_id}
    if not ids:
        return {}
    viewer_id = _viewer_id(viewer)
    rows = (
        Post.objects.filter(pk__in=ids)
        .select_related("author")
        .annotate(visible=ExpressionWrapper(visible_posts_q(viewer_id), output_field=BooleanField()))
        .only(
            "id",
            "remix_of_id",
            "root_id",
            "depth",
            "remix_count",
            "descendant_count",
            "author__id",
            "author__handle",
            "author__display_name",
            "author__avatar",
        )
    )
    return {
        p.pk: PostRef(
            id=p.pk,
            available=bool(p.visible),
            post=p if p.visible else None,
            parent_id=p.remix_of_id,
            root_id=p.root_id,
            depth=p.depth,
            remix_count=p.remix_count,
            descendant_count=p.descendant_count,
        )
        for p in rows
    }


def cameos_by_ids(*, cameo_ids: list[int]) -> list[Cameo]:
    cameos = {c.pk: c for c in Cameo.objects.filter(pk__in=cameo_ids).select_related("owner")}
    missing = [i for i in cameo_ids if i not in cameos]
    if missing:
        raise NotFound("cameo_not_found", f"No cameo {missing[0]}.")
    return [cameos[i] for i in cameo_ids]
