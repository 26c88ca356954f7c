"""Ports: what cameos needs apps above it (generation, feed) to do, registered by them at start-up.

cameos sits low in the dependency order (users <- cameos <- moderation.policy <- generation <-
feed), so it cannot import the apps that own jobs, videos and posts. They register handlers
here from their `AppConfig.ready()`; cameos services call every registered handler inside their
own transaction, so a handler's writes commit or roll back with the consent change that caused
them. Handlers must be idempotent (a retried service calls them again) and must not call back
into the cameos services that called them.

Two ports:

- Job cancellers, called when consent narrows (audience, lists, revoke, delete):
  `handler(*, cameo_id: int, still_allowed: Callable[[int], bool], reason: str) -> int`.
  The handler looks at its own queued or running jobs that feature `cameo_id`, asks
  `still_allowed(user_id)` for each job's user (cameos answers with `can_use_cameo` on the new
  settings), cancels (and refunds) the ones answered False, and returns how many it cancelled.
- Video takedowns, called when a cameo's owner removes an appearance (or asks, when
  narrowing, for existing videos of people no longer allowed to go):
  `handler(*, video_id: int, cameo_id: int, creator_id: int, reason: str, actor_id: int) -> None`.
  The handler takes the video down everywhere it shows (the draft in generation, posts in feed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class JobCanceller(Protocol):
    def __call__(self, *, cameo_id: int, still_allowed: Callable[[int], bool], reason: str) -> int: ...


class VideoTakedown(Protocol):
    def __call__(self, *, video_id: int, cameo_id: int, creator_id: int, reason: str, actor_id: int) -> None: ...


_job_cancellers: list[JobCanceller] = []
_video_takedowns: list[VideoTakedown] = []


def register_job_canceller(handler: JobCanceller) -> JobCanceller:
    """Register a job canceller (idempotent: registering the same function twice keeps one)."""
    if handler not in _job_cancellers:
        _job_cancellers.append(handler)
    return handler


def register_video_takedown(handler: VideoTakedown) -> VideoTakedown:
    if handler not in _video_takedowns:
        _video_takedowns.append(handler)
    return handler


def unregister_job_canceller(handler: JobCanceller) -> None:
    if handler in _job_cancellers:
        _job_cancellers.remove(handler)


def unregister_video_takedown(handler: VideoTakedown) -> None:
    if handler in _video_takedowns:
        _video_takedowns.remove(handler)


def job_cancellers() -> tuple[JobCanceller, ...]:
    return tuple(_job_cancellers)


def video_takedowns() -> tuple[VideoTakedown, ...]:
    return tuple(_video_takedowns)


@contextmanager
def registered(
    *, job_canceller: JobCanceller | None = None, video_takedown: VideoTakedown | None = None
) -> Iterator[None]:
    """Register handlers for the duration of a block (tests, one-off scripts)."""
    if job_canceller is not None:
        register_job_canceller(job_canceller)
    if video_takedown is not None:
        register_video_takedown(video_takedown)
    try:
        yield
    finally:
        if job_canceller is not None:
            unregister_job_canceller(job_canceller)
        if video_takedown is not None:
            unregister_video_takedown(video_takedown)


def cancel_jobs(*, cameo_id: int, still_allowed: Callable[[int], bool], reason: str) -> int:
    """Run every registered job canceller; the total number of jobs they cancelled."""
    return sum(int(h(cameo_id=cameo_id, still_allowed=still_allowed, reason=reason) or 0) for h in _job_cancellers)


def take_down_video(*, video_id: int, cameo_id: int, creator_id: int, reason: str, actor_id: int) -> int:
    """Run every registered video takedown; how many handlers ran."""
    for handler in tuple(_video_takedowns):
        handler(video_id=video_id, cameo_id=cameo_id, creator_id=creator_id, reason=reason, actor_id=actor_id)
    return len(_video_takedowns)


# --- Clip checks: is a new cameo's clip one of the app's own videos showing someone? ----------


class ClipCheck(Protocol):
    def __call__(self, *, owner_id: int, clip_bytes: bytes, kind: str) -> None: ...


_clip_checks: list[ClipCheck] = []


def register_clip_check(handler: ClipCheck) -> ClipCheck:
    """Generation registers one that recognises its own videos (media_match) and refuses a clip
    that shows someone else's cameo: a cameo made of a copy of another person's likeness would
    escape that person's consent. The handler raises an ApplicationError to refuse."""
    if handler not in _clip_checks:
        _clip_checks.append(handler)
    return handler


def check_clip(*, owner_id: int, clip_bytes: bytes, kind: str) -> None:
    """Run every registered clip check (each raises to refuse)."""
    for handler in tuple(_clip_checks):
        handler(owner_id=owner_id, clip_bytes=clip_bytes, kind=kind)
