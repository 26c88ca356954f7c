"""Walking a remix chain: the ancestors of a post, and the tree of remixes below it.

A chain page is read in one statement: a recursive CTE picks the page's posts (`walk`: id,
pos, lvl), and one SELECT returns each with its author, video, cameos, the viewer's state,
whether the viewer may see it (the same rule text as `visible_posts_q`), and the same for
its parent and root, which it credits. No ORM compilation on this path: it is the one the
remix-tree benchmark times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import connection

from feed.selectors.refs import (
    STAND_IN_WIDTH,
    PostRef,
    _credit_ref,
    featured_cameos_sql,
    stand_in_columns,
    stand_in_post,
)
from feed.selectors.visibility import (
    _FOLLOWED_BY,
    _FOLLOWS,
    _LIKED,
    _TABLES,
    _VISIBLE_TO_ANYONE,
    _VISIBLE_TO_VIEWER,
    _rule_on,
    _viewer_id,
)
from sora_social.common.errors import NotFound
from sora_social.common.pagination import cursor_not_of_this_list, decode_cursor, encode_cursor, fits_bigint
from sora_social.users.models import User


def _node_select(viewer_id: int | None) -> str:
    visible = _VISIBLE_TO_VIEWER if viewer_id is not None else _VISIBLE_TO_ANYONE
    state = (
        f"{_rule_on('p', _LIKED)}, {_rule_on('p', _FOLLOWS)}, {_rule_on('p', _FOLLOWED_BY)}"
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
SELECT w.pos, w.lvl, r.visible,
       {stand_in_columns("p")},
       {state},
       r.handle, r.display_name, r.avatar,
       v.thumbnail, v.duration_s, v.width, v.height,
       {featured_cameos_sql("p.id")},
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


def _read_nodes(
    cte: str, params: dict[str, Any], viewer_id: int | None
) -> tuple[PostRef | None, list[tuple[int, int, PostRef]], dict[int, PostRef]]:
    """The anchor post's ref (None if it does not exist), (pos, lvl, ref) for each row of the
    page, and refs of the parents and roots they credit.

    Rows become read-only stand-ins with a Post's attributes (SimpleNamespace), not model
    instances: building ~100 model instances was the largest cost of a page.
    """
    if any(isinstance(v, int) and not fits_bigint(v) for v in params.values()):
        # An id no row can have (the URL takes any digits): PostgreSQL would refuse the query.
        return None, [], {}
    with connection.cursor() as cursor:
        cursor.execute(cte + _node_select(viewer_id), {**params, "viewer": viewer_id})
        rows = cursor.fetchall()
    nodes: list[tuple[int, int, PostRef]] = []
    lineage: dict[int, PostRef] = {}
    anchor = None
    for row in rows:
        pos, lvl, visible = row[:3]
        post = stand_in_post(row[3:]) if visible else None
        pk, _, _, _, _, _, remix_of_id, root_id, depth, remix_count, descendant_count = row[3:14]
        if visible:
            credits = row[3 + STAND_IN_WIDTH :]
            if remix_of_id is not None and remix_of_id not in lineage:
                lineage[remix_of_id] = _credit_ref(remix_of_id, credits[0], credits[1:5])
            if root_id not in lineage:
                lineage[root_id] = _credit_ref(root_id, credits[5], credits[6:10])
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
            raise cursor_not_of_this_list()
        start = values[0]
    params = {"from_id": start, "limit": limit, "start": 1, "end": limit + 1, "anchor": post_id}
    post, nodes, lineage = _read_nodes(_ANCESTORS_CTE, params, _viewer_id(viewer))
    if post is None or not post.available:
        raise NotFound("post_not_found", "No such post.")
    page = [ref for _, _, ref in nodes]
    if cursor and page and (page[0].root_id != post.root_id or page[0].depth >= post.depth):
        # The cursor named a post that is not above this one.
        raise cursor_not_of_this_list()
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
        raise cursor_not_of_this_list() from exc
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
        raise NotFound("post_not_found", "No such post.")
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
