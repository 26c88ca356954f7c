import json

import pytest

from moderation.policy.result import PolicyResult, combine


def test_helpers_and_json_round_trip():
    result = PolicyResult("review", "classifier", "classifier", "violence", ["score 0.5"], {"harm": 0.5})
    assert result.needs_review and not result.allowed and not result.blocked
    data = json.loads(json.dumps(result.as_dict()))
    assert PolicyResult.from_dict(data) == result


def test_decision_must_be_known():
    with pytest.raises(ValueError):
        PolicyResult("maybe", "rules")


def test_combine_first_block_wins_and_keeps_every_layer():
    allow = PolicyResult.allow("rules", scores={"block_hits": 0})
    review = PolicyResult("review", "classifier", "classifier", "violence", ["c"], {"harm": 0.4})
    first_block = PolicyResult("block", "likeness", "likeness_public_figure", "likeness", ["l"], {"n": 1})
    second_block = PolicyResult("block", "remote", "remote_model", "sexual", ["r"], {})
    combined = combine([allow, review, first_block, second_block], layer="prompt")
    assert combined.blocked
    assert (combined.layer, combined.code, combined.category) == ("likeness", "likeness_public_figure", "likeness")
    assert [r.layer for r in combined.layers] == ["rules", "classifier", "likeness", "remote"]
    assert combined.scores == {"rules.block_hits": 0.0, "classifier.harm": 0.4, "likeness.n": 1.0}
    json.dumps(combined.as_dict())


def test_combine_review_collects_reasons_and_allow_names_the_pipeline():
    a = PolicyResult("review", "classifier", "classifier", "drugs", ["one"], {})
    b = PolicyResult("review", "remote", "remote_unavailable", "", ["two"], {})
    combined = combine([PolicyResult.allow("rules"), a, b], layer="prompt")
    assert combined.needs_review and combined.layer == "classifier" and combined.reasons == ("one", "two")
    allowed = combine([PolicyResult.allow("rules"), PolicyResult.allow("likeness")], layer="prompt")
    assert allowed.allowed and allowed.layer == "prompt" and allowed.code == "ok"


def test_combine_flattens_nested_results():
    inner = combine([PolicyResult.allow("banned_media"), PolicyResult.allow("nudity")], layer="media")
    outer = combine([inner, PolicyResult("review", "x", "c")], layer="all")
    assert [r.layer for r in outer.layers] == ["banned_media", "nudity", "x"]
