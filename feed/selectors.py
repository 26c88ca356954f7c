"""Reads of posts, chains, comments and likes, with visibility decided in one place.

`visible_posts_q(viewer)` is the rule; everything that shows a post, a chain node, a comment,
a like or an event's post goes through it (as a filter, or as the `visible` annotation where a
chain shows a placeholder instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import BooleanField, Exists, Expression, ExpressionWrapper, F, OuterRef, Prefetch, Q, QuerySet
from psycopg.types.numeric import Int8

from cameos.models import Cameo
from feed.models import Comment, Hide, Like, Post, PostCameo, RemixPermission, Visibility
from generation.models import Video, VideoStatus
from sora_social.common.errors import ApplicationError, Forbidden, NotFound
from sora_social.common.pagination import decode_cursor, encode_cursor
from sora_social.users.models import Block, Follow, User
from sora_social.users.selectors import blocked_user_ids

# --- the rule -------------------------------------------------------------------------------


def _viewer_id(viewer: User | int | None) -> int | None:
    if viewer is None or isinstance(viewer, int):
        return viewer
    return viewer.pk if viewer.is_authenticated else None


class PostSQL(Expression):
    """A boolean SQL condition about the current Post row.

    `{column}` placeholders are compiled to that column under whatever alias the query gives
    the post (its own table, a join, a subquery), so the condition composes like any Q.
    Written as SQL rather than nested Exists() because it is compiled on every read path:
    the ORM took ~10 ms to compile the same rule, longer than the database took to run it.
    """

    conditional = True

    def __init__(self, template: str, params: list[Any], *, prefix: str = "") -> None:
        super().__init__(output_field=BooleanField())
        self.template = template
        self.params = list(params)
        self.names = sorted(set(re.findall(r"\{(\w+)\}", template)))
        self.columns = [F(prefix + name) for name in self.names]

    def get_source_expressions(self) -> list[Any]:
        return self.columns

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.columns = list(exprs)

    def as_sql(self, compiler, connection) -> tuple[str, list[Any]]:
        compiled = {}
        for name, column in zip(self.names, self.columns, strict=True):
            sql, params = compiler.compile(column)
            if params:  # columns never carry parameters; the template's own come last
                raise ValueError(f"unexpected parameters for {name}")
            compiled[name] = sql
        return "(" + self.template.format(**compiled) + ")", list(self.params)


_TABLES = {
    "video": Video._meta.db_table,
    "user": User._meta.db_table,
    "block": Block._meta.db_table,
    "follow": Follow._meta.db_table,
    "post_cameo": PostCameo._meta.db_table,
    "cameo": Cameo._meta.db_table,
    "like": Like._meta.db_table,
}
_LIVE = (
    "{{deleted_at}} IS NULL"
    " AND EXISTS (SELECT 1 FROM {video} v WHERE v.id = {{video_id}} AND v.status = '{ready}')"
    " AND EXISTS (SELECT 1 FROM {user} u WHERE u.id = {{author_id}} AND u.is_active)"
).format(ready=VideoStatus.READY, **_TABLES)
_FOLLOWS = "EXISTS (SELECT 1 FROM {follow} f WHERE f.follower_id = %s AND f.followee_id = {{author_id}})".format(
    **_TABLES
)
_FOLLOWED_BY = "EXISTS (SELECT 1 FROM {follow} f WHERE f.follower_id = {{author_id}} AND f.followee_id = %s)".format(
    **_TABLES
)
_VISIBLE_TO_VIEWER = _LIVE + (
    " AND NOT EXISTS (SELECT 1 FROM {block} b WHERE b.blocker_id = %s AND b.blocked_id = {{author_id}})"
    " AND NOT EXISTS (SELECT 1 FROM {block} b WHERE b.blocker_id = {{author_id}} AND b.blocked_id = %s)"
    " AND ({{author_id}} = %s"
    " OR {{visibility}} = '{public}'"
    " OR ({{visibility}} = '{followers}' AND " + _FOLLOWS.replace("{", "{{").replace("}", "}}") + ")"
    " OR ({{visibility}} = '{friends}' AND "
    + _FOLLOWS.replace("{", "{{").replace("}", "}}")
    + " AND "
    + _FOLLOWED_BY.replace("{", "{{").replace("}", "}}")
    + ")"
    " OR EXISTS (SELECT 1 FROM {post_cameo} pc JOIN {cameo} c ON c.id = pc.cameo_id"
    " WHERE pc.post_id = {{id}} AND c.owner_id = %s))"
).format(
    public=Visibility.PUBLIC,
    followers=Visibility.FOLLOWERS,
    friends=Visibility.FRIENDS,
    **_TABLES,
)
# An age-restricted post is for adults: the author, or a viewer whose date of birth says 18+.
_ADULT_OR_UNRESTRICTED = (
    (
        " AND (NOT {{{{age_restricted}}}} OR {{{{author_id}}}} = %s"
        " OR EXISTS (SELECT 1 FROM {user} ua WHERE ua.id = %s AND ua.date_of_birth IS NOT NULL"
        " AND ua.date_of_birth <= CURRENT_DATE - INTERVAL '{years} years'))"
    )
    .format(years=settings.MINOR_AGE_YEARS, **_TABLES)
    .replace("{{", "{")
    .replace("}}", "}")
)
_VISIBLE_TO_VIEWER += _ADULT_OR_UNRESTRICTED
_VISIBLE_TO_ANYONE = _LIVE + f" AND {{visibility}} = '{Visibility.PUBLIC}' AND NOT {{age_restricted}}"


def live_posts_q(*, prefix: str = "") -> Q:
    """Posts that exist for anyone: not deleted or removed, video not taken down, author active."""
    return Q(PostSQL(_LIVE, [], prefix=prefix))


def visible_posts_q(viewer: User | int | None, *, prefix: str = "") -> Q:
    """Whether `viewer` may see a post: THE rule, as a filter on Post (or, with
    `prefix="post__"`, on anything that points at a post).

    Live (not deleted or removed, video not taken down, author active) and: the author always;
    public: everyone; followers: people who follow the author; friends: mutual follows;
    private: the author only. A block either way hides it. The owner of a cameo featured in
    the post sees it whatever its audience (they must be able to see, and remove, what was
    made with their likeness).
    """
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return Q(PostSQL(_VISIBLE_TO_ANYONE, [], prefix=prefix))
    # Parameter order follows the %s placeholders: block, block, author, follows (followers),
    # follows + followed-by (friends), cameo owner, then author and adult (age restriction).
    return Q(PostSQL(_VISIBLE_TO_VIEWER, [viewer_id] * 9, prefix=prefix))


def with_viewer_state(queryset: QuerySet[Post], viewer_id: int | None) -> QuerySet[Post]:
    """What the viewer's buttons need: liked it, friends with the author (for remix rights)."""
    if viewer_id is None:
        return queryset
    liked = "EXISTS (SELECT 1 FROM {like} l WHERE l.post_id = {{id}} AND l.user_id = %s)".format(**_TABLES)
    return queryset.annotate(
        viewer_liked=PostSQL(liked, [viewer_id]),
        viewer_follows_author=PostSQL(_FOLLOWS, [viewer_id]),
        author_follows_viewer=PostSQL(_FOLLOWED_BY, [viewer_id]),
    )


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


