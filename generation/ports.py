"""Ports: what generation needs from apps above it (feed), registered by them at start-up.

Generation sits below feed in the dependency order, so it cannot import feed. Feed registers
its handlers here in `FeedConfig.ready()`; generation calls whatever is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generation.models import GenerationJob, Video

# (viewer_id, video) -> True if something above lets this viewer see the video (a post
# they may see shows it). The owner's own access is decided in generation itself.
VideoViewerCheck = Callable[[int, "Video"], bool]
# (video_id, reason) -> None: called inside the takedown's transaction, so whatever shows
# the video (notifications about its posts) goes down with it.
VideoTakenDownHandler = Callable[[int, str], None]
# (video_id) -> None: the takedown was undone.
VideoRestoredHandler = Callable[[int], None]

_viewer_checks: list[VideoViewerCheck] = []
_taken_down_handlers: list[VideoTakenDownHandler] = []
_restored_handlers: list[VideoRestoredHandler] = []


def register_video_viewer_check(check: VideoViewerCheck) -> None:
    if check not in _viewer_checks:
        _viewer_checks.append(check)


def register_video_taken_down_handler(handler: VideoTakenDownHandler) -> None:
    if handler not in _taken_down_handlers:
        _taken_down_handlers.append(handler)


def register_video_restored_handler(handler: VideoRestoredHandler) -> None:
    if handler not in _restored_handlers:
        _restored_handlers.append(handler)


def viewer_checks() -> tuple[VideoViewerCheck, ...]:
    return tuple(_viewer_checks)


def taken_down_handlers() -> tuple[VideoTakenDownHandler, ...]:
    return tuple(_taken_down_handlers)


def restored_handlers() -> tuple[VideoRestoredHandler, ...]:
    return tuple(_restored_handlers)


# (viewer, post_id) -> (video to remix, the post's id): feed resolves a post the viewer may
# remix, or raises NotFound / Forbidden("remix_not_allowed"). Generation sits below feed, so a
# remix request reaches the post this way.
RemixSourceResolver = Callable[..., tuple["Video", int]]
_remix_source_resolvers: list[RemixSourceResolver] = []


def register_remix_source_resolver(resolver: RemixSourceResolver) -> None:
    if resolver not in _remix_source_resolvers:
        _remix_source_resolvers.append(resolver)


def resolve_remix_source(*, viewer, post_id: int) -> tuple[Video, int]:
    if not _remix_source_resolvers:
        from sora_social.common.errors import ApplicationError

        raise ApplicationError("remix_unavailable", "Remixing posts is not available on this server.", status_code=501)
    return _remix_source_resolvers[-1](viewer=viewer, post_id=post_id)


# (video_id, creator_id, policy) -> None: a finished video that a policy layer wants a person
# to look at ("review", not "block"). Moderation's case layer (above generation) registers
# here and opens a case; the video stays a private draft until it is posted.
PolicyReviewHandler = Callable[..., None]
_policy_review_handlers: list[PolicyReviewHandler] = []


def register_policy_review_handler(handler: PolicyReviewHandler) -> None:
    if handler not in _policy_review_handlers:
        _policy_review_handlers.append(handler)


def policy_review_handlers() -> tuple[PolicyReviewHandler, ...]:
    return tuple(_policy_review_handlers)


# (job) -> None: a job reached its end: succeeded, failed, blocked, or cancelled because a cameo's
# owner withdrew consent (not the user's own cancel or delete),
# called inside the transaction that finished it (webhooks queue their deliveries there).
JobFinishedListener = Callable[["GenerationJob"], None]
_job_finished_listeners: list[JobFinishedListener] = []


def register_job_finished_listener(listener: JobFinishedListener) -> None:
    if listener not in _job_finished_listeners:
        _job_finished_listeners.append(listener)


def job_finished(job: GenerationJob) -> None:
    for listener in tuple(_job_finished_listeners):
        listener(job)
