"""What apikeys asks of higher apps.

- How much of a key's quota is in use: generation owns the ledger and the jobs, and sits above
  this app, so it registers a reader (GenerationConfig.ready) that answers for a key: credits
  spent today, jobs in flight, when the day's budget starts again.
- Keys were revoked: notifications closes the websockets opened with them (on commit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

UsageReader = Callable[..., dict[str, Any]]
KeysRevokedListener = Callable[..., None]

_usage_readers: list[UsageReader] = []
_keys_revoked_listeners: list[KeysRevokedListener] = []


def register_keys_revoked_listener(handler: KeysRevokedListener) -> KeysRevokedListener:
    if handler not in _keys_revoked_listeners:
        _keys_revoked_listeners.append(handler)
    return handler


def keys_revoked(*, key_ids: list[int]) -> None:
    for handler in tuple(_keys_revoked_listeners):
        handler(key_ids=key_ids)


def register_usage_reader(reader: UsageReader) -> UsageReader:
    if reader not in _usage_readers:
        _usage_readers.append(reader)
    return reader


def key_usage(*, key) -> dict[str, Any]:
    usage: dict[str, Any] = {}
    for reader in tuple(_usage_readers):
        usage.update(reader(key=key))
    return usage