def visibility_sql(*, alias: str, viewer_id: int | None) -> str:
    """The rule as raw SQL about the post aliased `alias`, for hand-written statements; the
    viewer's id goes in a parameter named `viewer`."""
    return _rule_on(alias, _VISIBLE_TO_VIEWER if viewer_id is not None else _VISIBLE_TO_ANYONE)


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
        raise NotFound("No such post.", code="post_not_found")
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


def _hidden_ids(viewer: User):
    from feed.models import Hide

    return Hide.objects.filter(user_id=viewer.pk).values("post_id")


# --- credits and placeholders ---------------------------------------------------------------


@dataclass(frozen=True)
class PostRef:
    """A post as a chain shows it: the post itself if the viewer may see it, else a placeholder.

    `post` is a Post, or (on the chain paths) a read-only stand-in with the same attributes.
    """

    id: int
    available: bool
    post: Post | None
    parent_id: int | None
    root_id: int
    depth: int
    remix_count: int
    descendant_count: int


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


# --- a page of posts in one statement ------------------------------------------------------
#
# The feeds' hot path (following, friends, for-you pages): given the ids a page wants, one
# statement returns the visible ones in that order with everything post_data() reads (author,
# video, featured cameos, the viewer's state) and the credits of their parents and roots, each
# with its own visibility. No ORM compilation: compiling the rule and the viewer-state
# annotations took longer than PostgreSQL took to run them.


