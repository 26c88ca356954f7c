"""Ports: what leaving (account export and deletion) needs every app above users to do.

users is the lowest app (users <- cameos <- moderation.policy <- generation <- feed <- moderation
cases; notifications imports only users), so it cannot reach the tables that hold a person's
cameos, videos, posts or notifications. Each of those apps registers, in its
`AppConfig.ready()`, what it exports and what it erases when a user leaves:

- Exporters: `handler(*, user) -> Iterable[ExportSection]`: JSON-ready data and the stored
  files (media) that belong in the user's archive. Reads only.
- Erasers: `handler(*, user) -> dict[str, int]`, called by `users.services.user_delete`
  inside its transaction, in ascending `order`, while the user row still carries its handle;
  each erases or anonymises its app's rows and returns counts of what it did. A handler's writes
  commit or roll back with the deletion. Files are removed only after commit
  (`transaction.on_commit`), so a rolled-back deletion loses nothing.
- Export-ready listeners: `handler(*, user, export_id) -> None`, called inside the transaction
  that marks an export ready (notifications tells the user).

Two more ports carry what users' own writes mean to the apps above it (notifications registers
both), so users never imports them:

- Follow listeners: `handler(*, follow) -> None`, called inside the transaction that created a
  follow (the followee is told).
- Tokens-revoked listeners: `handler(*, token_ids) -> None`, called inside the transaction that
  revoked them (websockets opened with them close once it commits).

The order of erasers matters: cameos first (its take-downs reach generation and feed through
the cameos ports while the cameo rows still say who is in which video), then feed (posts go
before the videos they show), then generation (jobs cancelled and refunded, videos taken down,
files erased), then notifications last (the take-downs above notify people, and the user's
own stream is then dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sora_social.users.models import Follow, User

# Conventional orders (lower runs first); see the module docstring for why.
ORDER_API_KEYS = 5  # an app stops acting for the person first
ORDER_CAMEOS = 10
ORDER_FEED = 20
ORDER_GENERATION = 30
ORDER_MODERATION = 40
ORDER_NOTIFICATIONS = 90


@dataclass(frozen=True)
class ExportFile:
    """A stored file that goes into the archive: `storage_path` in default_storage, written at
    `archive_path` (under media/, e.g. "media/videos/12.mp4")."""

    archive_path: str
    storage_path: str


@dataclass
class ExportSection:
    """One JSON file of the archive (`<name>.json`) and the media that go with it."""

    name: str
    data: Any
    files: list[ExportFile] = field(default_factory=list)


AccountExporter = Callable[..., Iterable[ExportSection]]
AccountEraser = Callable[..., dict[str, int]]
ExportReadyListener = Callable[..., None]
FollowListener = Callable[..., None]
TokensRevokedListener = Callable[..., None]

_exporters: list[AccountExporter] = []
_erasers: list[tuple[int, AccountEraser]] = []
_export_ready_listeners: list[ExportReadyListener] = []
_follow_listeners: list[FollowListener] = []
_tokens_revoked_listeners: list[TokensRevokedListener] = []


def register_account_exporter(handler: AccountExporter) -> AccountExporter:
    if handler not in _exporters:
        _exporters.append(handler)
    return handler


def register_account_eraser(handler: AccountEraser, *, order: int) -> AccountEraser:
    if all(existing is not handler for _, existing in _erasers):
        _erasers.append((order, handler))
        _erasers.sort(key=lambda pair: pair[0])
    return handler


def register_export_ready_listener(handler: ExportReadyListener) -> ExportReadyListener:
    if handler not in _export_ready_listeners:
        _export_ready_listeners.append(handler)
    return handler


def register_follow_listener(handler: FollowListener) -> FollowListener:
    if handler not in _follow_listeners:
        _follow_listeners.append(handler)
    return handler


def register_tokens_revoked_listener(handler: TokensRevokedListener) -> TokensRevokedListener:
    if handler not in _tokens_revoked_listeners:
        _tokens_revoked_listeners.append(handler)
    return handler


def export_sections(*, user: User) -> list[ExportSection]:
    """Every registered exporter's sections for `user`."""
    return [section for handler in tuple(_exporters) for section in handler(user=user)]


def erase_account(*, user: User) -> dict[str, int]:
    """Run every registered eraser in order; their counts merged (names are app-prefixed)."""
    counts: dict[str, int] = {}
    for _, handler in tuple(_erasers):
        counts.update(handler(user=user) or {})
    return counts


def announce_export_ready(*, user: User, export_id: int) -> None:
    for handler in tuple(_export_ready_listeners):
        handler(user=user, export_id=export_id)


def announce_follow_created(*, follow: Follow) -> None:
    for handler in tuple(_follow_listeners):
        handler(follow=follow)


def announce_tokens_revoked(*, token_ids: list[int]) -> None:
    if token_ids:
        for handler in tuple(_tokens_revoked_listeners):
            handler(token_ids=token_ids)
