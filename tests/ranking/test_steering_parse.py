"""Steering text → terms, and terms → signed boosts. Pure."""

from __future__ import annotations

import numpy as np
import pytest

from feed.ranking.steering import Term, parse, steer_similarity


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("more anime, less sports", [("anime", "more"), ("sports", "less")]),
        ("More anime less sports", [("anime", "more"), ("sports", "less")]),
        ("I want more cooking videos and no horror please", [("cooking", "more"), ("horror", "less")]),
        ("cats", [("cats", "more")]),
        ("Stop showing me politics; lots of space stuff!", [("politics", "less"), ("space", "more")]),
        ("no more pranks but more dance", [("pranks", "less"), ("dance", "more")]),
        ("more anime. actually less anime", [("anime", "less")]),  # the later word wins
        ("please", []),
    ],
)
def test_parse(text, terms):
    assert [(t.phrase, t.direction) for t in parse(text)] == terms


def test_at_most_eight_terms():
    assert len(parse(", ".join(f"topic{i}" for i in range(20)))) == 8


def test_steer_similarity_is_signed_and_bounded():
    more, less = np.eye(4)[0], np.eye(4)[1]
    posts = np.array([more, less, np.eye(4)[2], (more + less) / np.sqrt(2)])
    s = steer_similarity(posts, np.array([more, less]), np.array([Term("a", "more").sign, Term("b", "less").sign]))
    assert s[0] == pytest.approx(1.0) and s[1] == pytest.approx(-1.0) and s[2] == 0.0
    assert abs(s[3]) < 1e-9
    assert steer_similarity(posts, np.zeros((0, 4)), np.zeros(0)).tolist() == [0, 0, 0, 0]
