"""The topic taxonomy: a few dozen labelled directions in the MiniLM embedding space.

Plain module (no Django). A post's topic is the label nearest its prompt embedding; topics
name what a creation nudge talks about ("you've watched five anime videos"), index the
"posts near what you create" candidate source, and seed the synthetic benchmark population.
The label vectors are computed once with the same model (`python -m feed.ranking.topics`) and
committed as `data/topics.npz` (48 KB), so the request path never loads the model.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

# (label, text embedded for it). The text is a short description: a bare word embeds poorly.
TOPICS: list[tuple[str, str]] = [
    ("anime", "anime characters, manga style animation from Japan"),
    ("sports", "sports match, football, basketball, athletes scoring goals"),
    ("cooking", "cooking food in a kitchen, recipes, chefs and dishes"),
    ("pets", "cute pets, dogs and cats playing"),
    ("wildlife", "wild animals in nature, lions, birds, wildlife documentary"),
    ("music", "music performance, singer on stage, band playing instruments"),
    ("dance", "people dancing, dance choreography and moves"),
    ("comedy", "funny comedy sketch, jokes and pranks"),
    ("gaming", "video games, gamers playing, pixel art game worlds"),
    ("travel", "travel to beautiful places, landscapes, mountains and beaches"),
    ("fashion", "fashion show, outfits, clothes and style"),
    ("scifi", "science fiction, spaceships, futuristic robots and cyberpunk cities"),
    ("fantasy", "fantasy world with dragons, wizards and magic castles"),
    ("horror", "horror scene, ghosts, monsters and scary dark places"),
    ("cars", "fast cars, racing, drifting and motorcycles"),
    ("space", "outer space, planets, astronauts and galaxies"),
    ("history", "historical scene, ancient Rome, medieval knights, old times"),
    ("art", "painting and drawing, artists making art, museums"),
    ("fitness", "fitness workout, gym training, yoga and running"),
    ("movies", "movie scene parody, cinematic film trailer"),
    ("kids", "children's cartoon, colorful characters for kids"),
    ("ocean", "ocean underwater, fish, whales, coral reefs and surfing"),
    ("cities", "city streets, skyscrapers, architecture and urban life at night"),
    ("tech", "technology gadgets, computers, phones and artificial intelligence"),
    ("science", "science experiments, chemistry, physics explained"),
    ("romance", "romantic couple, love story, wedding"),
    ("memes", "internet meme, absurd surreal viral joke"),
    ("superheroes", "superheroes with capes and superpowers saving the city"),
    ("weather", "storms, lightning, tornadoes, snow and extreme weather"),
    ("food_review", "tasting and reviewing street food and restaurants"),
    ("diy", "do it yourself crafts, building and fixing things at home"),
    ("nature", "calm nature, forests, flowers, rivers and sunsets"),
]
LABELS: list[str] = [label for label, _ in TOPICS]
DATA_PATH = Path(__file__).resolve().parent / "data" / "topics.npz"


def taxonomy_hash() -> str:
    return hashlib.sha256("\n".join(f"{label}\t{text}" for label, text in TOPICS).encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def topic_vectors() -> np.ndarray:
    """(len(TOPICS), 384) float32, L2-normalised; from the committed file."""
    with np.load(DATA_PATH) as data:
        if str(data["hash"]) != taxonomy_hash():
            raise RuntimeError(f"{DATA_PATH} is stale: run `python -m feed.ranking.topics` after editing TOPICS")
        vectors = data["vectors"].astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def nearest_topics(vectors: np.ndarray) -> np.ndarray:
    """Index of the nearest topic for each row of `vectors` (n, 384)."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.int16)
    return np.argmax(vectors @ topic_vectors().T, axis=1).astype(np.int16)


def topic_coordinates(vectors: np.ndarray) -> np.ndarray:
    """Each vector as its (centred, unit-length) cosines to the topics: a 32-d view in which
    posts of one topic are close and others far — what topic diversity needs, at a twelfth of
    the cost of comparing 384-d vectors. Zero rows (no embedding) stay zero."""
    if len(vectors) == 0:
        return np.zeros((0, len(TOPICS)), dtype=np.float32)
    coords = np.asarray(vectors, dtype=np.float32) @ topic_vectors().T
    known = np.any(vectors != 0, axis=1)
    coords -= coords.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(coords, axis=1, keepdims=True)
    coords = np.divide(coords, norms, out=np.zeros_like(coords), where=norms > 0)
    coords[~known] = 0.0
    return coords


def build() -> Path:
    """Embed the taxonomy with the bundled MiniLM and write `data/topics.npz`."""
    from sora_social.common.embeddings import embed_texts

    vectors = embed_texts([text for _, text in TOPICS])
    DATA_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(DATA_PATH, vectors=vectors.astype(np.float16), labels=np.array(LABELS), hash=taxonomy_hash())
    return DATA_PATH


if __name__ == "__main__":
    print(build())
