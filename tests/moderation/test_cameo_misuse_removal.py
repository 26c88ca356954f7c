"""Removing a misused cameo disables it (nobody may use it) and an overturned appeal enables it."""

import pytest

from cameos.models import CameoStatus
from cameos.selectors import can_use_cameo
from moderation import services
from tests.cameos.factories import CameoFactory
from tests.moderation.factories import act, case_of, moderator, report
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_removing_a_misused_cameo_disables_it_until_an_appeal_is_won():
    cameo = CameoFactory()
    anyone = UserFactory()
    assert can_use_cameo(anyone, cameo).allowed
    case = case_of(report(target_type="cameo", target_id=cameo.pk, reason="not_me_without_consent"))
    first, second = moderator(), moderator()

    action = act(case, first, "remove", reason="This cameo shows someone else's face.")
    cameo.refresh_from_db()
    assert cameo.status == CameoStatus.DISABLED
    assert not can_use_cameo(anyone, cameo).allowed
    assert not can_use_cameo(cameo.owner, cameo).allowed
    assert action.details["cameo_disabled"] is True

    appeal = services.appeal_create(action_id=action.pk, appellant=cameo.owner, text="It really is me.")
    services.appeal_decide(appeal=appeal, moderator=second, uphold=False, reason="Verified: it is the owner.")
    cameo.refresh_from_db()
    assert cameo.status == CameoStatus.ACTIVE
    assert can_use_cameo(anyone, cameo).allowed
