"""Training: a short run's loss falls; checkpoints resume; the export is small."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from generation.video_model import data, training
from generation.video_model.model import ModelConfig, STDiT
from tests.video_model.conftest import TINY, fake_embed


@pytest.mark.parametrize("loss_kind", ["velocity", "x0"])
def test_twenty_steps_of_training_lower_the_loss(loss_kind):
    torch.manual_seed(0)
    model = STDiT(TINY)
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3)
    rng = np.random.default_rng(0)
    examples = [data.sample_example(rng) for _ in range(8)]
    video = torch.from_numpy(np.stack([e.video for e in examples]))
    text = torch.from_numpy(fake_embed([e.caption for e in examples]))
    refs = torch.from_numpy(np.stack([e.refs for e in examples]))
    n_refs = torch.tensor([e.n_refs for e in examples])
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(20):
        loss = training.flow_loss(model, video, text, refs, n_refs, generator, loss=loss_kind)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def test_an_unknown_loss_is_refused():
    rng = np.random.default_rng(0)
    example = data.sample_example(rng)
    with pytest.raises(ValueError, match="unknown loss"):
        training.flow_loss(
            STDiT(TINY),
            torch.from_numpy(example.video[None]),
            torch.from_numpy(fake_embed([example.caption])),
            torch.from_numpy(example.refs[None]),
            torch.tensor([example.n_refs]),
            torch.Generator().manual_seed(0),
            loss="l1",
        )


@pytest.fixture
def small_captions(monkeypatch):
    """Caption table and embeddings without MiniLM: every key gets its own fake vectors."""
    monkeypatch.setattr(
        training, "embed_captions", lambda caps, cache_dir, progress=print: dict(zip(caps, fake_embed(caps)))
    )
    table = {}
    rng = np.random.default_rng(0)
    for _ in range(64):
        key = data.sample_example(rng).key
        table[key] = data.captions_for_key(key, limit=2)

    class Table(dict):
        def __missing__(self, key):  # keys the tiny run draws that the sample above missed
            self[key] = data.captions_for_key(key, limit=2)
            return self[key]

    monkeypatch.setattr(training, "caption_table", lambda: Table(table))
    # Embeddings are looked up by caption; compute missing ones on the fly for the test.
    monkeypatch.setattr(training, "ClipStream", _LazyStream)


class _LazyStream(training.ClipStream):
    def __init__(self, config, captions, embeddings, **kw):
        super().__init__(config, captions, _LazyEmbeddings(embeddings), **kw)


class _LazyEmbeddings(dict):
    def __missing__(self, caption):
        self[caption] = fake_embed([caption])[0]
        return self[caption]


def test_train_checkpoints_resumes_and_exports(tmp_path, small_captions):
    config = training.TrainConfig(steps=4, batch=2, checkpoint_every=2, warmup=1)
    export = tmp_path / "weights.pt"
    small = ModelConfig(dim=32, depth=1, heads=2)
    summary = training.train(
        config, workdir=tmp_path / "run", model_config=small, export_to=export, say=lambda s: None, show_progress=False
    )
    assert summary["steps"] == 4 and (tmp_path / "run" / "checkpoint.pt").exists()
    config.steps = 6
    again = training.train(
        config, workdir=tmp_path / "run", model_config=small, resume=True, say=lambda s: None, show_progress=False
    )
    assert again["steps"] == 6 and len(again["losses"]) <= 2
    model = training.load_weights(export)
    assert model.config.dim == 32
    blob = torch.load(export, weights_only=False)
    assert all(v.dtype == torch.float16 for v in blob["state"].values() if v.is_floating_point())


def test_a_run_can_start_from_shipped_style_weights(tmp_path, small_captions):
    small = ModelConfig(dim=32, depth=1, heads=2)
    first = tmp_path / "first.pt"
    config = training.TrainConfig(steps=3, batch=2, checkpoint_every=3, warmup=1)
    training.train(
        config, workdir=tmp_path / "a", model_config=small, export_to=first, say=lambda s: None, show_progress=False
    )
    start = training.load_weights(first)

    tuned = tmp_path / "tuned.pt"
    config = training.TrainConfig(steps=2, batch=2, checkpoint_every=2, warmup=1, lr=0.0)
    lines: list[str] = []
    training.train(
        config, workdir=tmp_path / "b", init_from=first, export_to=tuned, say=lines.append, show_progress=False
    )
    assert any("trained 3 steps" in line for line in lines)
    blob = torch.load(tuned, weights_only=False)
    assert blob["step"] == 3 + 2  # the export counts the steps the starting weights held
    # At lr 0 the weights cannot move: the run really started from the given ones (fp16 round trip).
    after = training.load_weights(tuned)
    for name, value in start.state_dict().items():
        assert torch.allclose(after.state_dict()[name], value, atol=1e-3), name


def test_motion_boost_is_parsed_and_bad_values_are_refused():
    import argparse

    assert training.parse_motion_boost("drop=1.6, throw=1.2") == {"drop": 1.6, "throw": 1.2}
    assert training.parse_motion_boost("") == {}
    for bad in ("fly=2", "drop=x", "drop=-1", "drop=50"):
        with pytest.raises(argparse.ArgumentTypeError):
            training.parse_motion_boost(bad)
    args = training.build_parser().parse_args(["--motion-boost", "drop=2", "--steps", "1"])
    assert args.motion_boost == {"drop": 2.0}


def test_a_motion_boost_changes_what_the_stream_draws():
    class RecordingTable(dict):
        """Caption keys as the stream asks for them (the key's first part is the motion)."""

        drawn: list[str]

        def __getitem__(self, key):
            self.drawn.append(key[0])
            return data.captions_for_key(key, limit=1)

    class AnyEmbedding(dict):
        def __missing__(self, caption):
            return np.zeros(4, np.float32)

    def drop_share(boost):
        table = RecordingTable()
        table.drawn = []
        clips = iter(training.ClipStream(TINY, table, AnyEmbedding(), seed=3, p_cameo=0.0, motion_boost=boost))
        for _ in range(300):
            next(clips)
        return table.drawn.count("drop") / len(table.drawn)

    plain, boosted = drop_share({}), drop_share({"drop": 3.0})
    assert 0.15 < plain < 0.35  # the default odds: about a quarter
    assert boosted > plain + 0.15


def test_the_foreground_weight_marks_objects_and_weighs_their_pixels():
    rng = np.random.default_rng(5)
    examples = [data.sample_example(rng, p_cameo=0.0) for _ in range(4)]
    video = torch.from_numpy(np.stack([e.video for e in examples]))
    empty = torch.from_numpy(np.broadcast_to(data.background(32), video.shape).round().astype(np.uint8).copy())

    mask = training.foreground_mask(video)
    assert mask.shape == video.shape[:4]
    assert training.foreground_mask(empty).sum() == 0  # the room alone is no object
    share = mask.mean().item()
    assert 0.01 < share < 0.5  # the objects, grown by a pixel: a minority of each clip
    # Wherever a pixel is far from the room, the mask is set.
    far = (video.float() - torch.from_numpy(data.background(32))).abs().amax(-1) > data.FOREGROUND_THRESHOLD
    assert bool(mask[far].all())

    torch.manual_seed(0)
    model = STDiT(TINY)
    text = torch.from_numpy(fake_embed([e.caption for e in examples]))
    refs = torch.from_numpy(np.stack([e.refs for e in examples]))
    n_refs = torch.tensor([e.n_refs for e in examples])

    def loss(clips: torch.Tensor, w: float) -> float:
        gen = torch.Generator().manual_seed(1)
        return training.flow_loss(model, clips, text, refs, n_refs, gen, loss="x0", fg_weight=w).item()

    # An empty room has nothing to weigh: the loss is the plain one; with objects it changes.
    assert loss(empty, 4.0) == pytest.approx(loss(empty, 0.0), rel=1e-6)
    assert loss(video, 4.0) != pytest.approx(loss(video, 0.0), rel=1e-3)
    args = training.build_parser().parse_args(["--fg-weight", "4", "--steps", "1"])
    assert args.fg_weight == 4.0
