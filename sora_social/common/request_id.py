"""The id of the request being served, for log records. No Django imports: settings' LOGGING
loads the filter before the apps are ready."""

from __future__ import annotations

import contextvars
import logging

# Under ASGI the (sync) view runs in a thread that gets a copy of this context, so its logs
# carry the id too. RequestIdMiddleware sets it.
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record (settings LOGGING uses it in the format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True
