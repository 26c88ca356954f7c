"""Per-account log-in backoff: after LOGIN_BACKOFF_AFTER_FAILURES wrong passwords for one handle,
every log-in to it is refused for a window that doubles with each further failure (from
LOGIN_BACKOFF_BASE_S up to LOGIN_BACKOFF_MAX_S), whatever address the attempts come from and
whether or not the password is right; a successful log-in clears the count.

The per-IP throttle alone cannot stop a guesser who spreads attempts over many addresses.
The state lives in the cache (Redis db 1) under a digest of the normalised handle, unknown
handles included (so a refusal says nothing about whether the account exists). It is written
outside the log-in's transaction on purpose: a failed attempt rolls back and must still count.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache


def _keys(handle: str) -> tuple[str, str]:
    digest = hashlib.sha256(handle.strip().lstrip("@").lower().encode()).hexdigest()[:32]
    return f"login-backoff:failures:{digest}", f"login-backoff:until:{digest}"


def login_backoff_wait(*, handle: str) -> int:
    """Seconds until this handle may try again (0: now)."""
    _, until_key = _keys(handle)
    until = cache.get(until_key)
    return max(0, math.ceil(until - time.time())) if until else 0


def login_failure_record(*, handle: str) -> int:
    """Count a wrong password; returns the seconds the account is now locked for (0: not)."""
    failures_key, until_key = _keys(handle)
    memory_s = settings.LOGIN_BACKOFF_MAX_S * 2  # a quiet account forgets its failures
    cache.add(failures_key, 0, memory_s)
    failures = cache.incr(failures_key)
    cache.touch(failures_key, memory_s)
    over = failures - settings.LOGIN_BACKOFF_AFTER_FAILURES
    if over < 0:
        return 0
    lock_s = min(settings.LOGIN_BACKOFF_MAX_S, settings.LOGIN_BACKOFF_BASE_S * 2 ** min(over, 32))
    cache.set(until_key, time.time() + lock_s, lock_s)
    return lock_s


def login_backoff_clear(*, handle: str) -> None:
    cache.delete_many(list(_keys(handle)))