class _PreparingCursor(ServerBindingCursor):
    """psycopg's server-side-binding cursor, preparing every statement it runs and reading
    results in binary: PostgreSQL then plans a statement a few times per connection, not on
    every page (planning the visibility rule cost more than running it), and rows arrive
    without text parsing (a candidate row with its 768-byte embedding decoded ~4× faster).
    Only for the fixed statements of the hot read paths; Django's own cursors stay
    client-side binding, text, and unprepared."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=True)


def id_array(ids: list[int]) -> str:
    """An id list as one bigint[] text literal, to pass as a `%s::bigint[]` parameter: the
    statement's parameter type then stays the same whatever the ids' size (psycopg types a
    list of ints by its largest value, and a new type is a new prepared statement)."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def prepared_cursor():
    """A Django cursor (query logging, error wrapping, thread checks as connection.cursor())
    whose statements are server-side prepared. Worth it with pooled or persistent connections;
    with a new connection per request it costs nothing more than a plain cursor."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if not getattr(settings, "FEED_PREPARED_STATEMENTS", True):
        # E.g. behind a transaction-pooling PgBouncer: plain statements, as Django's own.
        cursor = raw.cursor()
    else:
        if raw.prepare_threshold is None:
            # Django turns psycopg's prepared statements off (prepare_threshold=None), which
            # also refuses an explicit prepare=True. A threshold nothing reaches lets this
            # cursor prepare and leaves every other cursor as it was (client-side binding
            # cursors never prepare).
            raw.prepare_threshold = 2**31 - 1
        cursor = _PreparingCursor(raw)
    with connection.wrap_database_errors:
        return connection._prepare_cursor(cursor)


@dataclass
class PagePosts:
    """Visible posts of a page, in the order asked for, as read-only stand-ins with a Post's
    attributes (what feed.serializers.post_data reads), and the refs their credits need."""

    posts: list[Any]
    lineage: dict[int, PostRef]


_PAGE_COLUMNS = (
    "id, author_id, video_id, caption, visibility, remix_permission, remix_of_id, root_id, depth, "
    "remix_count, descendant_count, like_count, comment_count, share_count, created_at"
)


@lru_cache(maxsize=8)
def _page_sql(exclude_sql: str) -> str:
    # Planned in small pieces: PostgreSQL pulls EXISTS conditions in a WHERE up into joins and
    # then searches join orders over all of them, which took ~6-9 ms of planning for a 2 ms
    # query. As output columns of materialized CTEs (sub-plans) the same rule plans in ~1 ms,
    # and it is evaluated once per distinct post (the page's posts, their parents and roots).
    visible = _rule_on("p", _VISIBLE_TO_VIEWER)
    liked = "EXISTS (SELECT 1 FROM {like} l WHERE l.post_id = {{id}} AND l.user_id = %s)".format(**_TABLES)
    hidden = f"EXISTS (SELECT 1 FROM {Hide._meta.db_table} h WHERE h.user_id = %(viewer)s AND h.post_id = p.id)"
    excluded = f"NOT ({exclude_sql})" if exclude_sql else "false"
    columns = ", ".join("p." + c.strip() for c in _PAGE_COLUMNS.split(","))
    return f"""
