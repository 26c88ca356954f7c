"""Stored files that must go with the rows that pointed at them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction


def delete_files_on_commit(paths: Iterable[str]) -> None:
    """Erase stored files once the transaction that stopped referencing them has committed
    (never on a rollback, which would leave rows pointing at nothing)."""
    wanted = [path for path in paths if path]

    def erase() -> None:
        for path in wanted:
            with contextlib.suppress(OSError):
                default_storage.delete(path)

    transaction.on_commit(erase)
