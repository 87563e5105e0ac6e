"""Structured JSON logs; every line carries the request id of the request it belongs to."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


_make_record = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _make_record(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


# Every record, whichever handler writes it, knows the request it was made in.
logging.setLogRecordFactory(_record_with_request_id)


class _WithoutQueryStrings(logging.Filter):
    """uvicorn's request lines (``"GET /graphql?query=… HTTP/1.1" 200``, ``"WebSocket
    /graphql?…"``) with the path alone: a GET query carries its document and variables in
    the query string, and those may hold a password or a card number."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
                isinstance(a, str) and a.startswith("/") and "?" in a for a in record.args):
            record.args = tuple(a.split("?", 1)[0] if isinstance(a, str) and a.startswith("/")
                                else a for a in record.args)
        return True


for _name in ("uvicorn.access", "uvicorn.error"):
    logging.getLogger(_name).addFilter(_WithoutQueryStrings())


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
