import pytest

from moderation.policy.likeness import check_likeness, find_public_figures
from moderation.policy.subjects import CameoSubject
from tests.moderation.conftest import person


def test_public_figure_without_cameo_is_blocked():
    result = check_likeness("Taylor Swift dancing in the rain")
    assert result.blocked
    assert result.code == "likeness_public_figure" and result.category == "likeness"
    assert "Taylor Swift" in result.reasons[0]


def test_public_figure_with_her_verified_cameo_is_allowed(taylor):
    assert check_likeness("Taylor Swift dancing in the rain", [taylor]).allowed
    assert check_likeness("@taylorswift dancing in the rain", [taylor]).allowed


def test_someone_elses_or_an_unverified_cameo_does_not_consent(taylor):
    assert check_likeness("Taylor Swift dancing in the rain", [person("alice")]).blocked
    unverified = CameoSubject("t", "person", "Taylor Swift", "taylorswift", "Taylor Swift", verified=False)
    assert check_likeness("Taylor Swift dancing in the rain", [unverified]).blocked
    character = CameoSubject("c", "character", "Taylor Swift", "studio", handle="tswift_toon")
    assert check_likeness("Taylor Swift dancing in the rain", [character]).blocked


@pytest.mark.parametrize(
    "prompt",
    [
        "taylor swift's concert in tokyo",
        "TAYLOR SWIFT on a boat",
        "t4yl0r sw1ft on a boat",
        "#TaylorSwift singing",
        "T a y l o r  S w i f t skiing",
        "T\u0430ylor Swift skiing",
        "Taylor-Swift skiing",
        "tswift at the grammys",
        "obama playing basketball",
        "Drake performing in Toronto",
        "Elon Musk on Mars",
    ],
)
def test_names_are_matched_robustly(prompt):
    assert check_likeness(prompt).blocked, prompt


@pytest.mark.parametrize(
    "prompt",
    [
        "a swift river in spring",
        "a drake swimming in a pond",
        "a trump card in poker",
        "a musk ox in the snow",
        "a king charles spaniel on a sofa",
        "the Madonna and Child painting",
        "michael the cat moonwalking",
        "Jordan river at dawn",
        "a pop star performing in a stadium",
        "email bob@example.com a cat video",
    ],
)
def test_hard_negatives_are_allowed(prompt):
    assert check_likeness(prompt).allowed, prompt


def test_find_public_figures_in_order():
    names = [f.name for f in find_public_figures("LeBron James and Taylor Swift's duet")]
    assert names == ["LeBron James", "Taylor Swift"]


def test_mentions_need_the_cameo():
    result = check_likeness("@alice surfing on the moon")
    assert result.blocked and result.code == "likeness_without_cameo"
    assert "@alice" in result.reasons[0]
    assert check_likeness("@alice surfing on the moon", [person("alice")]).allowed
    mixed = check_likeness("@alice and @bob surfing", [person("alice")])
    assert mixed.blocked and "@bob" in mixed.reasons[0] and "@alice" not in mixed.reasons[0]


def test_pet_and_character_cameos_are_mentioned_by_their_own_name():
    rex = CameoSubject("rex", "pet", "Rex", "alice", "Alice", handle="rex")
    assert check_likeness("@rex chasing a frisbee", [rex]).allowed
    # A pet cameo does not stand for its owner.
    assert check_likeness("@alice chasing @rex", [rex]).blocked
    comet = CameoSubject("c", "character", "Captain Comet", "studio", handle="captain-comet")
    assert check_likeness("@captain-comet flying", [comet]).allowed


@pytest.mark.parametrize(
    "prompt",
    [
        "a photorealistic video of my neighbour John Smith dancing",
        "a deepfake of my boss",
        "make it look like my boss is stealing",
        "real footage of Mark Peterson robbing a bank",
        "realistic video of my coworker asleep at his desk",
        "a hidden camera video of my roommate",
        "face swap my ex onto a clown",
    ],
)
def test_private_person_likeness_is_blocked(prompt):
    result = check_likeness(prompt)
    assert result.blocked and result.code in {"likeness_private_person", "likeness_deepfake"}, prompt


@pytest.mark.parametrize(
    "prompt",
    [
        "my mom baking cookies, watercolor style",
        "a real cake for my mom's birthday",
        "realistic drone footage of Central Park",
        "a realistic video of New York at night",
    ],
)
def test_ordinary_prompts_are_not_likeness_requests(prompt):
    assert check_likeness(prompt).allowed, prompt


def test_named_private_person_with_their_cameo_is_allowed():
    carol = person("carolj", "Carol Jones")
    assert check_likeness("my friend Carol Jones skateboarding").blocked
    assert check_likeness("my friend Carol Jones skateboarding", [carol]).allowed
    assert check_likeness("a deepfake of @carolj giving a toast", [carol]).allowed


def test_longest_name_wins():
    michelle = person("michelleobama", "Michelle Obama")
    assert check_likeness("Michelle Obama crying at a press conference", [michelle]).allowed
    assert check_likeness("Michelle Obama and Barack Obama dancing", [michelle]).blocked


def test_accents_homoglyphs_and_capitalised_aliases():
    assert check_likeness("a tattoo of a rose").allowed
    assert check_likeness("Rosé performing in Seoul").blocked
    assert check_likeness("Dr\u0430ke surfing a giant wave").blocked  # Cyrillic a
    assert check_likeness("adele singing karaoke").blocked


def test_face_on_someone_with_a_possessive():
    assert check_likeness("put my sister's face on a dancing robot").code == "likeness_deepfake"
