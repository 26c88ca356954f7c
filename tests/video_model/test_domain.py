"""The demo model's caption matrix: captions drawn as training draws them, nearest-caption similarity."""

from __future__ import annotations

import numpy as np

from generation.video_model import data, domain


def test_sampled_captions_are_training_captions_distinct_and_reproducible():
    captions = domain.sample_captions(60, seed=5)
    assert len(captions) == len(set(captions)) == 60
    assert captions == domain.sample_captions(60, seed=5)
    assert captions != domain.sample_captions(60, seed=6)
    table = {c for key in data.all_caption_keys() for c in data.captions_for_key(key, limit=data.caption_limit(key))}
    assert set(captions) <= table
    held_out = domain.sample_captions(40, seed=6, exclude=set(captions))
    assert not set(held_out) & set(captions)


def test_nearest_similarity_is_the_best_cosine_and_the_matrix_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(50, 384)).astype(np.float32)
    matrix = domain.build_matrix([str(i) for i in range(50)], lambda texts: rows[[int(t) for t in texts]], batch=16)
    assert matrix.dtype == np.float16 and matrix.shape == (50, 384)
    path = tmp_path / "m.npy"
    domain.save_matrix(matrix, {"captions": 50}, path=path, meta_path=tmp_path / "m.json")
    loaded = domain.load_matrix(str(path))
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    assert np.allclose(domain.nearest_similarity(unit[:3], loaded), 1.0, atol=2e-3)
    query = rng.normal(size=384).astype(np.float32)
    query /= np.linalg.norm(query)
    assert np.isclose(domain.nearest_similarity(query, loaded)[0], (unit @ query).max(), atol=2e-3)


def test_the_committed_matrix_loads():
    matrix = domain.load_matrix()
    assert matrix.shape == (domain.DEFAULT_CAPTIONS, 384)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)
