"""Structured logs (one JSON object a line) with personal data masked.

Identity numbers, credit codes, phone numbers and tokens are masked by a filter on
the one handler every logger reaches — onetrip's own, uvicorn's and APScheduler's
(``onetrip serve`` starts uvicorn without its own logging configuration) — and the
formatter writes a traceback only from the masked text the filter left, so a careless
log call or an exception's message cannot leak them.
"""

from __future__ import annotations

import json
import logging
import sys
from types import TracebackType
from typing import TextIO

from common.identifiers.masking import PersonalDataFilter, mask_log_text
from common.timeutil import iso_utc, utcnow


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": iso_utc(utcnow()),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("node_id", "event_id", "peer", "code", "constraint"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_text:  # the filter's masked rendering of exc_info
            entry["exc"] = record.exc_text
        elif record.exc_info:
            entry["exc"] = mask_log_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class PlainFormatter(logging.Formatter):
    """``level logger message`` for a terminal, with the masked traceback text."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s")

    def formatException(self, ei: ExcInfo) -> str:
        return mask_log_text(super().formatException(ei))


_configured = False


def masked_handler(stream: TextIO, *, json_lines: bool = True) -> logging.Handler:
    """A handler that writes masked records to ``stream``: the node's one handler."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json_lines else PlainFormatter())
    handler.addFilter(PersonalDataFilter())
    return handler


def configure_logging(*, json_lines: bool = True, level: int = logging.INFO) -> None:
    global _configured
    if _configured:
        return
    handler = masked_handler(sys.stderr, json_lines=json_lines)
    # One handler on the root logger: every library's records pass its filter. Our own
    # loggers say what they do at INFO; libraries only warnings and errors.
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("onetrip").setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler"):
        library = logging.getLogger(name)
        library.handlers.clear()  # any handler of their own would bypass the filter
        library.propagate = True
    _configured = True
