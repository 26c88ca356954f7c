"""Which exceptions mean "a backing service is unreachable" (answer 503, retry later)."""

from __future__ import annotations

RETRY_AFTER_S = 5


def outage_of(exc: BaseException | None) -> str | None:
    """ "database", "redis" or "broker" when `exc` (or what caused it) is that service being
    down, slow past its timeout, or out of pooled connections; None for anything else."""
    from django.db import InterfaceError as DjangoInterfaceError
    from django.db import OperationalError as DjangoOperationalError

    seen = 0
    while exc is not None and seen < 10:
        seen += 1
        module = type(exc).__module__ or ""
        name = type(exc).__name__
        if isinstance(exc, DjangoOperationalError | DjangoInterfaceError):
            return "database"
        if module.startswith("psycopg_pool") and name == "PoolTimeout":
            return "database"
        if module.startswith("psycopg") and name in {"OperationalError", "InterfaceError"}:
            return "database"
        if module.startswith("redis") and name in {"ConnectionError", "TimeoutError", "BusyLoadingError"}:
            return "redis"
        if module.startswith("kombu") and name == "OperationalError":
            return "broker"
        exc = exc.__cause__ or exc.__context__
    return None
