"""Shared helpers for the moderation tests: cameo subjects and synthetic frames."""

from __future__ import annotations

import pytest

from moderation.policy.subjects import CameoSubject


def person(handle: str, name: str = "", **extra) -> CameoSubject:
    """A verified person cameo owned by @handle."""
    return CameoSubject(
        cameo_id=extra.pop("cameo_id", handle),
        kind="person",
        display_name=name or handle.title(),
        owner_handle=handle,
        owner_display_name=name or handle.title(),
        **extra,
    )


@pytest.fixture
def taylor() -> CameoSubject:
    return person("taylorswift", "Taylor Swift")
