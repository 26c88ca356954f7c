"""The cameos demo section, against the live server and real workers (after the accounts section)."""

from __future__ import annotations

import pytest

from sora_social.demo.client import Demo, Person
from sora_social.demo.sections import accounts, cameos
from sora_social.users.services import token_issue
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_cameos_demo_section_runs(live_stack):
    lines: list[str] = []
    demo = Demo(live_stack.base_url, live_stack.ws_url, say=lines.append)
    staff = UserFactory(handle="demo_staff", is_staff=True)
    _, secret = token_issue(user=staff, name="demo")
    accounts.run(demo)
    demo.people["staff"] = Person(handle=staff.handle, token=secret, user_id=staff.pk)

    cameos.run(demo)

    text = "\n".join(lines)
    assert "Her cameo is active" in text
    assert "deny always wins" in text
    assert "Captain Nova" in text and "royalty ledger" in text
    assert demo.facts["ava_cameo_id"] and demo.facts["captain_cameo_id"]
