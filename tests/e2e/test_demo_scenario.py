"""The demo scenario, run by the test suite against a live server and real workers."""

import pytest
from django.contrib.auth.models import Group

from moderation.roles import MODERATOR_GROUP, moderator_group_sync
from sora_social.demo.client import Demo
from sora_social.demo.scenario import run_scenario
from sora_social.demo.sections import moderation
from tests.users.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_demo_scenario_runs_end_to_end(live_stack):
    # What `manage.py demo` sets up before the scenario: a staff moderator and a second moderator.
    if not Group.objects.filter(name=MODERATOR_GROUP).exists():
        moderator_group_sync()
    group = Group.objects.get(name=MODERATOR_GROUP)
    UserFactory(handle="staff", is_staff=True).groups.add(group)
    second = UserFactory(handle=moderation.SECOND_MODERATOR, is_staff=True)
    second.set_password(moderation.MODERATOR_PASSWORD)
    second.save()
    second.groups.add(group)

    lines: list[str] = []
    demo = Demo(live_stack.base_url, live_stack.ws_url, say=lines.append)
    demo.log_in("staff", PASSWORD)
    run_scenario(demo)
    assert demo.calls > 10
    text = "\n".join(lines)
    assert "Friends are mutual follows" in text
    assert "Her cameo is active" in text
    assert "jumps to the top" in text
    assert "The draft is an H.264 MP4" in text and "Ava removed it" in text
