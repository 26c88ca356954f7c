"""Post embeddings (the real MiniLM) and steering in words, end to end."""

from __future__ import annotations

import numpy as np
import pytest

from feed.ranking import services, topics
from feed.ranking.models import PostEmbedding
from feed.ranking.selectors import unpack_vector
from feed.ranking.tasks import embeddings_backfill_task, post_embedding_compute_task
from tests.feed.factories import PostFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

ANIME = [
    "a girl with big eyes fighting demons, anime style",
    "studio ghibli style forest spirit at dusk",
    "shonen anime battle with glowing swords",
    "anime cat girl working in a tokyo cafe",
    "mecha robots clash in a neon anime city",
]
SPORTS = [
    "messi scores the winning goal in the final",
    "slow motion basketball dunk at the buzzer",
    "tennis match point at wimbledon",
    "marathon runners cross the finish line",
    "a surfer wins the world championship",
]


@pytest.fixture
def world():
    posts = {"anime": [], "sports": []}
    for label, captions in (("anime", ANIME), ("sports", SPORTS)):
        for caption in captions:
            posts[label].append(PostFactory(author=UserFactory(), caption=caption))
    assert embeddings_backfill_task(batch=50) == 10
    return posts


def test_posts_are_embedded_with_their_topic(world):
    rows = {e.post_id: e for e in PostEmbedding.objects.all()}
    for label in ("anime", "sports"):
        stored = [rows[p.pk].topic for p in world[label]]
        vectors = np.array([unpack_vector(rows[p.pk].vector) for p in world[label]])
        assert vectors.shape == (5, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-2)
        # The stored topic is the nearest label; MiniLM gets most captions right (a forest
        # spirit reads as "nature", a surfer as "ocean").
        assert stored == topics.nearest_topics(vectors).tolist()
        assert sum(topics.LABELS[t] == label for t in stored) >= 3
    assert rows[world["anime"][0].pk].author_seq == 1
    # Idempotent: unchanged text is not embedded again; a new caption is.
    assert post_embedding_compute_task(world["anime"][0].pk) == 0
    post = world["sports"][0]
    post.caption = "an anime girl plays football"
    post.save(update_fields=["caption"])
    assert services.post_embedding_compute(post_id=post.pk) == 1


def _positions(client) -> dict[int, dict]:
    body = client.get("/api/v1/feed/for-you", {"explain": 1, "limit": 20}).json()
    return {r["post"]["id"]: {"pos": i, **r["explain"]} for i, r in enumerate(body["results"])}


def test_steering_moves_the_ranking_the_way_the_words_say(client_for, world, django_capture_on_commit_callbacks):
    plain_viewer, steered_viewer = UserFactory(), UserFactory()
    plain = _positions(client_for(plain_viewer))

    client = client_for(steered_viewer)
    with django_capture_on_commit_callbacks() as callbacks:
        saved = client.put("/api/v1/feed/steering", {"text": "More anime, less sports please"}, format="json")
    assert saved.status_code == 200 and len(callbacks) == 2
    assert saved.json()["applied"] is False
    assert [(t["phrase"], t["direction"]) for t in saved.json()["terms"]] == [("anime", "more"), ("sports", "less")]
    services.steering_embed(user_id=steered_viewer.pk)  # what the task does on commit
    shown = client.get("/api/v1/feed/steering").json()
    assert shown["applied"] is True and shown["text"] == "More anime, less sports please"
    assert [t["topic"] for t in shown["terms"]] == ["anime", "sports"]

    steered = _positions(client)
    anime_ids = {p.pk for p in world["anime"]}
    sports_ids = {p.pk for p in world["sports"]}
    assert all(steered[i]["steer"] > 0 for i in anime_ids)
    assert all(steered[i]["steer"] < 0 for i in sports_ids)
    assert all(plain[i]["steer"] == 0 for i in anime_ids | sports_ids)

    def mean_pos(ranking, ids):
        return np.mean([ranking[i]["pos"] for i in ids])

    assert mean_pos(steered, anime_ids) < mean_pos(steered, sports_ids)
    assert mean_pos(steered, anime_ids) < mean_pos(plain, anime_ids)
    assert mean_pos(steered, sports_ids) > mean_pos(plain, sports_ids)
    assert max(steered[i]["pos"] for i in anime_ids) < min(steered[i]["pos"] for i in sports_ids)

    # Forgetting it puts the ranking back to neutral.
    assert client.delete("/api/v1/feed/steering").status_code == 204
    assert client.get("/api/v1/feed/steering").json() == {"text": "", "terms": [], "applied": False, "updated_at": None}


@pytest.mark.parametrize(
    ("text", "status", "code"),
    [
        ("", 400, "invalid"),
        ("   ", 422, "steering_empty"),
        ("please", 422, "steering_not_understood"),
        ("x" * 301, 400, "invalid"),
    ],
)
def test_steering_refusals(client_for, text, status, code):
    response = client_for(UserFactory()).put("/api/v1/feed/steering", {"text": text}, format="json")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_steering_service_refusals():
    from sora_social.common.errors import ApplicationError

    user = UserFactory()
    for text, code in (("  ", "steering_empty"), ("y" * 400, "steering_too_long"), ("the", "steering_not_understood")):
        with pytest.raises(ApplicationError) as exc:
            services.steering_set(user=user, text=text)
        assert exc.value.code == code
