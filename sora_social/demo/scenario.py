"""The end-to-end demo scenario: every section, in the order the product's flows build."""

from __future__ import annotations

from collections.abc import Callable

from sora_social.demo.client import Demo
from sora_social.demo.sections import accounts, cameos, feed, generation, moderation, posts

SECTIONS: list[Callable[[Demo], None]] = [
    accounts.run,
    cameos.run,
    posts.run,
    generation.run,
    feed.run,
    moderation.run,
]


def run_scenario(demo: Demo) -> Demo:
    for section in SECTIONS:
        section(demo)
    return demo
