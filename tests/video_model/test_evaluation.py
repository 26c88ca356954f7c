"""The video model's evaluation: the report names its weights, dev and report splits never
share prompts or noise, the report split runs once per weights file, and the second detector
(which shares nothing with training) reads real clips right and an empty room as nothing."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from generation.video_model import data, evaluation, plain_detector
from generation.video_model.training import SHIPPED_WEIGHTS


def test_the_report_names_the_weights_by_hash_and_step():
    identity = evaluation.weights_identity(None)
    assert identity["sha256"] == hashlib.sha256(SHIPPED_WEIGHTS.read_bytes()).hexdigest()
    assert identity["step"] == 21_500 and identity["file"] == "shipped"


def test_dev_and_report_splits_share_no_prompt_and_no_noise():
    dev = evaluation.eval_cases(60, 10, 6, seed=evaluation.DEV_SEED)
    report = evaluation.eval_cases(60, 10, 6, seed=evaluation.REPORT_SEED)
    assert evaluation.DEV_SEED != evaluation.REPORT_SEED
    assert not {c.seed for c in dev} & {c.seed for c in report}
    shared = {c.prompt for c in dev} & {c.prompt for c in report}
    assert len(shared) <= 3, shared  # short grammar prompts may coincide; the clips' noise does not
    # Same split, same cases: the report is reproducible.
    assert [c.prompt for c in evaluation.eval_cases(60, 10, 6, seed=evaluation.DEV_SEED)] == [c.prompt for c in dev]


def test_the_report_split_runs_once_per_weights_unless_asked_again(tmp_path):
    log = tmp_path / "report_log.json"
    report = {"weights": {"sha256": "ab" * 32, "step": 7}, "seed": evaluation.REPORT_SEED, "when": "now"}
    evaluation.check_report_allowed("ab" * 32, again=False, path=log)  # never reported: fine
    first = evaluation.log_report(report, again=False, path=log)
    assert first == {"runs_on_report_seed": 1, "distinct_weights_reported": 1, "runs_for_these_weights": 1}
    with pytest.raises(evaluation.ReportSeedUsed):
        evaluation.check_report_allowed("ab" * 32, again=False, path=log)
    evaluation.check_report_allowed("cd" * 32, again=False, path=log)  # other weights: fine
    evaluation.check_report_allowed("ab" * 32, again=True, path=log)
    again = evaluation.log_report(report, again=True, path=log)
    assert again["runs_for_these_weights"] == 2 and evaluation.report_log(log)[-1]["again"] is True


def test_the_report_seed_cannot_be_swapped():
    with pytest.raises(ValueError, match="fixed"):
        evaluation.evaluate(split="report", seed=evaluation.DEV_SEED)


def test_the_second_detector_reads_real_clips_and_sees_nothing_in_an_empty_room():
    cases = evaluation.eval_cases(30, 0, 0, seed=99)
    clips = evaluation.real_clips(cases)
    result = plain_detector.score(cases, clips)
    assert result["colour_adherence"] >= 0.95 and result["direction_adherence"] >= 0.95
    room = np.repeat(data.background(32)[None].round().astype(np.uint8), 32, axis=0)
    assert plain_detector.judge_colour(room) is None
    assert not plain_detector.judge_direction(room, "left")


def test_the_second_detector_names_colours_by_hue_not_by_the_training_palette():
    assert plain_detector.colour_name(np.array([200, 30, 40])) == "red"
    assert plain_detector.colour_name(np.array([30, 160, 60])) == "green"
    assert plain_detector.colour_name(np.array([240, 240, 232])) == "white"
    assert plain_detector.colour_name(np.array([120, 60, 200])) == "purple"
    source = open(plain_detector.__file__).read()
    assert "FOREGROUND_THRESHOLD" not in source.replace("`data.FOREGROUND_THRESHOLD`", "")
    assert "from generation.video_model import" not in source and "COLOURS" not in source


def test_the_shipped_report_describes_the_shipped_weights():
    """Changing the weights without evaluating them again fails here."""
    import json

    report = json.loads((SHIPPED_WEIGHTS.parent / "eval.json").read_text())
    identity = evaluation.weights_identity(None)
    assert (report["weights"]["sha256"], report["weights"]["step"]) == (identity["sha256"], identity["step"])
    assert report["split"] in evaluation.SPLITS
