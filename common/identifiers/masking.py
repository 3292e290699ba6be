"""Masking identifiers for display and logs (first 4, last 4, stars between).

A resident identity number is personal data (it encodes birth date and sex); a
USCC is public, but both are masked the same way so a log reader cannot tell
which was which and nothing needs a checksum to be masked: a mistyped number is
just as personal as a correct one. In logs, mobile and landline numbers keep their
first three and last four digits, and bearer tokens (``ot_…``) lose everything but
the prefix.
"""

from __future__ import annotations

import logging
import re

# 17 digits + digit/X, not inside a longer run of letters or digits.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
# GB 32100 shape: 2 charset chars, 6-digit division code, 10 charset chars; any case,
# since people type codes in lower case too.
_USCC_CHAR = "0-9A-HJ-NP-RTUWXY"
_USCC = re.compile(
    rf"(?<![0-9A-Za-z])[{_USCC_CHAR}]{{2}}[0-9]{{6}}[{_USCC_CHAR}]{{10}}(?![0-9A-Za-z])",
    re.IGNORECASE,
)


# Mainland mobile numbers (11 digits from 13x to 19x), optionally +86; landlines only
# with their area code and hyphen, so dates and case numbers are not taken for them.
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9][0-9]{9}(?![0-9A-Za-z])")
_LANDLINE = re.compile(r"(?<![0-9A-Za-z-])0[0-9]{2,3}-[0-9]{7,8}(?![0-9A-Za-z-])")
# Bearer tokens as issued (``ot_`` + token_urlsafe) and session cookies in a header line.
_TOKEN = re.compile(r"\bot_[A-Za-z0-9_-]{8,}")
_SESSION = re.compile(r"(onetrip_session_[0-9A-Za-z]+=)[A-Za-z0-9_-]+")


def _mask_phone(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def _mask_middle(value: str, keep: int) -> str:
    keep = min(keep, len(value) // 4)  # short values keep less, tiny ones nothing
    if keep == 0:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


def mask_resident_id(value: str) -> str:
    """``430424199001011234`` -> ``4304**********1234``; same length as the input."""
    return _mask_middle(value.strip(), 4)


def mask_uscc(value: str) -> str:
    """``91430424MA4L12345W`` -> ``9143**********345W``."""
    return _mask_middle(value.strip(), 4)


def mask_identifier(value: str) -> str:
    """Mask by shape: resident ids and USCCs keep 4 + 4, anything else a quarter each side."""
    value = value.strip()
    if _RESIDENT_ID.fullmatch(value):
        return mask_resident_id(value)
    if _USCC.fullmatch(value):
        return mask_uscc(value)
    return _mask_middle(value, 4)


def mask_text(text: str) -> str:
    """Mask every resident id or USCC-shaped token inside free text."""
    text = _RESIDENT_ID.sub(lambda m: mask_resident_id(m.group()), text)
    return _USCC.sub(lambda m: mask_uscc(m.group()), text)


def mask_log_text(text: str) -> str:
    """What ``mask_text`` masks, and phone numbers, bearer tokens and session cookies."""
    text = mask_text(text)
    text = _MOBILE.sub(lambda m: _mask_phone(m.group()), text)
    text = _LANDLINE.sub(lambda m: _mask_phone(m.group()), text)
    text = _TOKEN.sub("ot_***", text)
    return _SESSION.sub(r"\1***", text)


class PersonalDataFilter(logging.Filter):
    """Mask identifiers, phone numbers and tokens in log records; never drops a record.

    Attach it to *handlers*: filters on a logger do not see records propagated from
    child loggers. The message is rendered (msg % args) before masking because an
    id may arrive as an int argument formatted with ``%d``; afterwards ``args`` is
    empty so no formatter can re-insert the raw value.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: still mask what we can see
            message = f"{record.msg} {record.args!r}"
        record.msg = mask_log_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters cache the traceback text here; fill it masked first. The
            # traceback's lines and the exception's message both carry values.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_log_text(record.stack_info)
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, name, mask_log_text(value))  # ``extra={...}`` values
        return True


# A LogRecord's own attributes; anything else on a record came from ``extra``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
