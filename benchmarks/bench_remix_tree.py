"""Time to read one page of a 10,000-node remix tree (target: 20 ms), and one page of a chain up.

Seeds a throw-away database (`<db>_bench_tree`, dropped afterwards) with three 10,000-node
trees: one grown the way remix chains grow (popular branches attract remixes, runs of
remixes-of-remixes go deep) — the headline numbers — and the two extremes, one straight chain
(depth 9,999) and one star (9,999 remixes of the root). Some posts are private or deleted so
placeholders are exercised. Every page of each tree is read in turn, following next_cursor,
through the real view in-process (auth, selector, serialization, JSON), and some through the
selector alone.

    .venv/bin/python -m benchmarks.run_all remix_tree
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import bench_database_env

ROOT = Path(__file__).resolve().parents[1]
NODES = 10_000
SHAPES = ("realistic", "chain", "star")
PAGE = 20
SEED = 20261122


def main() -> None:
    """Fresh database, measure in a child process (its own Django settings), drop the database."""
    from sora_social.demo.database import migrate, recreate_database

    env = bench_database_env("_bench_tree")
    print(f"[remix_tree] preparing {env['DATABASE_URL'].rsplit('/', 1)[-1]} ...", flush=True)
    recreate_database(env["DATABASE_URL"])
    try:
        migrate(env)
        subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_remix_tree", "--measure"], cwd=ROOT, env=env, check=True
        )
    finally:
        _drop(env["DATABASE_URL"])


def _drop(url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parts.path.lstrip("/"))))


def _grow_tree(rng: random.Random, n: int, shape: str) -> list[int | None]:
    """Parent index (None for the root) of each of `n` nodes.

    realistic: popular branches attract remixes (preferential attachment) and runs of
    remixes-of-remixes go deep; chain: every post remixes the one before (depth n-1); star:
    every post remixes the root (one node with n-1 children). The last two are the extremes
    of the walk's cost: depth to descend, and siblings to step over.
    """
    if shape == "chain":
        return [None, *range(n - 1)]
    if shape == "star":
        return [None] + [0] * (n - 1)
    parents: list[int | None] = [None]
    popular: list[int] = [0]  # one entry per (1 + direct remixes): preferential attachment
    for i in range(1, n):
        if rng.random() < 0.5:
            parent = rng.choice(popular)
        else:
            parent = rng.randrange(max(0, i - 40), i)  # a run of remixes of recent remixes
        parents.append(parent)
        popular.extend([parent, i])
    return parents


def _seed_tree(rng: random.Random, parents: list[int | None], base_id: int, users: list, video) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    n = len(parents)
    depths = [0] * n
    for i in range(1, n):
        depths[i] = depths[parents[i]] + 1
    descendants = [0] * n
    direct = [0] * n
    for i in range(n - 1, 0, -1):
        p = parents[i]
        direct[p] += 1
        descendants[p] += 1 + descendants[i]
    now = timezone.now()
    columns = (
        "id, author_id, video_id, caption, visibility, remix_permission, remix_of_id, root_id, depth, "
        "remix_count, descendant_count, like_count, comment_count, share_count, created_at, deleted_at, "
        "delete_kind, delete_reason, deleted_by_id, age_restricted"
    )
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY feed_post ({columns}) FROM STDIN") as copy,
    ):
        for i in range(n):
            roll = rng.random()
            visibility = "private" if roll < 0.03 else "followers" if roll < 0.08 else "public"
            deleted = i and rng.random() < 0.03  # some deleted posts: placeholders on the page
            copy.write_row(
                (
                    base_id + i,
                    users[rng.randrange(len(users))].pk,
                    video.pk,
                    f"remix {i}",
                    visibility,
                    "anyone",
                    None if parents[i] is None else base_id + parents[i],
                    base_id,
                    depths[i],
                    direct[i],
                    descendants[i],
                    0,
                    0,
                    0,
                    now,
                    now if deleted else None,
                    "author" if deleted else "",
                    "",
                    None,
                    False,
                )
            )
    return {"root_id": base_id, "max_depth": max(depths), "root_direct_remixes": direct[0]}


def _seed() -> dict:
    from django.db import connection

    from feed.models import Post
    from generation.models import Video
    from sora_social.users.models import User

    rng = random.Random(SEED)
    users = [User.objects.create_user(f"bench{i}", password=None, display_name=f"Bench {i}") for i in range(50)]
    viewer = User.objects.create_user("viewer", password=None)
    video = Video.objects.create(
        created_by=users[0],
        file="bench/clip.mp4",
        size_bytes=1,
        sha256="0" * 64,
        duration_s=4.0,
        width=720,
        height=1280,
        frame_count=96,
        fps=24.0,
    )
    trees = {}
    for index, shape in enumerate(SHAPES):
        trees[shape] = _seed_tree(rng, _grow_tree(rng, NODES, shape), 1 + index * NODES, users, video)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('feed_post', 'id'), (SELECT max(id) FROM feed_post))")
        cursor.execute("ANALYZE")  # a live database has statistics; a freshly seeded one must be told
    for tree in trees.values():
        assert Post.objects.get(pk=tree["root_id"]).descendant_count == NODES - 1
    return {"viewer": viewer, "trees": trees}


def _timed(client, url: str, params: dict) -> float:
    t0 = time.perf_counter()
    response = client.get(url, params)
    elapsed = (time.perf_counter() - t0) * 1000
    assert response.status_code == 200, response.content[:300]
    return elapsed


def _measure() -> None:
    from benchmarks.common import django_setup, percentile, write_result

    django_setup()
    from rest_framework.test import APIClient

    from feed import selectors
    from feed.models import Post
    from sora_social.users.services import token_issue

    started = time.monotonic()
    seeded = _seed()
    seed_s = time.monotonic() - started
    viewer = seeded["viewer"]
    _, secret = token_issue(user=viewer, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    metrics: dict[str, float] = {"seed_s": round(seed_s, 2)}
    units: dict[str, str] = {"seed_s": "s"}
    params: dict = {
        "nodes_per_tree": NODES,
        "page_size": PAGE,
        "path": "GET /api/v1/posts/{root}/remixes (every page, following next_cursor) and /chain,"
        " in-process: auth, view, JSON",
        "target": "tree page <= 20 ms",
        "shapes": {},
    }
    for shape, tree in seeded["trees"].items():
        root_id = tree["root_id"]
        url = f"/api/v1/posts/{root_id}/remixes"
        for _ in range(10):  # warm caches and connections
            client.get(url, {"limit": PAGE})
        # Every page of the tree, each read with the cursor the previous page handed out, as a
        # client scrolling the whole tree would.
        api_ms, rows_seen, pages, cursor = [], 0, 0, None
        while True:
            query = {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
            t0 = time.perf_counter()
            response = client.get(url, query)
            api_ms.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.content[:300]
            body = response.json()
            rows_seen += len(body["results"])
            pages += 1
            cursor = body["next_cursor"]
            if not cursor:
                break
        first_ms = [_timed(client, url, {"limit": PAGE}) for _ in range(30)]
        selector_ms, cursor = [], None
        for _ in range(100):
            t0 = time.perf_counter()
            _, cursor, _ = selectors.remix_tree_page(viewer=viewer, post_id=root_id, cursor=cursor, limit=PAGE)
            selector_ms.append((time.perf_counter() - t0) * 1000)
        # The chain up from the deepest post of the tree.
        deepest = Post.objects.filter(root_id=root_id).order_by("-depth", "id").values_list("pk", flat=True).first()
        chain_ms = [_timed(client, f"/api/v1/posts/{deepest}/chain", {"limit": PAGE}) for _ in range(50)]
        prefix = "tree" if shape == "realistic" else f"{shape}_tree"
        chain_prefix = "chain_up" if shape == "realistic" else f"{shape}_chain_up"
        for name, value in {
            f"{prefix}_page_p50_ms": statistics.median(api_ms),
            f"{prefix}_page_p95_ms": percentile(api_ms, 95),
            f"{prefix}_page_max_ms": max(api_ms),
            f"{prefix}_first_page_p50_ms": statistics.median(first_ms),
            f"{prefix}_page_selector_p50_ms": statistics.median(selector_ms),
            f"{chain_prefix}_page_p50_ms": statistics.median(chain_ms),
        }.items():
            metrics[name] = round(value, 2)
            units[name] = "ms"
        metrics[f"{prefix}_pages_read"] = pages
        units[f"{prefix}_pages_read"] = "pages"
        metrics[f"{prefix}_rows_read"] = rows_seen
        units[f"{prefix}_rows_read"] = "rows"
        params["shapes"][shape] = {k: v for k, v in tree.items() if k != "root_id"}
        print(f"[remix_tree] {shape}: {pages} pages, p50 {statistics.median(api_ms):.1f} ms", flush=True)
    params["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = write_result("remix_tree", params=params, metrics=metrics, units=units)
    print(f"[remix_tree] {metrics} -> {path}", flush=True)


if __name__ == "__main__":
    if "--measure" in sys.argv:
        _measure()
    else:
        main()
