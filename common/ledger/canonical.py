"""Canonical bytes of ledger data: RFC 8785 (JCS) behind a domain-separation prefix.

The ``rfc8785`` package does the canonicalisation. It accepts floats and normalises no
text, so this module first checks the value: only strings, integers in the JSON-safe
range, booleans, null, lists and objects with string keys; every string NFC-normalised.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

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
