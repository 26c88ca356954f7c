"""Walking a remix chain up (ancestors) and down (the tree, paged, most-remixed first)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feed import services
from feed.models import Post
from feed.serializers import ChainNodeOutputSerializer, TreeNodeOutputSerializer
from tests.feed.factories import PostFactory, remix_chain
from tests.feed.shapes import assert_shape
from tests.users.factories import BlockFactory, UserFactory

pytestmark = pytest.mark.django_db


def _all_pages(client, url: str, limit: int) -> list[dict]:
    rows, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        body = response.json()
        rows.extend(body["results"])
        cursor = body["next_cursor"]
        pages += 1
        assert pages < 1000
        if not cursor:
            return rows


def _expected_preorder(anchor: Post) -> list[tuple[int, int]]:
    """(id, level) of every post below `anchor`: pre-order, children by descendant count
    (desc) then id, computed from the rows in Python."""
    rows = list(Post.objects.filter(root_id=anchor.root_id).values("id", "remix_of_id", "descendant_count"))
    kids: dict[int, list[dict]] = {}
    for r in rows:
        kids.setdefault(r["remix_of_id"], []).append(r)
    out: list[tuple[int, int]] = []

    def visit(pk: int, level: int) -> None:
        for child in sorted(kids.get(pk, []), key=lambda r: (-r["descendant_count"], r["id"])):
            out.append((child["id"], level))
            visit(child["id"], level + 1)

    visit(anchor.pk, 1)
    return out


def test_chain_up_credits_every_ancestor_and_pages(client_for):
    chain = remix_chain(7)
    viewer = client_for(UserFactory())
    rows = _all_pages(viewer, f"/api/v1/posts/{chain[-1].pk}/chain", limit=2)
    assert [r["id"] for r in rows] == [p.pk for p in reversed(chain[:-1])]
    assert rows[-1]["parent_id"] is None and rows[-1]["depth"] == 0
    for row in rows:
        assert_shape(ChainNodeOutputSerializer, row)
    leaf = viewer.get(f"/api/v1/posts/{chain[-1].pk}").json()
    assert leaf["remix_of"]["id"] == chain[-2].pk and leaf["remix_of"]["available"]
    assert leaf["root"]["id"] == chain[0].pk and leaf["root"]["author"]["handle"] == chain[0].author.handle


def test_a_deleted_parent_keeps_its_place_as_a_placeholder(client_for):
    root, middle, leaf = remix_chain(3)
    services.post_delete(post=middle, by=middle.author)
    viewer = client_for(UserFactory())
    assert viewer.get(f"/api/v1/posts/{middle.pk}").status_code == 404
    chain = viewer.get(f"/api/v1/posts/{leaf.pk}/chain").json()["results"]
    assert [(r["id"], r["available"]) for r in chain] == [(middle.pk, False), (root.pk, True)]
    assert chain[0]["post"] is None and chain[0]["parent_id"] == root.pk
    detail = viewer.get(f"/api/v1/posts/{leaf.pk}").json()
    assert detail["remix_of"] == {"id": middle.pk, "available": False, "author": None}
    assert detail["root"]["available"] is True
    tree = viewer.get(f"/api/v1/posts/{root.pk}/remixes").json()["results"]
    assert [(r["id"], r["available"], r["level"]) for r in tree] == [(middle.pk, False, 1), (leaf.pk, True, 2)]


def test_tree_pages_are_preorder_most_remixed_first(client_for):
    rng = random.Random(4)
    author = UserFactory()
    root = PostFactory(author=author)
    posts = [root]
    for _ in range(60):
        # Preferential attachment: popular branches get more remixes, like real chains.
        weights = [1 + p.descendant_count for p in posts]
        parent = rng.choices(posts, weights=weights)[0]
        posts.append(PostFactory(author=author, remix_of=parent))
        for p in posts:
            p.refresh_from_db(fields=["descendant_count"])
    root.refresh_from_db()
    client = client_for(UserFactory())
    rows = _all_pages(client, f"/api/v1/posts/{root.pk}/remixes", limit=7)
    assert [(r["id"], r["level"]) for r in rows] == _expected_preorder(root)
    assert [r["position"] for r in rows] == list(range(1, 61))
    for row in rows[:3]:
        assert_shape(TreeNodeOutputSerializer, row)
    # A subtree pages the same way from its own anchor.
    branch = Post.objects.filter(remix_of=root).order_by("-descendant_count", "id").first()
    sub = _all_pages(client, f"/api/v1/posts/{branch.pk}/remixes", limit=5)
    assert [(r["id"], r["level"]) for r in sub] == _expected_preorder(branch)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parents=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=30),
    limit=st.integers(min_value=1, max_value=9),
)
def test_tree_paging_matches_preorder_for_any_tree(client_for, parents, limit):
    author = UserFactory()
    posts = [PostFactory(author=author)]
    for n in parents:
        posts.append(PostFactory(author=author, remix_of=posts[n % len(posts)]))
    anchor = Post.objects.get(pk=posts[0].pk)
    rows = _all_pages(client_for(author), f"/api/v1/posts/{anchor.pk}/remixes", limit=limit)
    assert [(r["id"], r["level"]) for r in rows] == _expected_preorder(anchor)


def test_hidden_leaves_are_left_out_and_hidden_branches_kept(client_for):
    viewer_user = UserFactory()
    blocker = UserFactory()
    BlockFactory(blocker=blocker, blocked=viewer_user)
    root = PostFactory()
    hidden_leaf = PostFactory(author=blocker, remix_of=root)
    hidden_branch = PostFactory(author=blocker, remix_of=root)
    below = PostFactory(remix_of=hidden_branch)
    rows = client_for(viewer_user).get(f"/api/v1/posts/{root.pk}/remixes").json()["results"]
    ids = [(r["id"], r["available"]) for r in rows]
    assert (hidden_leaf.pk, False) not in ids and hidden_leaf.pk not in [r["id"] for r in rows]
    assert ids == [(hidden_branch.pk, False), (below.pk, True)]
    placeholder = rows[0]
    assert placeholder["post"] is None  # nothing of the blocked author shows


def test_chain_pages_take_a_fixed_number_of_queries(client_for, django_assert_num_queries):
    from tests.cameos.factories import CameoFactory

    author = UserFactory()
    chain = remix_chain(12, author=author, cameos=[CameoFactory(owner=author)])
    client = client_for(UserFactory())
    client.get(f"/api/v1/posts/{chain[-1].pk}/chain")  # warm the token's last_used_at
    # auth, then one statement for the page (walk, rows, cameos, credits, the post itself)
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/posts/{chain[-1].pk}/chain", {"limit": 10})
    rows = response.json()["results"]
    assert len(rows) == 10 and all(len(r["post"]["cameos"]) == 1 for r in rows)
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/posts/{chain[0].pk}/remixes", {"limit": 10})
    rows = response.json()["results"]
    assert len(rows) == 10 and rows[0]["post"]["root"]["author"]["handle"] == author.handle


def test_a_forged_cursor_is_refused(client_for):
    a = remix_chain(3)
    b = remix_chain(3)
    from sora_social.common.pagination import encode_cursor

    client = client_for(UserFactory())
    response = client.get(f"/api/v1/posts/{a[-1].pk}/chain", {"cursor": encode_cursor([b[-1].pk])})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_cursor"
    assert client.get(f"/api/v1/posts/{a[0].pk}/remixes", {"cursor": "garbage!"}).status_code == 422
    # A tree cursor is bound to the post it was issued for.
    other_cursor = client.get(f"/api/v1/posts/{b[0].pk}/remixes", {"limit": 1}).json()["next_cursor"]
    refused = client.get(f"/api/v1/posts/{a[0].pk}/remixes", {"cursor": other_cursor})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_cursor"


def test_a_long_chain_pages_from_the_last_post_seen(client_for):
    chain = remix_chain(45)
    rows = _all_pages(client_for(UserFactory()), f"/api/v1/posts/{chain[0].pk}/remixes", limit=10)
    assert [r["id"] for r in rows] == [p.pk for p in chain[1:]]
    assert [r["level"] for r in rows] == list(range(1, 45))


def test_a_post_id_beyond_any_row_is_not_found(client_for):
    """The URL takes any digits; the chain's own SQL got one past bigint and answered 500
    (schemathesis: /posts/8158880768765098721280/chain)."""
    api = client_for(UserFactory())
    for path in ("chain", "remixes"):
        response = api.get(f"/api/v1/posts/{2**63}/{path}")
        assert (response.status_code, response.json()["error"]["code"]) == (404, "post_not_found"), path
