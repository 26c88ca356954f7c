"""The shipped classifier: it loads, it is small, and it does its job on held-out prompts."""

import hashlib

import numpy as np
import pytest

from moderation.policy import classifier, semantic
from tools.moderation import training


@pytest.fixture(scope="module")
def bundle():
    return classifier.load()


def test_shipped_file_loads_and_is_small(bundle):
    assert classifier.MODEL_PATH.stat().st_size < 5 * 1024 * 1024
    assert classifier.load() is bundle  # cached per process
    assert bundle["classes"][0] == "benign" or "benign" in bundle["classes"]
    thresholds = bundle["thresholds"]
    assert training.THRESHOLD_FLOOR <= thresholds["review"] <= thresholds["block"] <= 1.0
    assert thresholds["block"] >= training.BLOCK_FLOOR
    # The file was trained on the dataset shipped beside it, with the head the trainer ships.
    assert bundle["meta"]["dataset_sha256"] == hashlib.sha256(training.PROMPTS_PATH.read_bytes()).hexdigest()
    assert bundle["meta"]["embedding_head"] == training.SHIPPED_EMBEDDING_HEAD


def test_beats_a_floor_on_the_held_out_split(bundle):
    from sklearn.metrics import average_precision_score

    rows = training.classifier_rows(training.load_rows(), "heldout")
    rows = training.stratified(rows, 320, seed=1)
    texts = [r.text for r in rows]
    semantic.warm(texts)
    scores, _ = classifier.harm_scores(bundle, texts, vectors=np.stack([semantic.embed_prompt(t) for t in texts]))
    harmful = np.array([r.label == "harmful" for r in rows])
    assert average_precision_score(harmful, scores) > 0.9
    review_p, review_r = training.precision_recall(scores >= bundle["thresholds"]["review"], harmful)
    block_p, block_r = training.precision_recall(scores >= bundle["thresholds"]["block"], harmful)
    assert review_p > 0.85 and review_r > 0.6
    assert block_p > 0.95 and block_r > 0.5


def test_check_classifier_decisions(bundle):
    blocked = classifier.check_classifier("a man brewing methamphetamine in a mobile home", bundle=bundle)
    assert blocked.blocked and blocked.category == "drugs" and blocked.scores["harm"] >= bundle["thresholds"]["block"]
    allowed = classifier.check_classifier("a golden retriever catching a frisbee on the beach", bundle=bundle)
    assert allowed.allowed and allowed.scores["harm"] < bundle["thresholds"]["review"]


def test_strict_mode_blocks_what_would_be_reviewed(bundle):
    thresholds = bundle["thresholds"]
    # Borderline prompts; which of them lands between review and block depends on the shipped
    # model, so the first that does is used (one must).
    candidates = (
        "a woman lying in a pool of blood after being attacked",
        "a woman screaming as a man grabs her arm",
        "a bar fight where someone gets hurt",
        "a man lying injured on the street after a fight",
        "a teenager alone in his room feeling down",
    )
    scored = {text: classifier.check_classifier(text, bundle=bundle) for text in candidates}
    borderline = [text for text, result in scored.items() if result.needs_review]
    assert borderline, {text: round(result.scores["harm"], 3) for text, result in scored.items()}
    prompt = borderline[0]
    assert thresholds["review"] <= scored[prompt].scores["harm"] < thresholds["block"]
    assert classifier.check_classifier(prompt, strict=True, bundle=bundle).blocked


def test_choose_thresholds_respects_targets():
    scores = np.array([0.05, 0.1, 0.2, 0.3, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95])
    harmful = np.array([False, False, False, False, False, True, True, True, True, True])
    thresholds = training.choose_thresholds(scores, harmful)
    assert thresholds["block"] == 0.6  # the lowest score >= 0.5 with precision >= 0.98
    assert thresholds["review"] <= thresholds["block"]


def _small_sample() -> list:
    """25 train and 25 validation rows of four classes: enough to fit both halves in seconds."""
    rows = training.load_rows()
    picked = []
    for split in ("train", "validation"):
        for category in ["benign", "sexual", "violence", "drugs"]:
            picked += [r for r in rows if r.split == split and r.category == category][:25]
    return picked


def test_training_end_to_end_on_a_small_sample(tmp_path):
    bundle = training.train(_small_sample(), seed=0, embedding_head="logistic")
    assert bundle["meta"]["embedding_head"] == "logistic"
    assert set(bundle["classes"]) == {"benign", "sexual", "violence", "drugs"}
    assert set(bundle["thresholds"]) == {"review", "block"}
    path = tmp_path / "model.joblib"
    assert training.save(bundle, path) > 0
    loaded = classifier.load(path)
    assert classifier.check_classifier("a naked woman on a bed", bundle=loaded).category == "sexual"


def test_halves_are_averaged_with_the_bundles_weight(bundle):
    texts = ["a person drinking coffee in a cafe", "a man stabbing a stranger in an alley"]
    vectors = np.stack([semantic.embed_prompt(t) for t in texts])
    tfidf = bundle["tfidf"].predict_proba([classifier.prepare(t) for t in texts])
    embedding = bundle["embedding"].predict_proba(vectors)
    for weight in (0.0, 0.7, 1.0):
        probs, _ = classifier.predict_proba({**bundle, "embedding_weight": weight}, texts, vectors=vectors)
        np.testing.assert_allclose(probs, (1 - weight) * tfidf + weight * embedding, rtol=1e-5)
    # A bundle without the weight (files written before it existed) is a plain average.
    plain = {k: v for k, v in bundle.items() if k != "embedding_weight"}
    np.testing.assert_allclose(classifier.predict_proba(plain, texts, vectors=vectors)[0], (tfidf + embedding) / 2)


def test_mlp_embedding_head_trains_small_and_loads(tmp_path):
    bundle = training.train(_small_sample(), seed=0, embedding_head="mlp")
    assert bundle["embedding_weight"] == training.EMBEDDING_WEIGHTS["mlp"]
    assert bundle["meta"]["embedding_head"] == "mlp"
    model = bundle["embedding"]
    # The optimiser's moments and the best-epoch copy would triple the file; prediction needs neither.
    assert not any(hasattr(model, name) for name in ("_optimizer", "_best_coefs", "_best_intercepts"))
    assert all(w.dtype == np.float32 for w in model.coefs_)
    path = tmp_path / "model.joblib"
    training.save(bundle, path)
    loaded = classifier.load(path)
    assert classifier.check_classifier("a naked woman on a bed", bundle=loaded).category == "sexual"
    with pytest.raises(ValueError):
        training.build_embedding_model(0, "forest")
