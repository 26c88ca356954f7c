"""The moderation demo section, against the live server and real workers (after the accounts section)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from moderation.roles import MODERATOR_GROUP, moderator_group_sync
from sora_social.demo.client import Demo, Person
from sora_social.demo.sections import accounts, moderation
from sora_social.users.services import token_issue
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_moderation_demo_section_runs(live_stack):
    lines: list[str] = []
    demo = Demo(live_stack.base_url, live_stack.ws_url, say=lines.append)
    if not Group.objects.filter(name=MODERATOR_GROUP).exists():
        moderator_group_sync()
    group = Group.objects.get(name=MODERATOR_GROUP)
    # What the demo command does: its staff account and a second moderator (ensure_staff --group moderator).
    staff = UserFactory(handle="demo_staff", is_staff=True)
    staff.groups.add(group)
    second = UserFactory(handle=moderation.SECOND_MODERATOR, is_staff=True)
    second.set_password(moderation.MODERATOR_PASSWORD)
    second.save()
    second.groups.add(group)
    accounts.run(demo)
    _, secret = token_issue(user=staff, name="demo")
    demo.people["staff"] = Person(handle=staff.handle, token=secret, user_id=staff.pk)

    moderation.run(demo)

    text = "\n".join(lines)
    assert "jumps to the top" in text
    assert "not_me_without_consent" in text
    assert "same_moderator" in text and "upheld the decision" in text
    assert "already_appealed" in text
    assert "decisions per moderator: @demo_staff: 2, @moira: 1" in text
    assert demo.facts["moderation_removed_post_id"] and demo.facts["moderation_appeal_id"]
