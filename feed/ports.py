"""Ports: what the core feed tells the apps built on top of it (ranking), which it cannot import.

- Post-published listeners: `handler(*, post) -> None`, called inside the transaction that
  published a post (ranking queues the embedding of its caption through the outbox).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from feed.models import Post

PostPublishedListener = Callable[..., None]

_post_published_listeners: list[PostPublishedListener] = []


def register_post_published_listener(handler: PostPublishedListener) -> PostPublishedListener:
    if handler not in _post_published_listeners:
        _post_published_listeners.append(handler)
    return handler


def announce_post_published(*, post: Post) -> None:
    for handler in tuple(_post_published_listeners):
        handler(post=post)
