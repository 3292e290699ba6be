"""Golden vectors and refusals for the event envelope (DESIGN.md "The ledger").

The key is fixed (seed bytes 0..31) and Ed25519 is deterministic, so bytes, id and
signature are pinned; a change to canonicalisation or the prefix breaks these tests.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.identity.keys import NodeKey
from common.ledger.envelope import EnvelopeError, parse_event, sign_event, unb64u, verify_signature

NETWORK = "hengdong-430424"
KEY = NodeKey("430424000000", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
AT = "2026-11-27T08:00:00.000000Z"

GOLDEN_RAW = (
    '{"alg":"ed25519","aprev":null,"aseq":1,"at":"2026-11-27T08:00:00.000000Z",'
    '"author":"430424000000","body":{"n":9007199254740991,"name":"食品经营许可",'
    '"neg":-9007199254740991},"kid":"ed25519:56475aa75463474c","kind":"catalogue.batch_published",'
    '"sig":"BpH3_OdhtSgB8auCyEQfHq2CaJMCEqK7W4Vvp0Ic4TWyDDAgPrATJyDw-ycGsG99bm7ysgB0FpfzpolwfF79Dw",'
    '"sprev":null,"sseq":1,"subject":"catalogue","v":1}'
).encode()
GOLDEN_ID = "25ed8d38e4ae08ff93581366302c48a9dfcd7f1d0a46dcd65c20a4efae6317ba"


def _sign(body, **overrides):
    fields = {
        "aseq": 1,
        "aprev": None,
        "subject": "catalogue",
        "sseq": 1,
        "sprev": None,
        "kind": "catalogue.batch_published",
        "at": AT,
        "body": body,
    }
    fields.update(overrides)
    return sign_event(KEY, NETWORK, **fields)


def test_golden_event_bytes_id_and_signature():
    event = _sign({"name": "食品经营许可", "n": 2**53 - 1, "neg": -(2**53 - 1)})
    assert event.raw == GOLDEN_RAW
    assert event.id == GOLDEN_ID
    # Independent recomputation: id over prefix + bytes; signature over prefix + bytes without sig.
    prefix = b"onetrip/v1\x00" + NETWORK.encode() + b"\x00"
    assert hashlib.sha256(prefix + GOLDEN_RAW).hexdigest() == GOLDEN_ID
    unsigned = json.loads(GOLDEN_RAW)
    signature = unb64u(unsigned.pop("sig"))
    unsigned_bytes = json.dumps(
        unsigned, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()
    KEY.private_key.public_key().verify(signature, prefix + unsigned_bytes)


def test_nfd_input_is_stored_nfc_and_signs_identically():
    nfc = _sign({"t": "Café 衡东"})
    nfd = _sign({"t": unicodedata.normalize("NFD", "Café 衡东")})
    assert nfd.raw == nfc.raw
    assert nfc.id == "068d96b0625843061cb5a97ea86408e2f90b87a700dbb93b1187d63a83137931"


@pytest.mark.parametrize(
    "body", [{"fee": 1.5}, {"n": 2**53}, {"n": -(2**53)}, {1: "x"}, {"b": b"x"}]
)
def test_unrepresentable_bodies_are_refused(body):
    with pytest.raises(EnvelopeError) as caught:
        _sign(body)
    assert caught.value.code == "event.not_canonical"


def test_parse_round_trip_and_signature_verifies():
    event = _sign({"x": "中文"})
    parsed = parse_event(NETWORK, event.raw)
    assert parsed.id == event.id
    verify_signature(NETWORK, parsed, KEY.private_key.public_key())


def test_one_changed_byte_is_caught():
    event = _sign({"x": "abc"})
    tampered = event.raw.replace(b'"abc"', b'"abd"')
    parsed = parse_event(NETWORK, tampered)
    with pytest.raises(EnvelopeError) as caught:
        verify_signature(NETWORK, parsed, KEY.private_key.public_key())
    assert caught.value.code == "event.signature"


def test_other_network_does_not_verify():
    event = _sign({"x": 1})
    parsed = parse_event("other-network", event.raw)
    assert parsed.id != event.id
    with pytest.raises(EnvelopeError):
        verify_signature("other-network", parsed, KEY.private_key.public_key())


def test_non_canonical_bytes_are_refused():
    event = _sign({"x": 1})
    spaced = json.dumps(json.loads(event.raw), ensure_ascii=False, indent=1).encode()
    with pytest.raises(EnvelopeError) as caught:
        parse_event(NETWORK, spaced)
    assert caught.value.code == "event.not_canonical"


def test_chain_fields_must_agree():
    event = _sign({"x": 1}, aseq=2, aprev=None)
    with pytest.raises(EnvelopeError) as caught:
        parse_event(NETWORK, event.raw)
    assert caught.value.code == "event.chain"


@pytest.mark.parametrize(
    "body", [{}, {"z": [1, {"sig": "x", "sprev": None}], "中": "文"}, ["list", 1], "text", None]
)
def test_assembled_bytes_equal_plain_jcs(body):
    """sign_event assembles the envelope from canonical members; it must equal JCS of the whole."""
    import rfc8785

    event = _sign(body)
    assert event.raw == rfc8785.dumps(json.loads(event.raw))
    verify_signature(NETWORK, parse_event(NETWORK, event.raw), KEY.private_key.public_key())
