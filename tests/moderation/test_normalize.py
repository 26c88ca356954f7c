from hypothesis import given
from hypothesis import strategies as st

from moderation.policy.normalize import normalize, variants


def test_obfuscations_read_as_the_word():
    for text in ["n.u.d.e", "N U D E", "n-u-d-e", "nud3", "ｎｕｄｅ", "nudе", "n\u200bude", "NÜDE", "n̷u̷d̷e̷"]:
        assert "nude" in variants(text), text
    assert "nude" in variants("nuuuuude")
    assert normalize("k1ll") == "kill"
    assert normalize("sh00t1ng up h3r0in") == "shooting up heroin"


def test_numbers_with_units_and_handles_are_left_alone():
    assert normalize("@alice in 4k, 1080p, 60fps, 3d printed") == "@alice in 4k, 1080p, 60fps, 3d printed"
    assert normalize("2 cats and 4 dogs") == "2 cats and 4 dogs"
    assert "3d printed gun" in variants("3D printed gun")


def test_normal_double_letters_survive():
    assert "a car with suicide doors" in variants("a car with suicide doors")
    assert normalize("coffee") == "coffee"


@given(st.text(max_size=200))
def test_normalize_is_total_and_canonical(text):
    out = normalize(text)
    assert out == out.strip()
    assert "\u200b" not in out and "  " not in out
    assert variants(text)[0] == out


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=12), st.sampled_from([" ", ".", "-", "*"]))
def test_spaced_letters_are_joined(word, separator):
    assert normalize(separator.join(word)) == normalize(word)
