"""A page of posts in one statement.

The feeds' hot path (following, friends, for-you pages): given the ids a page wants, one
statement returns the visible ones in that order with everything post_data() reads (author,
video, featured cameos, the viewer's state) and the credits of their parents and roots, each
with its own visibility. No ORM compilation: compiling the rule and the viewer-state
annotations took longer than PostgreSQL took to run them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.postgresql.base import ServerBindingCursor
from psycopg.types.numeric import Int8

from feed.models import Hide
from feed.selectors.refs import (
    STAND_IN_WIDTH,
    PostRef,
    _credit_ref,
    featured_cameos_sql,
    stand_in_columns,
    stand_in_post,
)
from feed.selectors.visibility import _FOLLOWED_BY, _FOLLOWS, _LIKED, _TABLES, _VISIBLE_TO_VIEWER, _rule_on
from sora_social.common import db_router


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
    # The replica when the request's reads may lag (common/db_router.py), else the primary.
    connection = connections[db_router.read_alias()]
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


@lru_cache(maxsize=8)
def _page_sql(exclude_sql: str) -> str:
    # Planned in small pieces: PostgreSQL pulls EXISTS conditions in a WHERE up into joins and
    # then searches join orders over all of them, which took ~6-9 ms of planning for a 2 ms
    # query. As output columns of materialized CTEs (sub-plans) the same rule plans in ~1 ms,
    # and it is evaluated once per distinct post (the page's posts, their parents and roots).
    visible = _rule_on("p", _VISIBLE_TO_VIEWER)
    hidden = f"EXISTS (SELECT 1 FROM {Hide._meta.db_table} h WHERE h.user_id = %(viewer)s AND h.post_id = p.id)"
    excluded = f"NOT ({exclude_sql})" if exclude_sql else "false"
    return f"""
WITH page AS MATERIALIZED (
    SELECT a.ord, {stand_in_columns("p")}, {hidden} OR {excluded} AS left_out,
           {_rule_on("p", _LIKED)} AS liked, {_rule_on("p", _FOLLOWS)} AS follows,
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
SELECT {stand_in_columns("g")}, g.liked, g.follows, g.followed_by,
       r.handle, r.display_name, r.avatar,
       v.thumbnail, v.duration_s, v.width, v.height,
       {featured_cameos_sql("g.id")},
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
        post = stand_in_post(row)
        posts.append(post)
        remix_of_id, root_id = post.remix_of_id, post.root_id
        if remix_of_id is not None:
            # A credited post always exists (PROTECT foreign keys); its ref says whether the
            # viewer may see it, as lineage_refs() does.
            credits = row[STAND_IN_WIDTH:]
            if remix_of_id not in lineage:
                lineage[remix_of_id] = _credit_ref(remix_of_id, credits[0], credits[1:5])
            if root_id not in lineage:
                lineage[root_id] = _credit_ref(root_id, credits[5], credits[6:10])
    return PagePosts(posts=posts, lineage=lineage)
