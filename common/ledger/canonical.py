"""Canonical bytes of ledger data: RFC 8785 (JCS) behind a domain-separation prefix.

The ``rfc8785`` package does the canonicalisation. It accepts floats and normalises no
text, so this module first checks the value: only strings, integers in the JSON-safe
range, booleans, null, lists and objects with string keys; every string NFC-normalised.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any

import orjson
import rfc8785

MAX_SAFE_INTEGER = 2**53 - 1
PREFIX = b"onetrip/v1\x00"


class CanonicalError(ValueError):
    """The value cannot be canonicalised; ``path`` names where (e.g. ``body.fees[0]``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def normalise(value: Any, path: str = "$") -> Any:
    """Return ``value`` with every string NFC-normalised; refuse what JSON cannot carry."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError(path, "integer outside ±(2^53-1)")
        return value
    if isinstance(value, float):
        raise CanonicalError(path, "floats are not allowed; send decimals as strings")
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, (list, tuple)):
        return [normalise(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(path, "object keys must be strings")
            norm_key = unicodedata.normalize("NFC", key)
            if norm_key in result:
                raise CanonicalError(path, f"duplicate key after NFC: {norm_key!r}")
            result[norm_key] = normalise(item, f"{path}.{norm_key}")
        return result
    raise CanonicalError(path, f"type {type(value).__name__} is not allowed")


def canonical_json(value: Any) -> bytes:
    """JCS bytes of an already normalised value."""
    return rfc8785.dumps(value)


def domain_prefix(network_id: str) -> bytes:
    return PREFIX + network_id.encode("utf-8") + b"\x00"


def signing_input(network_id: str, unsigned_envelope: dict[str, Any]) -> bytes:
    return domain_prefix(network_id) + canonical_json(unsigned_envelope)


def event_id_of(network_id: str, raw: bytes) -> str:
    """The event id: SHA-256 over the prefix and the canonical bytes including ``sig``."""
    return hashlib.sha256(domain_prefix(network_id) + raw).hexdigest()


# -- the fast path for received bytes ------------------------------------------------------
# Verifying a received event means checking that its bytes are already canonical. The
# exact check (``normalise`` + ``rfc8785``, pure Python) costs about three signature
# verifications, so ingest first parses with the stdlib's C decoder (its hooks refuse
# floats and unsafe integers) and encodes again with orjson, which produces the same bytes
# as RFC 8785 for the values below, and falls back to the exact check whenever any
# precondition fails or the bytes differ. The fast check only ever says "canonical" when
# the exact one would (tests/common/ledger/test_canonical_fast.py compares them).


def _dumps(value: Any) -> bytes:
    """Compact JSON, keys sorted, UTF-8 unescaped: orjson (several times faster than the
    stdlib encoder, which was a tenth of the ingest's own work). Its string escapes are
    RFC 8785's (", \\, the short forms \\b \\f \\n \\r \\t, lowercase \\u00xx for the
    other control characters, nothing else); the property tests compare it with the exact
    check."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class _NotPlain(Exception):
    """A number the fast path does not handle (float, NaN, unsafe integer)."""


def _plain_int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise _NotPlain(text)
    return value


def _not_plain(text: str) -> Any:
    raise _NotPlain(text)


_OUTSIDE_BMP = re.compile(rb"[\xf0-\xff]")  # lead bytes of 4-byte UTF-8 sequences
_LOADS = json.JSONDecoder(
    parse_float=_not_plain, parse_int=_plain_int, parse_constant=_not_plain
).decode


def loads_if_canonical(raw: bytes) -> Any | None:
    """The parsed value when ``raw`` is certainly canonical (NFC, RFC 8785); None when
    the fast path cannot tell (the caller then runs the exact check).

    Why it is exact when it answers: the value holds no floats and only safe integers
    (the decoder refuses the rest); without 4-byte UTF-8 sequences (characters outside
    the BMP) the code-point key order equals RFC 8785's UTF-16 order; orjson
    escapes exactly what RFC 8785 escapes (", \\, control characters, with the same
    short forms and lowercase \\u00xx); and when the bytes carry no escapes, every string
    is a substring between stable quote characters, so the whole text being NFC means
    every string is.
    """
    try:
        text = raw.decode("utf-8")
        value = _LOADS(text)
    except (UnicodeDecodeError, ValueError, _NotPlain):
        return None
    if not raw.isascii() and (
        b"\\" in raw or _OUTSIDE_BMP.search(raw) or not unicodedata.is_normalized("NFC", text)
    ):
        return None
    try:
        same = _dumps(value) == raw
    except (UnicodeEncodeError, ValueError, TypeError):  # orjson.JSONEncodeError is a TypeError
        return None
    return value if same else None
