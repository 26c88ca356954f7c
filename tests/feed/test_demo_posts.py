"""The posts demo section, run against the live server (after the accounts section it builds on)."""

import pytest

from sora_social.demo.client import Demo
from sora_social.demo.sections import accounts, posts

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_posts_section_runs_against_the_live_stack(live_stack):
    lines: list[str] = []
    demo = Demo(live_stack.base_url, live_stack.ws_url, say=lines.append)
    accounts.run(demo)
    posts.run(demo)
    text = "\n".join(lines)
    assert "remix_not_allowed" in text
    assert "keeps its place" in text
    assert demo.facts["ava_post_id"] and demo.facts["cleo_remix_id"]
