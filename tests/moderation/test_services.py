import pytest

from moderation.models import BannedMediaHash
from moderation.policy import services
from sora_social.common.errors import ApplicationError
from tests.moderation.conftest import person
from tools.moderation.evaluation import reencode, synthetic_clip

pytestmark = pytest.mark.django_db


def test_banned_media_list_round_trip():
    removed = synthetic_clip(3)
    rows = services.banned_media_add(frames=removed, reason="removed in case 1", source="case:1")
    assert rows and all(r.source == "case:1" for r in rows)
    again = services.banned_media_add(frames=removed, reason="duplicate", source="case:2")
    assert {r.pk for r in again} == {r.pk for r in rows}  # idempotent
    assert services.media_check(reencode(removed)).blocked  # the DB list is used by default
    assert services.media_check(reencode(removed), banned_hashes=[]).allowed
    assert services.banned_media_remove(source="case:1") == len(rows)
    assert services.media_check(reencode(removed)).allowed


def test_banned_media_add_validates():
    with pytest.raises(ApplicationError) as error:
        services.banned_media_add(hashes=["xyz"], reason="bad")
    assert error.value.code == "invalid_media_hash"
    with pytest.raises(ApplicationError):
        services.banned_media_add(hashes=[], reason="nothing")
    services.banned_media_add(hashes=["ABCDEF0123456789"], reason="upper case is folded")
    assert BannedMediaHash.objects.filter(hash="abcdef0123456789").exists()


def test_prompt_and_restriction_checks_through_services(taylor):
    assert services.prompt_check("Taylor Swift dancing in the rain").code == "likeness_public_figure"
    assert services.prompt_check("Taylor Swift dancing in the rain", cameos=[taylor]).allowed
    alice = person("alice", restrictions=frozenset({"no_romantic"}))
    assert services.cameo_restrictions_check("@alice on a candlelit date", [alice]).blocked
