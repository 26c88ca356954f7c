"""A post as a chain or a credit shows it: the post itself (or a read-only stand-in with a
Post's attributes) if the viewer may see it, else a placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from feed.models import Post
from feed.selectors.visibility import _TABLES


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


# --- read-only stand-ins --------------------------------------------------------------------
#
# The page and chain statements return posts as rows, not model instances (building ~100 model
# instances was the largest cost of a page). Both select the same columns, in this order:
# the post's own (`stand_in_columns`), the viewer's state (liked, follows the author, followed
# by the author), the author's handle, display name and avatar, the video's thumbnail,
# duration, width and height, and the featured cameos (`featured_cameos_sql`).

_POST_COLUMNS = (
    "id", "author_id", "video_id", "caption", "visibility", "remix_permission", "remix_of_id", "root_id", "depth",
    "remix_count", "descendant_count", "like_count", "comment_count", "share_count", "created_at",
)  # fmt: skip
STAND_IN_WIDTH = len(_POST_COLUMNS) + 11  # how many columns of a row `stand_in_post` reads


def stand_in_columns(alias: str) -> str:
    """The post's own columns of a stand-in, on the table alias `alias`."""
    return ", ".join(f"{alias}.{name}" for name in _POST_COLUMNS)


def featured_cameos_sql(post_id: str) -> str:
    """The cameos featured in the post whose id is the SQL expression `post_id`, as one JSON
    array of (id, name, display name, owner's handle), in the order they were added."""
    return f"""(SELECT json_agg(json_build_array(c.id, c.name, c.display_name, o.handle) ORDER BY pc.id)
          FROM {_TABLES["post_cameo"]} pc JOIN {_TABLES["cameo"]} c ON c.id = pc.cameo_id
          JOIN {_TABLES["user"]} o ON o.id = c.owner_id
         WHERE pc.post_id = {post_id})"""


def stand_in_post(columns: tuple) -> SimpleNamespace:
    """A read-only stand-in with the attributes of a Post that feed.serializers.post_data
    reads, from the `STAND_IN_WIDTH` columns described above."""
    (pk, author_id, video_id, caption, visibility, remix_permission, remix_of_id, root_id, depth,
     remix_count, descendant_count, like_count, comment_count, share_count, created_at) = columns[:15]  # fmt: skip
    liked, follows, followed_by, handle, display_name, avatar = columns[15:21]
    thumbnail, duration_s, width, height, cameos = columns[21:26]
    return SimpleNamespace(
        pk=pk,
        id=pk,
        author_id=author_id,
        author=SimpleNamespace(pk=author_id, id=author_id, handle=handle, display_name=display_name, avatar=avatar),
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
