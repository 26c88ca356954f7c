"""The policy checks as generation, feed and the moderation console call them.

The only Django-facing part of moderation.policy: it reads the MODERATION_REMOTE_* settings and
the banned-media list from its own table (store.py), then calls the plain modules. Checks have no side
effects; `banned_media_add` / `banned_media_remove` are the write use-cases for the list.

Settings read (all optional, through django.conf.settings with these defaults):
    MODERATION_REMOTE_URL          ""   (empty: the remote layer is off)
    MODERATION_REMOTE_MODEL        "gpt-4o-mini"
    MODERATION_REMOTE_API_KEY      ""
    MODERATION_REMOTE_TIMEOUT_S    10.0
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
from django.conf import settings
from django.db import transaction

from moderation.policy.media import check_media, frame_hashes
from moderation.policy.pipeline import check_prompt
from moderation.policy.remote import RemoteConfig
from moderation.policy.restrictions import check_cameo_restrictions
from moderation.policy.result import PolicyResult
from moderation.policy.store import BannedMediaHash
from moderation.policy.subjects import CameoSubject
from sora_social.common.errors import ApplicationError

_HEX16 = re.compile(r"^[0-9a-f]{16}$")


def remote_config() -> RemoteConfig | None:
    """The remote layer's configuration, or None when MODERATION_REMOTE_URL is not set."""
    url = getattr(settings, "MODERATION_REMOTE_URL", "") or ""
    if not url:
        return None
    return RemoteConfig(
        url=url,
        model=getattr(settings, "MODERATION_REMOTE_MODEL", "gpt-4o-mini") or "gpt-4o-mini",
        api_key=getattr(settings, "MODERATION_REMOTE_API_KEY", "") or "",
        timeout_s=float(getattr(settings, "MODERATION_REMOTE_TIMEOUT_S", 10.0) or 10.0),
    )


def prompt_check(
    prompt: str,
    *,
    cameos: Sequence[CameoSubject] = (),
    viewer_is_minor: bool = False,
    plain_mentions: Sequence[str] = (),
) -> PolicyResult:
    """Rules, classifier, likeness guard, the featured cameos' restrictions, then (if configured)
    the remote model. Block -> refuse the job; review -> hold it for a moderator; allow -> go.
    plain_mentions: see `check_prompt`."""
    return check_prompt(
        prompt, cameos=cameos, viewer_is_minor=viewer_is_minor, remote=remote_config(), plain_mentions=plain_mentions
    )


def cameo_restrictions_check(prompt: str, cameos: Sequence[CameoSubject]) -> PolicyResult:
    """Only the featured cameos' owner restrictions and licence themes (prompt_check runs these too)."""
    return check_cameo_restrictions(prompt, cameos)


def banned_media_hashes() -> list[str]:
    return list(BannedMediaHash.objects.values_list("hash", flat=True))


def media_check(frames: Sequence[np.ndarray], *, banned_hashes: Iterable[str] | None = None) -> PolicyResult:
    """Nudity on sampled frames and a match against banned media.

    banned_hashes: None (the default) checks against the BannedMediaHash table.
    """
    banned = banned_media_hashes() if banned_hashes is None else banned_hashes
    return check_media(frames, banned_hashes=banned)


@transaction.atomic
def banned_media_add(
    *,
    hashes: Iterable[str] = (),
    frames: Sequence[np.ndarray] = (),
    reason: str,
    source: str = "",
) -> list[BannedMediaHash]:
    """Add media to the banned list, by perceptual hashes or by frames (hashed here).

    Idempotent: a hash already on the list is kept as it is. Returns the rows for these hashes.
    """
    values = [h.strip().lower() for h in hashes]
    values += frame_hashes(frames) if len(frames) else []
    bad = [h for h in values if not _HEX16.match(h)]
    if bad:
        raise ApplicationError("invalid_media_hash", f"Not a 64-bit perceptual hash: {bad[0]!r}.")
    if not values:
        raise ApplicationError("no_media_hash", "Nothing to ban: no hashes given and no frame with detail.")
    unique = list(dict.fromkeys(values))
    BannedMediaHash.objects.bulk_create(
        [BannedMediaHash(hash=h, reason=reason[:300], source=source[:100]) for h in unique],
        ignore_conflicts=True,
    )
    return list(BannedMediaHash.objects.filter(hash__in=unique).order_by("pk"))


@transaction.atomic
def banned_media_remove(*, hashes: Iterable[str] = (), source: str = "") -> int:
    """Take hashes off the banned list (an appeal upheld): by hash, or everything from one source."""
    values = [h.strip().lower() for h in hashes]
    if not values and not source:
        raise ApplicationError("nothing_to_remove", "Give hashes or a source to remove.")
    rows = BannedMediaHash.objects.all()
    rows = rows.filter(hash__in=values) if values else rows.filter(source=source)
    deleted, _ = rows.delete()
    return deleted