WITH page AS MATERIALIZED (
    SELECT a.ord, {columns}, {hidden} OR {excluded} AS left_out,
           {_rule_on("p", liked)} AS liked, {_rule_on("p", _FOLLOWS)} AS follows,
           {_rule_on("p", _FOLLOWED_BY)} AS followed_by
    FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS a(id, ord) JOIN feed_post p ON p.id = a.id
),
refs AS MATERIALIZED (
    SELECT p.id, {visible} AS visible, u.id AS author_id, u.handle, u.display_name, u.avatar
    FROM feed_post p JOIN {_TABLES["user"]} u ON u.id = p.author_id
    WHERE p.id IN (
        SELECT id FROM page WHERE NOT left_out
        UNION SELECT remix_of_id FROM page WHERE NOT left_out AND remix_of_id IS NOT NULL
        UNION SELECT root_id FROM page WHERE NOT left_out AND remix_of_id IS NOT NULL
    )
)
SELECT {columns.replace("p.", "g.")}, g.liked, g.follows, g.followed_by,
       r.handle, r.display_name, r.avatar,
       v.thumbnail, v.duration_s, v.width, v.height,
       (SELECT json_agg(json_build_array(c.id, c.name, c.display_name, o.handle) ORDER BY pc.id)
          FROM {_TABLES["post_cameo"]} pc JOIN {_TABLES["cameo"]} c ON c.id = pc.cameo_id
          JOIN {_TABLES["user"]} o ON o.id = c.owner_id
         WHERE pc.post_id = g.id),
       pr.visible, pr.author_id, pr.handle, pr.display_name, pr.avatar,
       rr.visible, rr.author_id, rr.handle, rr.display_name, rr.avatar
