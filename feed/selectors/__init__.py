"""Reads of posts, chains, comments and likes, with visibility decided in one place.

One module a subject:
- `visibility`: THE rule (`visible_posts_q`, and `visibility_sql` for hand-written statements);
- `posts`: a post or a list of posts as a viewer may see them, remix rights, credits;
- `refs`: a post as a chain or a credit shows it (`PostRef`, read-only stand-ins);
- `page`: a feed page of posts in one prepared statement (`posts_page`, `prepared_cursor`);
- `chains`: walking a remix chain up (`chain_ancestors_page`) and down (`remix_tree_page`);
- `comments`: comments and likes.

The names other apps read are re-exported here, so `from feed import selectors` stays the
feed app's one read interface.
"""

from feed.selectors.chains import TreeNode, chain_ancestors_page, remix_tree_page
from feed.selectors.comments import comment_get_visible, comment_replies, comments_of_post, likes_of_post
from feed.selectors.page import PagePosts, id_array, posts_page, prepared_cursor
from feed.selectors.posts import (
    cameos_by_ids,
    lineage_refs,
    post_get_for_remix,
    post_get_visible,
    post_is_visible,
    posts_following,
    posts_latest,
    posts_of_author,
    posts_visible_to,
    viewer_may_remix,
    visible_post_ids,
)
from feed.selectors.refs import PostRef
from feed.selectors.visibility import live_posts_q, visibility_sql, visible_posts_q, with_viewer_state

__all__ = [
    "PagePosts",
    "PostRef",
    "TreeNode",
    "cameos_by_ids",
    "chain_ancestors_page",
    "comment_get_visible",
    "comment_replies",
    "comments_of_post",
    "id_array",
    "likes_of_post",
    "lineage_refs",
    "live_posts_q",
    "post_get_for_remix",
    "post_get_visible",
    "post_is_visible",
    "posts_following",
    "posts_latest",
    "posts_of_author",
    "posts_page",
    "posts_visible_to",
    "prepared_cursor",
    "remix_tree_page",
    "viewer_may_remix",
    "visibility_sql",
    "visible_post_ids",
    "visible_posts_q",
    "with_viewer_state",
]
