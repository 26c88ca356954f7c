import pytest

from moderation.policy import restrictions
from moderation.policy.categories import RESTRICTION_CODES
from moderation.policy.restrictions import check_cameo_restrictions
from moderation.policy.subjects import CameoSubject
from tests.moderation.conftest import person


def restricted(*codes: str) -> CameoSubject:
    return person("alice", restrictions=frozenset(codes))


@pytest.mark.parametrize(
    ("code", "prompt"),
    [
        ("no_political", "@alice giving a speech at a campaign rally"),
        ("no_romantic", "@alice kissing someone under the mistletoe"),
        ("no_sexual", "@alice posing in lingerie"),
        ("no_violence", "@alice in a bar fight"),
        ("no_religious", "@alice praying in a cathedral"),
        ("no_alcohol_drugs", "@alice doing shots at a party"),
        ("no_mockery", "@alice being humiliated on stage"),
        ("no_horror", "@alice chased by zombies"),
        ("no_advertising", "@alice endorsing an energy drink"),
    ],
)
def test_each_restriction_blocks_its_topic(code, prompt):
    result = check_cameo_restrictions(prompt, [restricted(code)])
    assert result.blocked, prompt
    assert result.code == "cameo_restriction" and "@alice" in result.reasons[0]
    # The same prompt is fine for a cameo without that restriction.
    other = next(c for c in RESTRICTION_CODES if c != code and not restrictions.THEMES[c].lexicon.search(prompt))
    assert check_cameo_restrictions(prompt, [restricted(other)]).allowed, (prompt, other)


def test_similarity_catches_a_topic_without_its_keywords():
    result = check_cameo_restrictions(
        "@alice giving a victory speech after winning the race for city council", [restricted("no_political")]
    )
    assert not result.allowed
    assert "similarity" in result.reasons[0]


def test_unrestricted_or_unrelated_cameos_are_not_checked():
    assert check_cameo_restrictions("@alice at a campaign rally", [person("alice")]).allowed
    assert check_cameo_restrictions("@alice baking bread", [restricted("no_political", "no_violence")]).allowed
    assert check_cameo_restrictions("anything at all", []).allowed


def test_unknown_restriction_code_is_refused():
    with pytest.raises(ValueError):
        person("alice", restrictions=frozenset({"no_fun"}))


def character(allowed=(), forbidden=()) -> CameoSubject:
    return CameoSubject(
        "c",
        "character",
        "Captain Comet",
        "studio",
        handle="captain_comet",
        allowed_themes=allowed,
        forbidden_themes=forbidden,
    )


def test_licence_forbidden_themes_block():
    comet = character(allowed=("adventure", "exploration"), forbidden=("violence", "politics"))
    result = check_cameo_restrictions("@captain_comet fighting soldiers with a machine gun", [comet])
    assert result.blocked and result.code == "licence_forbidden_theme"
    assert check_cameo_restrictions("@captain_comet campaigning in the presidential election", [comet]).blocked
    free_text = character(forbidden=("underwater scenes",))
    assert check_cameo_restrictions("@captain_comet in underwater scenes with sharks", [free_text]).blocked


def test_licence_allowed_themes_send_off_theme_prompts_to_review():
    comet = character(allowed=("cooking", "food"))
    assert check_cameo_restrictions("@captain_comet baking a giant cake", [comet]).allowed
    result = check_cameo_restrictions("@captain_comet filing tax returns at a desk", [comet])
    assert result.needs_review and result.code == "licence_off_theme"