FROM page g
JOIN refs r ON r.id = g.id AND r.visible
JOIN {_TABLES["video"]} v ON v.id = g.video_id
LEFT JOIN refs pr ON pr.id = g.remix_of_id
LEFT JOIN refs rr ON rr.id = g.root_id AND g.remix_of_id IS NOT NULL
WHERE NOT g.left_out
ORDER BY g.ord
"""


def posts_page(*, viewer_id: int, post_ids: list[int], exclude_sql: str = "") -> PagePosts:
    """The posts among `post_ids` that the viewer may see (`visible_posts_q`, the same rule
    text) and has not hidden, in the order of `post_ids`, with their parents' and roots' credits.

    `exclude_sql`: a further condition a post must meet, on the alias `p` with the viewer as
    `%(viewer)s` (the ranking app leaves out what the viewer reported). One statement.
    """
    if not post_ids:
        return PagePosts(posts=[], lineage={})
    with prepared_cursor() as cursor:
        cursor.execute(_page_sql(exclude_sql), {"ids": id_array(post_ids), "viewer": Int8(viewer_id)})
        rows = cursor.fetchall()
    posts: list[Any] = []
    lineage: dict[int, PostRef] = {}
    for row in rows:
        (pk, author_id, video_id, caption, visibility, remix_permission, remix_of_id, root_id, depth,
         remix_count, descendant_count, like_count, comment_count, share_count, created_at) = row[:15]  # fmt: skip
        liked, follows, followed_by, handle, display_name, avatar = row[15:21]
        thumbnail, duration_s, width, height, cameos = row[21:26]
        posts.append(
            SimpleNamespace(
                pk=pk,
                id=pk,
                author_id=author_id,
                author=SimpleNamespace(
                    pk=author_id, id=author_id, handle=handle, display_name=display_name, avatar=avatar
                ),
                video_id=video_id,
                video=SimpleNamespace(
                    pk=video_id, id=video_id, thumbnail=thumbnail, duration_s=duration_s, width=width, height=height
                ),
                caption=caption,
                visibility=visibility,
                remix_permission=remix_permission,
                remix_of_id=remix_of_id,
                root_id=root_id,
                depth=depth,
                remix_count=remix_count,
                descendant_count=descendant_count,
                like_count=like_count,
                comment_count=comment_count,
                share_count=share_count,
                created_at=created_at,
                viewer_liked=liked,
                viewer_follows_author=follows,
                author_follows_viewer=followed_by,
                featured=[
                    SimpleNamespace(
                        cameo=SimpleNamespace(pk=c[0], name=c[1], display_name=c[2], owner=SimpleNamespace(handle=c[3]))
                    )
                    for c in (cameos or [])
                ],
            )
        )
        if remix_of_id is not None:
            # A credited post always exists (PROTECT foreign keys); its ref says whether the
            # viewer may see it, as lineage_refs() does.
            if remix_of_id not in lineage:
                lineage[remix_of_id] = _credit_ref(remix_of_id, row[26], row[27:31])
            if root_id not in lineage:
                lineage[root_id] = _credit_ref(root_id, row[31], row[32:36])
    return PagePosts(posts=posts, lineage=lineage)


# --- walking a chain ------------------------------------------------------------------------
#
# A chain page is read in one statement: a recursive CTE picks the page's posts (`walk`: id,
# pos, lvl), and one SELECT returns each with its author, video, cameos, the viewer's state,
# whether the viewer may see it (the same rule text as `visible_posts_q`), and the same for
# its parent and root, which it credits. No ORM compilation on this path: it is the one the
# remix-tree benchmark times.


def _rule_on(alias: str, template: str) -> str:
    """A PostSQL template applied to a table alias, with named viewer parameters."""
    columns = {name: f'{alias}."{name}"' for name in re.findall(r"\{(\w+)\}", template)}
    return template.format(**columns).replace("%s", "%(viewer)s")


def _node_select(viewer_id: int | None) -> str:
    visible = _VISIBLE_TO_VIEWER if viewer_id is not None else _VISIBLE_TO_ANYONE
    liked = "EXISTS (SELECT 1 FROM {like} l WHERE l.post_id = {{id}} AND l.user_id = %s)".format(**_TABLES)
    state = (
        f"{_rule_on('p', liked)}, {_rule_on('p', _FOLLOWS)}, {_rule_on('p', _FOLLOWED_BY)}"
        if viewer_id is not None
        else "false, false, false"
    )
    # The visibility rule is evaluated once per distinct post (the page's posts, their parents
    # and root, in `refs`), not three times per row: planning time grows with every sub-select.
    return f"""
, page AS (
    SELECT id, pos, lvl FROM walk WHERE pos >= %(start)s AND pos < %(end)s
    UNION ALL SELECT %(anchor)s::bigint, -1, 0  -- the post the walk is anchored on, checked like the rest
)
, wanted AS (
    SELECT id FROM page
    UNION SELECT remix_of_id FROM feed_post WHERE id IN (SELECT id FROM page) AND remix_of_id IS NOT NULL
    UNION SELECT root_id FROM feed_post WHERE id IN (SELECT id FROM page)
)
, refs AS (
    SELECT p.id, {_rule_on("p", visible)} AS visible, a.id AS author_id, a.handle, a.display_name, a.avatar
    FROM feed_post p JOIN {_TABLES["user"]} a ON a.id = p.author_id
    WHERE p.id IN (SELECT id FROM wanted)
)
SELECT w.pos, w.lvl,
       p.id, p.author_id, p.video_id, p.caption, p.visibility, p.remix_permission, p.remix_of_id,
       p.root_id, p.depth, p.remix_count, p.descendant_count, p.like_count, p.comment_count,
       p.share_count, p.created_at,
       r.visible,
       {state},
       r.handle, r.display_name, r.avatar,
       v.thumbnail, v.duration_s, v.width, v.height,
       (SELECT json_agg(json_build_array(c.id, c.name, c.display_name, o.handle) ORDER BY pc.id)
          FROM {_TABLES["post_cameo"]} pc JOIN {_TABLES["cameo"]} c ON c.id = pc.cameo_id
          JOIN {_TABLES["user"]} o ON o.id = c.owner_id
         WHERE pc.post_id = p.id),
       COALESCE(pr.visible, false), pr.author_id, pr.handle, pr.display_name, pr.avatar,
       rr.visible, rr.author_id, rr.handle, rr.display_name, rr.avatar
