"""The shipped classifier: it loads, it is small, and it does its job on held-out prompts."""

import numpy as np
import pytest

from moderation.policy import classifier, semantic


@pytest.fixture(scope="module")
def bundle():
    return classifier.load()


def test_shipped_file_loads_and_is_small(bundle):
    assert classifier.MODEL_PATH.stat().st_size < 5 * 1024 * 1024
    assert classifier.load() is bundle  # cached per process
    assert bundle["classes"][0] == "benign" or "benign" in bundle["classes"]
    thresholds = bundle["thresholds"]
    assert classifier.THRESHOLD_FLOOR <= thresholds["review"] <= thresholds["block"] <= 1.0
    assert thresholds["block"] >= classifier.BLOCK_FLOOR


def test_beats_a_floor_on_the_held_out_split(bundle):
    from sklearn.metrics import average_precision_score

    rows = classifier.classifier_rows(classifier.load_rows(), "heldout")
    rows = classifier.stratified(rows, 320, seed=1)
    texts = [r.text for r in rows]
    semantic.warm(texts)
    scores, _ = classifier.harm_scores(bundle, texts, vectors=np.stack([semantic.embed_prompt(t) for t in texts]))
    harmful = np.array([r.label == "harmful" for r in rows])
    assert average_precision_score(harmful, scores) > 0.9
    review_p, review_r = classifier.precision_recall(scores >= bundle["thresholds"]["review"], harmful)
    block_p, block_r = classifier.precision_recall(scores >= bundle["thresholds"]["block"], harmful)
    assert review_p > 0.85 and review_r > 0.6
    assert block_p > 0.95 and block_r > 0.5


def test_check_classifier_decisions(bundle):
    blocked = classifier.check_classifier("a man cooking crystal in a camper van", bundle=bundle)
    assert blocked.blocked and blocked.category == "drugs" and blocked.scores["harm"] >= bundle["thresholds"]["block"]
    allowed = classifier.check_classifier("a golden retriever catching a frisbee on the beach", bundle=bundle)
    assert allowed.allowed and allowed.scores["harm"] < bundle["thresholds"]["review"]


def test_strict_mode_blocks_what_would_be_reviewed(bundle):
    thresholds = bundle["thresholds"]
    harm = classifier.check_classifier("a woman lying in a pool of blood after being attacked", bundle=bundle).scores[
        "harm"
    ]
    assert thresholds["review"] <= harm < thresholds["block"]
    assert classifier.check_classifier(
        "a woman lying in a pool of blood after being attacked", bundle=bundle
    ).needs_review
    assert classifier.check_classifier(
        "a woman lying in a pool of blood after being attacked", strict=True, bundle=bundle
    ).blocked


def test_choose_thresholds_respects_targets():
    scores = np.array([0.05, 0.1, 0.2, 0.3, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95])
    harmful = np.array([False, False, False, False, False, True, True, True, True, True])
    thresholds = classifier.choose_thresholds(scores, harmful)
    assert thresholds["block"] == 0.6  # the lowest score >= 0.5 with precision >= 0.98
    assert thresholds["review"] <= thresholds["block"]


def test_training_end_to_end_on_a_small_sample(tmp_path):
    rows = classifier.load_rows()
    picked = []
    for split in ("train", "validation"):
        for category in ["benign", "sexual", "violence", "drugs"]:
            picked += [r for r in rows if r.split == split and r.category == category][:25]
    bundle = classifier.train(picked, seed=0)
    assert set(bundle["classes"]) == {"benign", "sexual", "violence", "drugs"}
    assert set(bundle["thresholds"]) == {"review", "block"}
    path = tmp_path / "model.joblib"
    assert classifier.save(bundle, path) > 0
    loaded = classifier.load(path)
    assert classifier.check_classifier("a naked woman on a bed", bundle=loaded).category == "sexual"
