"""Load models before a process says it is ready, never inside a request or a job.

Each app registers what its code paths load on first use (`register` in its AppConfig.ready),
for the process roles that need it: "web" (the ASGI server: prompt policy, ranker), "gpu"
(the video model, the media checks), "default" (cameo verification, embeddings). The ASGI
module and the Celery worker call `run(role)` at start-up; `/readyz` answers 503 until it has
finished. A request therefore never holds a pooled database connection while a model loads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

ROLES = ("web", "gpu", "default")


@dataclass
class _State:
    roles: set[str] = field(default_factory=set)
    started_at: float | None = None
    finished_at: float | None = None
    loaded: dict[str, float] = field(default_factory=dict)  # name -> seconds it took
    failed: dict[str, str] = field(default_factory=dict)


_registry: list[tuple[str, frozenset[str], Callable[[], object]]] = []
_state = _State()
_lock = threading.Lock()


def register(name: str, load: Callable[[], object], *, roles: Iterable[str]) -> None:
    """`load()` brings `name` into memory (idempotent: it is the code path's own lazy loader)."""
    wanted = frozenset(roles)
    unknown = wanted - set(ROLES)
    if unknown:
        raise ValueError(f"unknown process roles {sorted(unknown)}; use {ROLES}")
    if any(existing == name for existing, _, _ in _registry):
        return
    _registry.append((name, wanted, load))


def run(*roles: str) -> dict[str, float]:
    """Load everything registered for these roles; returns seconds per item. A failure is
    logged and reported by `status()` (the process is then not ready), never raised."""
    with _lock:
        _state.roles.update(roles)
        _state.started_at = _state.started_at or time.monotonic()
        _state.finished_at = None
        for name, wanted, load in _registry:
            if not wanted & set(roles) or name in _state.loaded:
                continue
            began = time.monotonic()
            try:
                load()
            except Exception as exc:  # a model that cannot load must show in /readyz, not kill start-up
                logger.exception("warm-up: %s failed to load", name)
                _state.failed[name] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            _state.loaded[name] = round(time.monotonic() - began, 3)
            _state.failed.pop(name, None)
            logger.info("warm-up: %s loaded in %.2fs", name, _state.loaded[name])
        _state.finished_at = time.monotonic()
        return dict(_state.loaded)


def status() -> dict[str, object]:
    """What /readyz reports: which roles were warmed, what loaded, what failed."""
    return {
        "roles": sorted(_state.roles),
        "done": _state.finished_at is not None and not _state.failed,
        "loaded": dict(_state.loaded),
        "failed": dict(_state.failed),
    }


def is_ready() -> bool:
    return _state.finished_at is not None and not _state.failed


# --- the other end of a worker process's life ---------------------------------------------------

_shutdown_hooks: list[tuple[str, Callable[[], object]]] = []


def register_shutdown(name: str, finish: Callable[[], object]) -> None:
    """`finish()` runs when a Celery worker process stops warmly (registered in an app's
    AppConfig.ready, so the Celery app module imports no app)."""
    if all(existing != name for existing, _ in _shutdown_hooks):
        _shutdown_hooks.append((name, finish))


def run_shutdown() -> None:
    for name, finish in tuple(_shutdown_hooks):
        try:
            finish()
        except Exception:
            logger.exception("shutdown hook %s failed", name)