FROM page w
JOIN feed_post p ON p.id = w.id
JOIN refs r ON r.id = p.id
JOIN {_TABLES["video"]} v ON v.id = p.video_id
LEFT JOIN refs pr ON pr.id = p.remix_of_id
JOIN refs rr ON rr.id = p.root_id
ORDER BY w.pos
"""


def _credit_ref(post_id: int, visible: bool, author: tuple) -> PostRef:
    """A parent or root as a credit shows it: who made it, if the viewer may see it."""
    post = None
    if visible:
        post = SimpleNamespace(
            pk=post_id,
            id=post_id,
            author=SimpleNamespace(pk=author[0], handle=author[1], display_name=author[2], avatar=author[3]),
        )
    return PostRef(
        id=post_id, available=bool(visible), post=post, parent_id=None, root_id=0, depth=0, remix_count=0,
        descendant_count=0,
    )  # fmt: skip


def _read_nodes(
    cte: str, params: dict[str, Any], viewer_id: int | None
) -> tuple[PostRef | None, list[tuple[int, int, PostRef]], dict[int, PostRef]]:
    """The anchor post's ref (None if it does not exist), (pos, lvl, ref) for each row of the
    page, and refs of the parents and roots they credit.

    Rows become read-only stand-ins with a Post's attributes (SimpleNamespace), not model
    instances: building ~100 model instances was the largest cost of a page.
    """
    with connection.cursor() as cursor:
        cursor.execute(cte + _node_select(viewer_id), {**params, "viewer": viewer_id})
        rows = cursor.fetchall()
    nodes: list[tuple[int, int, PostRef]] = []
    lineage: dict[int, PostRef] = {}
    anchor = None
    for row in rows:
        pos, lvl = row[0], row[1]
        (pk, author_id, video_id, caption, visibility, remix_permission, remix_of_id, root_id, depth,
         remix_count, descendant_count, like_count, comment_count, share_count, created_at) = row[2:17]  # fmt: skip
        visible, liked, follows, followed_by = row[17:21]
        handle, display_name, avatar = row[21:24]
        thumbnail, duration_s, width, height, cameos = row[24:29]
        post = None
        if visible:
            post = SimpleNamespace(
                pk=pk,
                id=pk,
                author_id=author_id,
                author=SimpleNamespace(pk=author_id, handle=handle, display_name=display_name, avatar=avatar),
                video=SimpleNamespace(
                    pk=video_id, thumbnail=thumbnail, duration_s=duration_s, width=width, height=height
                ),
                caption=caption,
                visibility=visibility,
                remix_permission=remix_permission,
                remix_of_id=remix_of_id,
                root_id=root_id,
                depth=depth,
                remix_count=remix_count,
                descendant_count=descendant_count,
                like_count=like_count,
                comment_count=comment_count,
                share_count=share_count,
                created_at=created_at,
                viewer_liked=liked,
                viewer_follows_author=follows,
                author_follows_viewer=followed_by,
                featured=[
                    SimpleNamespace(
                        cameo=SimpleNamespace(pk=c[0], name=c[1], display_name=c[2], owner=SimpleNamespace(handle=c[3]))
                    )
                    for c in (cameos or [])
                ],
            )
            if remix_of_id is not None and remix_of_id not in lineage:
                lineage[remix_of_id] = _credit_ref(remix_of_id, row[29], row[30:34])
            if root_id not in lineage:
                lineage[root_id] = _credit_ref(root_id, row[34], row[35:39])
        ref = PostRef(
            id=pk,
            available=bool(visible),
            post=post,
            parent_id=remix_of_id,
            root_id=root_id,
            depth=depth,
            remix_count=remix_count,
            descendant_count=descendant_count,
        )
        if pos < 0:
            anchor = ref
        else:
            nodes.append((pos, lvl, ref))
    return anchor, nodes, lineage


_ANCESTORS_CTE = """
WITH RECURSIVE up(id, parent_id, n) AS (
    SELECT id, remix_of_id, 0 FROM feed_post WHERE id = %(from_id)s
  UNION ALL
    SELECT p.id, p.remix_of_id, up.n + 1
    FROM feed_post p JOIN up ON p.id = up.parent_id
    WHERE up.n < %(limit)s
),
walk(id, pos, lvl) AS (SELECT id, n, 0 FROM up)
"""


def chain_ancestors_page(
    *, viewer: User, post_id: int, cursor: str | None, limit: int
) -> tuple[list[PostRef], str | None, dict[int, PostRef]]:
    """One page of `post`'s ancestors, its parent first and the root last, plus the refs of
    the posts they credit.

    Deleted or hidden ancestors stay in place as placeholders. NotFound("post_not_found") if
    the viewer may not see the post itself. One statement a page: the walk up (a recursive
    CTE that stops after `limit` steps), the rows, and the post's own visibility.
    """
    start = post_id
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 1 or not isinstance(values[0], int):
            raise ApplicationError("invalid_cursor", "The cursor does not belong to this list.")
        start = values[0]
    params = {"from_id": start, "limit": limit, "start": 1, "end": limit + 1, "anchor": post_id}
    post, nodes, lineage = _read_nodes(_ANCESTORS_CTE, params, _viewer_id(viewer))
    if post is None or not post.available:
        raise NotFound("No such post.", code="post_not_found")
    page = [ref for _, _, ref in nodes]
    if cursor and page and (page[0].root_id != post.root_id or page[0].depth >= post.depth):
        # The cursor named a post that is not above this one.
        raise ApplicationError("invalid_cursor", "The cursor does not belong to this list.")
    next_cursor = encode_cursor([page[-1].id]) if page and page[-1].parent_id is not None else None
    return page, next_cursor, lineage


# The remix tree below a post, in pre-order with the most-remixed branches first, one window
# of positions at a time. Because every post knows its subtree size (descendant_count), the
# position of each child is its parent's position + 1 + the sizes of the siblings before it,
# so the walk only expands subtrees that overlap the window: a page costs a few index range
# scans along one path, not a scan of the whole tree.
_TREE_CTE = """
WITH RECURSIVE walk(id, pos, size, lvl) AS (
    SELECT p.id, %(base_pos)s::bigint, p.descendant_count::bigint, %(base_lvl)s::integer
    FROM feed_post p WHERE p.id = %(root)s
  UNION ALL
    SELECT c.id, c.pos, c.size, c.lvl
    FROM walk w
    CROSS JOIN LATERAL (
        SELECT k.id,
               w.pos + SUM(k.descendant_count + 1) OVER (ORDER BY k.descendant_count DESC, k.id)
                     - k.descendant_count AS pos,
               k.descendant_count::bigint AS size,
               w.lvl + 1 AS lvl
        FROM (
            SELECT id, descendant_count FROM feed_post
            WHERE remix_of_id = w.id
            ORDER BY descendant_count DESC, id
            LIMIT GREATEST(%(end)s - w.pos, 0)
        ) k
    ) c
    WHERE w.size > 0 AND w.pos < %(end)s AND w.pos + w.size >= %(start)s
      AND c.pos < %(end)s AND c.pos + c.size >= %(start)s
)
"""


@dataclass(frozen=True)
class TreeNode:
    ref: PostRef
    position: int  # pre-order position below the anchor post (the anchor is 0)
    level: int  # 1 = a direct remix of the anchor


_TREE_CURSOR_SALT = "feed.remix-tree-cursor"


def _tree_cursor(*, anchor_id: int, start: int, hint: tuple[int, int, int, int] | None) -> str:
    # Signed, so a page can start its walk from the hinted post without checking that the
    # post really lies below the anchor: only this server could have said so.
    return signing.dumps({"a": anchor_id, "s": start, "h": hint}, salt=_TREE_CURSOR_SALT, compress=False)


def _read_tree_cursor(cursor: str, anchor_id: int) -> tuple[int, tuple[int, int, int, int] | None]:
    try:
        payload = signing.loads(cursor, salt=_TREE_CURSOR_SALT)
        if payload["a"] != anchor_id or not isinstance(payload["s"], int) or payload["s"] < 1:
            raise ValueError
        hint = payload["h"]
        if hint is not None and (len(hint) != 4 or not all(isinstance(v, int) for v in hint)):
            raise ValueError
    except (signing.BadSignature, ValueError, KeyError, TypeError) as exc:
        raise ApplicationError("invalid_cursor", "The cursor does not belong to this list.") from exc
    return payload["s"], tuple(hint) if hint else None


def remix_tree_page(
    *, viewer: User, post_id: int, cursor: str | None, limit: int
) -> tuple[list[TreeNode], str | None, dict[int, PostRef]]:
    """One page of the remix tree below `post`: pre-order, most-remixed branches first, plus
    the refs of the parents and roots its posts credit.

    A hidden or deleted remix with remixes below it shows as a placeholder so its branch keeps
    its shape; one without any is left out (so a page may hold fewer than `limit` rows). The
    cursor is a position in the tree, plus the last post of the page: when the next page lies
    wholly below that post (a long chain), the walk starts there instead of descending from
    the top again. A remix made between two page reads can shift later rows by one (the order
    itself moves as branches gain remixes). NotFound("post_not_found") if the viewer may not
    see the post itself.
    """
    start, hint = (1, None) if not cursor else _read_tree_cursor(cursor, post_id)
    end = start + limit
    root, base_pos, base_lvl = post_id, 0, 0
    if hint is not None:
        hint_id, hint_pos, hint_size, hint_lvl = hint
        if hint_pos < start and hint_pos + hint_size >= end - 1:
            root, base_pos, base_lvl = hint_id, hint_pos, hint_lvl
    params = {
        "root": root,
        "base_pos": base_pos,
        "base_lvl": base_lvl,
        "start": start,
        "end": end,
        "anchor": post_id,
    }
    post, rows, lineage = _read_nodes(_TREE_CTE, params, _viewer_id(viewer))
    if post is None or not post.available:
        raise NotFound("No such post.", code="post_not_found")
    nodes = [
        TreeNode(ref=ref, position=pos, level=lvl)
        for pos, lvl, ref in rows
        if ref.available or ref.descendant_count > 0
    ]
    next_cursor = None
    if end <= post.descendant_count:
        last = rows[-1] if rows and rows[-1][0] == end - 1 else None
        hint = (last[2].id, last[0], last[2].descendant_count, last[1]) if last else None
        next_cursor = _tree_cursor(anchor_id=post_id, start=end, hint=hint)
    return nodes, next_cursor, lineage


# --- comments and likes ---------------------------------------------------------------------


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
        raise NotFound("No such comment.", code="comment_not_found")
    if comment.parent_id is not None and not _comments_visible_to(viewer).filter(pk=comment.parent_id).exists():
        raise NotFound("No such comment.", code="comment_not_found")
    return comment


def likes_of_post(*, viewer: User, post: Post) -> QuerySet[Like]:
    """Who liked a post the viewer can see, without people hidden from them by a block."""
    return (
        Like.objects.filter(post_id=post.pk, user__is_active=True)
        .exclude(user_id__in=blocked_user_ids(viewer))
        .select_related("user")
    )


def cameos_by_ids(*, cameo_ids: list[int]) -> list[Cameo]:
    cameos = {c.pk: c for c in Cameo.objects.filter(pk__in=cameo_ids).select_related("owner")}
    missing = [i for i in cameo_ids if i not in cameos]
    if missing:
        raise NotFound(f"No cameo {missing[0]}.", code="cameo_not_found")
    return [cameos[i] for i in cameo_ids]
