"""Fixtures for the video model's tests: tiny models and a text encoder stand-in (no MiniLM)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from generation.video_model.model import ModelConfig, STDiT
from generation.video_model.pipeline import VideoModelPipeline

TINY = ModelConfig(dim=32, depth=1, heads=2)


def fake_embed(texts: list[str]) -> np.ndarray:
    """A deterministic unit vector per text (stands in for the 12-second MiniLM load)."""
    out = []
    for text in texts:
        seed = int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)
        v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
        out.append(v / np.linalg.norm(v))
    return np.stack(out)


@pytest.fixture(scope="module")
def tiny_pipe() -> VideoModelPipeline:
    torch.manual_seed(0)
    model = STDiT(TINY)
    # Give the zero-initialised output layers some weight so samples depend on every input.
    with torch.no_grad():
        for p in model.parameters():
            if p.abs().sum() == 0 and p.ndim > 1:
                p.normal_(0, 0.02)
    pipe = VideoModelPipeline(model, name="tiny-test")
    pipe.embed_fn = fake_embed
    return pipe
