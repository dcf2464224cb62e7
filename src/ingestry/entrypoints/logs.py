"""Structured logs: one JSON object per line, carrying the request id (or job id) of
the work it belongs to, taken from a context variable (threads started by the server
for a request copy the context, so their lines carry it too)."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

request_id: ContextVar[str | None] = ContextVar("ingestry_request_id", default=None)
job_id: ContextVar[str | None] = ContextVar("ingestry_job_id", default=None)

#: LogRecord attributes that are not "extra" fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


_installed = False


def stamp_context() -> None:
    """Stamp every log record, when it is made, with the request id and job id of the
    context it is made in (whichever handler formats it later, in whatever thread)."""
    global _installed
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        rid = request_id.get()
        if rid is not None:
            record.request_id = rid
        jid = job_id.get()
        if jid is not None:
            record.job_id = jid
        return record

    logging.setLogRecordFactory(factory)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for ingestry's, uvicorn's and the root logger."""
    stamp_context()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
