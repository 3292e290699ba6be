"""The fast canonical check and the signed bytes cut from the stored bytes agree with the
exact definitions (``normalise`` + ``rfc8785``; the envelope canonicalised without ``sig``)."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from common.ledger.canonical import (
    CanonicalError,
    canonical_json,
    loads_if_canonical,
    normalise,
    signing_input,
)
from common.ledger.envelope import EnvelopeError, parse_event, signed_bytes, unb64u

NETWORK = "test-net"
text = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["e\u0301", "\u00e9", "\x00\x1f\x7f", '"\\/', "\U0001f600", "\ufb01", "\u2028", "\ue000", "ñ"]
)
scalars = (
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=True) | text
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def exact(raw: bytes) -> bool:
    try:
        return canonical_json(normalise(json.loads(raw.decode("utf-8")))) == raw
    except (CanonicalError, ValueError, UnicodeDecodeError):
        return False


@settings(max_examples=400)
@given(values)
def test_the_fast_check_only_says_canonical_when_the_exact_one_does(value) -> None:  # type: ignore[no-untyped-def]
    candidates = [
        json.dumps(
            value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=True
        ).encode("utf-8", "surrogatepass"),
        json.dumps(value, sort_keys=True).encode(),
    ]
    with contextlib.suppress(CanonicalError):
        candidates.append(canonical_json(normalise(value)))
    for raw in candidates:
        fast = loads_if_canonical(raw)
        if fast is not None:
            assert exact(raw), raw
            assert fast == json.loads(raw)


@given(st.dictionaries(text, values, max_size=3))
def test_canonical_bytes_mostly_take_the_fast_path(body) -> None:  # type: ignore[no-untyped-def]
    try:
        raw = canonical_json(normalise(body))
    except CanonicalError:
        return
    if raw.isascii():
        assert loads_if_canonical(raw) is not None


class _Key:
    node_id = "430424000000"
    kid = "ed25519:0123456789abcdef"

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self.key = Ed25519PrivateKey.generate()

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


KEY = _Key()


@settings(max_examples=150)
@given(
    st.dictionaries(text, values, max_size=3), text.filter(bool), st.sampled_from([None, "x" * 64])
)
def test_the_signed_bytes_are_the_envelope_without_sig(body, subject, sprev) -> None:  # type: ignore[no-untyped-def]
    from common.ledger.envelope import sign_event

    body = {**body, "nested": {"sig": "AAAA", "kind": "x"}}
    try:
        event = sign_event(
            KEY,
            NETWORK,
            aseq=1,
            aprev=None,
            subject=subject,
            sseq=1 if sprev is None else 2,
            sprev=sprev,
            kind="case.filed",
            at="2026-01-01T00:00:00.000000Z",
            body=body,
        )
    except EnvelopeError:
        return
    parsed = parse_event(NETWORK, event.raw)
    unsigned = {k: v for k, v in parsed.envelope.items() if k != "sig"}
    assert signed_bytes(NETWORK, parsed) == signing_input(NETWORK, unsigned)
    KEY.key.public_key().verify(unb64u(parsed.envelope["sig"]), signed_bytes(NETWORK, parsed))
