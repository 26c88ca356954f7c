"""can_use_cameo: the permission matrix, and the lists and lookups that must agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cameos.models import CameoAccessEntry, CameoRequest, CameoStatus
from cameos.selectors import cameo_decisions, cameo_is_visible, cameos_visible_to, can_use_cameo
from tests.cameos import permission_matrix as matrix
from tests.cameos.factories import AccessEntryFactory, CameoFactory, RequestFactory
from tests.users.factories import BlockFactory, FollowFactory, MinorFactory, UserFactory, make_friends

pytestmark = pytest.mark.django_db


def arrange(owner, user, relationship: str, cameo) -> None:
    """Make `user` stand to `owner` (and the cameo) as the matrix row says."""
    if relationship == "friend":
        make_friends(owner, user)
    elif relationship == "follower":
        FollowFactory(follower=user, followee=owner)
    elif relationship == "followee":
        FollowFactory(follower=owner, followee=user)
    elif relationship == "blocked":
        BlockFactory(blocker=owner, blocked=user)
    elif relationship == "blocked_by":
        BlockFactory(blocker=user, blocked=owner)
    elif relationship == "deny_list":
        make_friends(owner, user)
        AccessEntryFactory(cameo=cameo, user=user, effect=CameoAccessEntry.Effect.DENY)
    elif relationship == "allow_list":
        AccessEntryFactory(cameo=cameo, user=user, effect=CameoAccessEntry.Effect.ALLOW)
    elif relationship == "allow_list_friend":
        make_friends(owner, user)
        AccessEntryFactory(cameo=cameo, user=user, effect=CameoAccessEntry.Effect.ALLOW)
    elif relationship == "pending_request":
        RequestFactory(cameo=cameo, requester=user)
    elif relationship == "approved_request":
        RequestFactory(cameo=cameo, requester=user, status=CameoRequest.Status.APPROVED)
        AccessEntryFactory(cameo=cameo, user=user, effect=CameoAccessEntry.Effect.ALLOW)
    else:
        assert relationship in {"self", "stranger"}


@pytest.mark.parametrize(("owner_age", "relationship", "audience", "expected"), matrix.cases())
def test_permission_matrix(owner_age, relationship, audience, expected):
    owner = MinorFactory() if owner_age == "minor" else UserFactory()
    assert owner.is_minor == (owner_age == "minor")
    cameo = CameoFactory(owner=owner, audience=audience)
    user = owner if relationship == "self" else UserFactory()
    arrange(owner, user, relationship, cameo)

    decision = can_use_cameo(user, cameo)

    assert decision.code == expected, decision
    assert decision.allowed == (expected in matrix.ALLOWING_CODES)
    assert decision.reason
    # The batched form used by lists gives the same answer, and so does asking by user id.
    assert cameo_decisions(user, [cameo])[cameo.pk] == decision
    assert can_use_cameo(user.pk, cameo) == decision
    # The list query shows exactly the cameos the decision calls visible (own ones aside).
    if relationship != "self":
        listed = cameos_visible_to(viewer=user).filter(pk=cameo.pk).exists()
        assert listed == cameo_is_visible(decision)


def test_the_doc_shows_the_tested_matrix():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cameos.md").read_text()
    start = doc.index(matrix.START) + len(matrix.START)
    end = doc.index(matrix.END)
    assert doc[start:end].strip() == matrix.render_markdown().strip()


def test_the_matrix_covers_every_audience_and_relationship():
    assert len(matrix.cases()) == 2 * len(matrix.RELATIONSHIPS) * len(matrix.AUDIENCES)


@pytest.mark.parametrize("status", [CameoStatus.PENDING, CameoStatus.REJECTED, CameoStatus.REVOKED])
def test_a_cameo_that_is_not_active_is_usable_by_nobody_not_even_its_owner(status):
    cameo = CameoFactory(status=status, audience="everyone")
    friend = UserFactory()
    make_friends(cameo.owner, friend)
    for user in (cameo.owner, friend, UserFactory()):
        decision = can_use_cameo(user, cameo)
        assert (decision.allowed, decision.code) == (False, "cameo_not_active")


def test_a_closed_accounts_cameo_is_usable_by_nobody():
    cameo = CameoFactory(audience="everyone")
    other = UserFactory()
    cameo.owner.is_active = False
    cameo.owner.save()
    for user in (cameo.owner, other):
        assert can_use_cameo(user, cameo).code == "owner_inactive"
        assert cameo_decisions(user, [cameo])[cameo.pk].code == "owner_inactive"
    assert not cameos_visible_to(viewer=other).filter(pk=cameo.pk).exists()


def test_anonymous_is_refused():
    from django.contrib.auth.models import AnonymousUser

    cameo = CameoFactory(audience="everyone")
    assert can_use_cameo(AnonymousUser(), cameo).code == "not_authenticated"
    assert can_use_cameo(None, cameo).code == "not_authenticated"


def test_unknown_birth_date_counts_as_a_minor():
    owner = UserFactory(date_of_birth=None)
    cameo = CameoFactory(owner=owner, audience="everyone")
    stranger = UserFactory()
    assert can_use_cameo(stranger, cameo).code == "minor_mutuals_only"
    assert cameo_decisions(stranger, [cameo])[cameo.pk].code == "minor_mutuals_only"
    assert not cameos_visible_to(viewer=stranger).filter(pk=cameo.pk).exists()


def test_batched_decisions_use_a_fixed_number_of_queries(django_assert_max_num_queries):
    viewer = UserFactory()
    cameos = [CameoFactory(audience=a) for a in matrix.AUDIENCES for _ in range(3)]
    for cameo in cameos[:4]:
        make_friends(viewer, cameo.owner)
    with django_assert_max_num_queries(6):
        decisions = cameo_decisions(viewer, cameos)
    assert {c.pk: can_use_cameo(viewer, c) for c in cameos} == decisions


def test_restriction_codes_match_the_policy_layers_vocabulary():
    categories = pytest.importorskip("moderation.policy.categories")
    from cameos.constants import RESTRICTION_CODES

    assert RESTRICTION_CODES == categories.RESTRICTION_CODES


def test_the_policy_subject_fields_build_a_cameo_subject():
    subjects = pytest.importorskip("moderation.policy.subjects")
    from cameos.models import CharacterLicence
    from cameos.selectors import cameo_policy_subject_fields

    pet = CameoFactory(kind="pet", name="rex", aliases=["Rexy"], restrictions=["no_violence"])
    subject = subjects.CameoSubject(**cameo_policy_subject_fields(pet))
    assert subject.handle == "rex" and subject.restrictions == frozenset({"no_violence"})
    assert subject.aliases == ("Rexy",) and subject.verified
    minor = CameoFactory(owner=MinorFactory())
    subject = subjects.CameoSubject(**cameo_policy_subject_fields(minor))
    assert subject.owner_is_minor and subject.handle == "" and subject.owner_handle == minor.owner.handle
    character = CameoFactory(kind="character")
    CharacterLicence.objects.create(cameo=character, allowed_themes=["space"], forbidden_themes=["politics"])
    character.refresh_from_db()
    subject = subjects.CameoSubject(**cameo_policy_subject_fields(character))
    assert (subject.allowed_themes, subject.forbidden_themes) == (("space",), ("politics",))
