"""Structured logs (one JSON object a line) with personal data masked.

Identity numbers and credit codes are masked by a filter on every handler, so a
careless log call cannot leak them; passwords and tokens are never logged at all.
"""

from __future__ import annotations

import json
import logging
import sys

from common.identifiers.masking import PersonalDataFilter
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
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


_configured = False


def configure_logging(*, json_lines: bool = True, level: int = logging.INFO) -> None:
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger("onetrip")
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    _configured = True
