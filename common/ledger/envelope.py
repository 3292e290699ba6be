"""Build, sign, parse and verify event envelopes.

A stored event is the exact canonical bytes (``raw``) of the whole envelope, ``sig``
included. Verification parses ``raw``, requires that it is already canonical (so one
event has one byte form and one id), and checks the Ed25519 signature over the
prefixed canonical bytes of the envelope without ``sig``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common.ledger.canonical import (
    CanonicalError,
    canonical_json,
    domain_prefix,
    event_id_of,
    loads_if_canonical,
    normalise,
    signing_input,
)

ENVELOPE_VERSION = 1
ALGORITHMS = ("ed25519",)
FIELDS = (
    "v",
    "alg",
    "author",
    "kid",
    "aseq",
    "aprev",
    "subject",
    "sseq",
    "sprev",
    "kind",
    "at",
    "body",
    "sig",
)


class Signer(Protocol):
    node_id: str

    @property
    def kid(self) -> str: ...  # read-only: NodeKey derives it from the public key

    def sign(self, data: bytes) -> bytes: ...


class EnvelopeError(ValueError):
    """A malformed, non-canonical or badly signed event; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SignedEvent:
    id: str
    raw: bytes
    envelope: dict[str, Any]

    # Strings by construction: sign_event writes them as str and parse_event refuses
    # anything else (stored events passed it on entry). Typed locals, no per-event check.
    @property
    def author(self) -> str:
        author: str = self.envelope["author"]
        return author

    @property
    def kind(self) -> str:
        kind: str = self.envelope["kind"]
        return kind

    @property
    def subject(self) -> str:
        subject: str = self.envelope["subject"]
        return subject

    @property
    def body(self) -> Any:
        return self.envelope["body"]


def sign_event(
    signer: Signer,
    network_id: str,
    *,
    aseq: int,
    aprev: str | None,
    subject: str,
    sseq: int,
    sprev: str | None,
    kind: str,
    at: str,
    body: Any,
) -> SignedEvent:
    try:
        unsigned = normalise(
            {
                "v": ENVELOPE_VERSION,
                "alg": "ed25519",
                "author": signer.node_id,
                "kid": signer.kid,
                "aseq": aseq,
                "aprev": aprev,
                "subject": subject,
                "sseq": sseq,
                "sprev": sprev,
                "kind": kind,
                "at": at,
                "body": body,
            }
        )
    except CanonicalError as exc:
        raise EnvelopeError("event.not_canonical", str(exc)) from exc
    # Canonicalise each top-level member once (the body dominates) and assemble both the
    # signed bytes and the stored bytes from them; tests pin the result to plain JCS.
    members = {key: canonical_json(value) for key, value in unsigned.items()}
    signature = signer.sign(domain_prefix(network_id) + _assemble(members))
    envelope = {**unsigned, "sig": b64u(signature)}
    members["sig"] = canonical_json(envelope["sig"])
    raw = _assemble(members)
    return SignedEvent(id=event_id_of(network_id, raw), raw=raw, envelope=envelope)


def _assemble(members: dict[str, bytes]) -> bytes:
    """JCS of an object whose members are already canonical. The envelope's keys are
    ASCII, so sorting them as str equals RFC 8785's UTF-16 code-unit order."""
    return (
        b"{"
        + b",".join(b'"' + key.encode("ascii") + b'":' + members[key] for key in sorted(members))
        + b"}"
    )


def parse_event(network_id: str, raw: bytes) -> SignedEvent:
    """Parse stored or received bytes; checks shape and canonical form, not the signature."""
    # The fast canonical check answers for almost every event; when it cannot tell,
    # the exact check below decides (and names the problem).
    envelope = loads_if_canonical(raw)
    canonical = envelope is not None
    if not canonical:
        try:
            envelope = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError("event.not_json", str(exc)) from exc
    if not isinstance(envelope, dict) or set(envelope) != set(FIELDS):
        raise EnvelopeError("event.fields", "envelope fields are not exactly the v1 set")
    if envelope["v"] != ENVELOPE_VERSION:
        raise EnvelopeError("event.version", f"unknown envelope version {envelope['v']!r}")
    if envelope["alg"] not in ALGORITHMS:
        raise EnvelopeError("event.alg", f"unsupported algorithm {envelope['alg']!r}")
    for name in ("aseq", "sseq"):
        if (
            not isinstance(envelope[name], int)
            or isinstance(envelope[name], bool)
            or envelope[name] < 1
        ):
            raise EnvelopeError("event.seq", f"{name} must be a positive integer")
    for name in ("author", "kid", "subject", "kind", "at", "sig"):
        if not isinstance(envelope[name], str) or not envelope[name]:
            raise EnvelopeError("event.fields", f"{name} must be a non-empty string")
    for name, seq in (("aprev", "aseq"), ("sprev", "sseq")):
        if (envelope[name] is None) != (envelope[seq] == 1):
            raise EnvelopeError("event.chain", f"{name} must be null exactly when {seq} is 1")
    if not canonical:
        try:
            if canonical_json(normalise(envelope)) != raw:
                raise EnvelopeError("event.not_canonical", "bytes are not the canonical form")
        except CanonicalError as exc:
            raise EnvelopeError("event.not_canonical", str(exc)) from exc
    return SignedEvent(id=event_id_of(network_id, raw), raw=raw, envelope=envelope)


def signed_bytes(network_id: str, event: SignedEvent) -> bytes:
    """The bytes the signature covers: the prefix and the canonical envelope without ``sig``.

    ``raw`` is canonical, so that is ``raw`` with its top-level ``,"sig":"…"`` member cut
    out. A quote inside a JSON string is always escaped, so ``,"sig":"`` in the bytes
    only starts a member named ``sig``, and the last one is the envelope's (the body,
    where a nested one could be, comes before it). Anything unexpected (a signature
    that JSON would escape) falls back to canonicalising the envelope again.
    """
    sig = event.envelope["sig"]
    member = b',"sig":"' + sig.encode("utf-8", "replace") + b'"'
    at = event.raw.rfind(member)
    end = at + len(member)
    if (
        at > 0
        and sig.isascii()
        and '"' not in sig
        and "\\" not in sig
        and event.raw[end : end + 1] in (b",", b"}")
    ):
        return domain_prefix(network_id) + event.raw[:at] + event.raw[end:]
    return signing_input(network_id, {k: v for k, v in event.envelope.items() if k != "sig"})


def verify_signature(network_id: str, event: SignedEvent, public_key: Ed25519PublicKey) -> None:
    try:
        public_key.verify(unb64u(event.envelope["sig"]), signed_bytes(network_id, event))
    except (InvalidSignature, ValueError) as exc:
        raise EnvelopeError("event.signature", f"bad signature on {event.id}") from exc
