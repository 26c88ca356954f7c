"""Remix lineage: root, depth, counts and acyclicity hold for any shape of tree.

Hypothesis builds random trees (each new post remixes a random earlier one, or starts a new
tree), deletes some posts, and checks every invariant against the rows themselves.
"""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feed import services
from feed.models import Post
from tests.feed.factories import PostFactory
from tests.generation.factories import VideoFactory
from tests.users.factories import UserFactory


def _check_invariants(post_ids: list[int]) -> None:
    posts = {p.pk: p for p in Post.objects.filter(pk__in=post_ids)}
    children: dict[int, list[int]] = {pk: [] for pk in posts}
    for p in posts.values():
        if p.remix_of_id is not None:
            children[p.remix_of_id].append(p.pk)
    for p in posts.values():
        # Walk up: must end at a root within depth steps (no cycles), and that root is p.root.
        seen, node, steps = set(), p, 0
        while node.remix_of_id is not None:
            assert node.pk not in seen, "cycle"
            seen.add(node.pk)
            node = posts[node.remix_of_id]
            steps += 1
        assert steps == p.depth
        assert node.pk == p.root_id
        if p.remix_of_id is None:
            assert p.depth == 0 and p.root_id == p.pk
        else:
            parent = posts[p.remix_of_id]
            assert p.root_id == parent.root_id
            assert p.depth == parent.depth + 1
        # Counters match the rows (deleted remixes keep their place, so they count).
        assert p.remix_count == len(children[p.pk])

        def size(pk: int) -> int:
            return sum(1 + size(c) for c in children[pk])

        assert p.descendant_count == size(p.pk)


tree_plans = st.lists(
    st.one_of(st.none(), st.integers(min_value=0, max_value=10_000)),  # None = new root, n = remix of post n % len
    min_size=1,
    max_size=25,
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=tree_plans, deletions=st.lists(st.integers(min_value=0, max_value=10_000), max_size=5))
def test_lineage_invariants_hold_for_any_tree(plan, deletions):
    author = UserFactory()
    made: list[Post] = []
    for step in plan:
        if step is None or not made:
            made.append(PostFactory(author=author))
        else:
            made.append(PostFactory(author=author, remix_of=made[step % len(made)]))
    for index in deletions:
        services.post_delete(post=made[index % len(made)], by=author)
    _check_invariants([p.pk for p in made])
    # Deleting never changes lineage: a remix of a deleted post is still below it.
    for p in made:
        fresh = Post.objects.get(pk=p.pk)
        assert (fresh.remix_of_id, fresh.root_id, fresh.depth) == (p.remix_of_id, p.root_id, p.depth)


@pytest.mark.django_db
def test_the_database_refuses_an_inconsistent_lineage():
    from django.db import IntegrityError, transaction

    root = PostFactory()
    remix = PostFactory(remix_of=root)
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.objects.filter(pk=remix.pk).update(depth=0)  # a remix at depth 0
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.objects.filter(pk=root.pk).update(remix_of=root)  # its own parent


@pytest.mark.django_db(transaction=True)
def test_concurrent_remixes_of_one_post_lose_no_count():
    root = PostFactory()
    middle = PostFactory(remix_of=root)
    authors = [UserFactory() for _ in range(8)]
    videos = [VideoFactory(created_by=a) for a in authors]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(authors))

    def remix(i: int) -> None:
        try:
            barrier.wait()
            services.post_create(author=authors[i], video=videos[i], remix_of=middle if i % 2 else root)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=remix, args=(i,)) for i in range(len(authors))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_old_connections()
    assert not errors
    _check_invariants(list(Post.objects.values_list("pk", flat=True)))
    root.refresh_from_db()
    middle.refresh_from_db()
    assert root.remix_count == 1 + 4 and root.descendant_count == 1 + 8
    assert middle.remix_count == 4 and middle.descendant_count == 4
