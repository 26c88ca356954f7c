"""The space-time transformer: patches, shapes, conditioning."""

from __future__ import annotations

import pytest
import torch

from generation.video_model.model import ModelConfig, STDiT, count_parameters, patchify, unpatchify


def test_patchify_round_trip_and_token_count():
    cfg = ModelConfig()
    video = torch.randn(2, cfg.frames, cfg.size, cfg.size, 3)
    tokens = patchify(video, cfg)
    assert tokens.shape == (2, cfg.tokens, cfg.patch_dim)
    assert torch.equal(unpatchify(tokens, cfg), video)
    # A token is one space-time cuboid: patch_t frames x patch_hw x patch_hw pixels.
    assert torch.equal(tokens[0, 0].reshape(cfg.patch_t, cfg.patch_hw, cfg.patch_hw, 3), video[0, :4, :4, :4])


@pytest.mark.parametrize("attention", ["full", "factorized"])
def test_forward_shapes_with_every_conditioning(attention):
    cfg = ModelConfig(dim=32, depth=2, heads=2, attention=attention)
    model = STDiT(cfg)
    b = 3
    x = torch.randn(b, cfg.frames, cfg.size, cfg.size, 3)
    refs = torch.randn(b, 2, cfg.ref_size, cfg.ref_size, 3)
    clean = torch.zeros(b, cfg.grid[0], dtype=torch.bool)
    clean[0, :2] = True
    out = model(x, torch.rand(b), torch.randn(b, 384), refs, torch.tensor([0, 1, 2]), clean)
    assert out.shape == x.shape
    assert model(x, torch.rand(b), torch.randn(b, 384), refs, torch.tensor([0, 1, 2])).shape == x.shape


def test_shipped_size_fits_the_checkpoint_budget():
    # fp16 weights must stay under 25 MB.
    assert count_parameters(STDiT(ModelConfig())) * 2 < 25e6
