"""The licence credential: the public copy of a licence that its QR code carries.

``licence.issued`` carries the holder's whole identity number (无证明 look-ups match on
it), so its bytes cannot go on paper. At issue the issuing node therefore also signs a
compact credential — licence id, type, name, holder (person's name and identity number
masked), issuer, validity and the catalogue version it was issued under — and stores
it with its signature in the event body (``credential``, ``credential_sig``).

The signature covers ``onetrip/v1\\0licence-credential\\0{network id}\\0`` + the
credential's canonical bytes (RFC 8785, as events), so it can never pass for an event's
signature. The QR payload is ``OT2:`` + base64url of the canonical JSON
``{"c": credential, "a": author node, "k": key id, "s": signature}``; a payload not in
canonical form is refused, so one credential has one payload. Checking the author
against the registry is ``common.licences.verification``'s work.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common.identifiers import mask_identifier
from common.ledger.canonical import PREFIX, CanonicalError, canonical_json, normalise
from common.ledger.envelope import Signer, b64u, unb64u

CREDENTIAL_QR_PREFIX = "OT2:"
CREDENTIAL_DOMAIN = b"licence-credential\x00"
_PAYLOAD_KEYS = {"c", "a", "k", "s"}
_TEXT_FIELDS = ("licence_id", "type_code", "name", "valid_from")
_HOLDER_FIELDS = ("kind", "name", "id_number")
_ISSUER_FIELDS = ("node", "body", "uscc")


def mask_person_name(name: str) -> str:
    """张三 -> 张*, 欧阳修 -> 欧**: a public copy shows only the surname's first character."""
    return name[:1] + "*" * (len(name) - 1) if name else ""


def licence_credential(body: dict[str, Any], catalogue_version: int) -> dict[str, Any]:
    """The public copy of a ``licence.issued`` body (before it is signed)."""
    holder, issuer = body["holder"], body["issuer"]
    name = holder["name"] if holder["kind"] == "enterprise" else mask_person_name(holder["name"])
    return {
        "licence_id": body["licence_id"],
        "type_code": body["type_code"],
        "name": body["name"],
        "holder": {
            "kind": holder["kind"],
            "name": name,
            "id_number": mask_identifier(holder["id_number"]),
        },
        "issuer": {key: issuer[key] for key in _ISSUER_FIELDS},
        "valid_from": body["valid_from"],
        "valid_to": body["valid_to"],
        "catalogue_version": catalogue_version,
    }


def credential_signing_input(network_id: str, credential: dict[str, Any]) -> bytes:
    """The bytes the credential signature covers (domain-separated from events)."""
    return (
        PREFIX
        + CREDENTIAL_DOMAIN
        + network_id.encode("utf-8")
        + b"\x00"
        + canonical_json(normalise(credential))
    )


def sign_credential(signer: Signer, network_id: str, credential: dict[str, Any]) -> str:
    return b64u(signer.sign(credential_signing_input(network_id, credential)))


def credential_signature_ok(
    network_id: str, credential: dict[str, Any], sig: str, public_key: Ed25519PublicKey
) -> bool:
    try:
        public_key.verify(unb64u(sig), credential_signing_input(network_id, credential))
    except (InvalidSignature, CanonicalError, ValueError, binascii.Error):
        return False
    return True


@dataclass(frozen=True)
class CredentialPayload:
    """A decoded ``OT2:`` payload: the credential, who signed it with which key, the signature."""

    credential: dict[str, Any]
    author: str
    kid: str
    sig: str


def credential_payload(credential: dict[str, Any], author: str, kid: str, sig: str) -> str:
    """``OT2:`` + base64url of the canonical payload."""
    wrapped = normalise({"c": credential, "a": author, "k": kid, "s": sig})
    return CREDENTIAL_QR_PREFIX + b64u(canonical_json(wrapped))


def parse_credential_payload(text: str) -> CredentialPayload | None:
    """The payload after ``OT2:`` decoded and shape-checked; None when it is not one."""
    try:
        raw = unb64u(text)
        value = json.loads(raw.decode("utf-8"))
        if canonical_json(normalise(value)) != raw:
            return None
    except (
        binascii.Error,
        ValueError,
        CanonicalError,
    ):  # UnicodeDecodeError, JSONDecodeError are ValueErrors
        return None
    if not isinstance(value, dict) or set(value) != _PAYLOAD_KEYS:
        return None
    credential = value["c"]
    if not (
        _well_formed(credential)
        and all(isinstance(value[k], str) and value[k] for k in ("a", "k", "s"))
    ):
        return None
    return CredentialPayload(
        credential=credential, author=value["a"], kid=value["k"], sig=value["s"]
    )


def _strings(value: Any, keys: tuple[str, ...]) -> bool:
    return isinstance(value, dict) and all(isinstance(value.get(k), str) for k in keys)


def _well_formed(credential: Any) -> bool:
    if not _strings(credential, _TEXT_FIELDS):
        return False
    version = credential.get("catalogue_version")
    return (
        _strings(credential.get("holder"), _HOLDER_FIELDS)
        and _strings(credential.get("issuer"), _ISSUER_FIELDS)
        and (credential.get("valid_to") is None or isinstance(credential["valid_to"], str))
        and isinstance(version, int)
        and not isinstance(version, bool)
    )
