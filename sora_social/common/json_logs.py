"""JSON log lines and the request id on Sentry events. No Django imports: settings load this.

One object a line: time, level, logger, message, request_id (the X-Request-Id of the request
being served, or of the request that queued the task a worker is running), process role, and
the exception's traceback if any, so a log pipeline (Loki, Elasticsearch, CloudWatch) can
follow one request from the web process to the worker without parsing text.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from sora_social.common.request_id import current_request_id

_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id.get(),
            "process": os.environ.get("SORA_PROCESS", ""),
            "pid": record.process,
        }
        # Anything passed with `extra=` travels as its own field.
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def sentry_before_send(event: dict, hint: dict) -> dict:
    """Tag each Sentry event with the request id, so an error report leads to its log lines."""
    request_id = current_request_id.get()
    if request_id != "-":
        event.setdefault("tags", {})["request_id"] = request_id
    return event
