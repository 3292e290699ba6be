"""Offline licence verification from what the issuing node signed and the registry.

Nothing here reads the ``licences`` table: a projection could be edited, the signed
bytes cannot be without breaking the signature. The checks are the Ed25519 signature,
that its author is the issuing node and is in the registry (revoked nodes stay
verifiable as history), the GB/T 36904 check character, whether a ``licence.revoked``
by the issuer is held, and the validity period.

What is signed comes in two formats, and both go through ``_verify_claim``:

- ``OT2:`` (printed since issue 9): the licence's signed public credential
  (``common.licences.credential``), the holder masked;
- ``OT1:`` (licences printed before), and a look-up by identifier: the canonical bytes
  of the ``licence.issued`` event itself, which carry the whole identity number.

Either way a node that never received the licence can check it with its registry alone.

A look-up by identifier is different: it needs the signed bytes, and a node holds only
the licences issued or synced to it. A well-formed identifier this node does not hold is
``unknown_here`` (本节点未收录), not invalid: a genuine licence from another node looks
exactly like that, so the answer says how to verify it (``UNKNOWN_HERE_ADVICE``). It is
invalid without a record only when its check character fails, or when this node is the
only one that could have issued it (``_only_issuer_here``: the node that issues a
licence holds it from the moment it signs it).
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlmodel import Session, col

from common.authority.events import licence_entitlement_problem
from common.authority.models import LicenceEntitlement
from common.identifiers import (
    IdentifierError,
    mask_identifier,
    parse_licence_id,
    validate_licence_id,
)
from common.identity.keys import load_public_key
from common.identity.models import RegistryKey, RegistryNode
from common.ledger.envelope import EnvelopeError, SignedEvent, parse_event, unb64u, verify_signature
from common.ledger.models import Event
from common.licences.credential import (
    CREDENTIAL_QR_PREFIX,
    CredentialPayload,
    credential_signature_ok,
    mask_person_name,
    parse_credential_payload,
)
from common.licences.projection import LICENCE_ISSUED, LICENCE_REVOKED, licence_subject
from common.settings import DEFAULT_NETWORK_ID
from common.timeutil import local_today

QR_PREFIX = "OT1:"  # the signed licence.issued event itself: licences printed before OT2
MAX_QR_PAYLOAD = 8192  # characters; a licence event is about 1-2 KiB, a credential under 1 KiB
VerificationStatus = Literal["valid", "revoked", "invalid", "unknown_here"]
STATUS_LABELS: dict[str, str] = {  # one per VerificationStatus
    "valid": "有效",
    "revoked": "已撤销",
    "invalid": "无效",
    "unknown_here": "本节点未收录该证照",
}
UNKNOWN_HERE_REASON = (
    "本节点没有该电子证照的签发记录：证照可能由其他节点颁发、尚未同步到本节点，"
    "本节点不能据此判断其真伪"
)
UNKNOWN_HERE_ADVICE = "请扫描证照上的二维码核验，或到县政务服务网核验"
NOT_ISSUED_HERE_REASON = (
    "该类证照只能由本节点颁发，本节点没有该证照的签发记录：不是本系统颁发的证照"
)


@dataclass
class VerificationResult:
    """The verdict and what it rests on; ``reasons`` are for people (Chinese)."""

    status: VerificationStatus
    reasons: list[str] = field(default_factory=list)
    advice: str | None = None  # how to verify elsewhere, when this node cannot tell
    notes: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    licence_id: str | None = None
    name: str | None = None
    type_code: str | None = None
    holder_kind: str | None = None
    holder_name: str | None = None
    holder_id_masked: str | None = None
    issuer_body: str | None = None
    issuer_uscc: str | None = None
    issuer_node: str | None = None
    issuer_node_name: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    case_no: str | None = None
    event_id: str | None = None
    revoked_on: str | None = None
    revoked_reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status_label": self.status_label}


def _invalid(reason: str, result: VerificationResult | None = None) -> VerificationResult:
    result = result or VerificationResult(status="invalid")
    result.status = "invalid"
    result.reasons.append(reason)
    return result


def _unknown_here(licence_id: str) -> VerificationResult:
    """A well-formed identifier with no signed record here: neither valid nor invalid."""
    return VerificationResult(
        status="unknown_here",
        reasons=[UNKNOWN_HERE_REASON],
        advice=UNKNOWN_HERE_ADVICE,
        checks={"check_character": True},
        licence_id=licence_id,
    )


def issued_event_raw(session: Session, licence_id: str) -> bytes | None:
    """The stored bytes of the licence's ``licence.issued`` event, if this node holds it."""
    return session.execute(
        select(col(Event.raw))
        .where(col(Event.subject) == licence_subject(licence_id), col(Event.kind) == LICENCE_ISSUED)
        .order_by(col(Event.sseq))
        .limit(1)
    ).scalar()


def _only_issuer_here(session: Session, node_id: str, licence_id: str) -> bool:
    """Is ``node_id`` the only registered node that could issue the licence ``licence_id``
    names? The catalogue entitles tiers to issue a type for a body (USCC); when this node
    is the only node of every such tier (the county, for a county body's licence), a
    licence of that type and body was signed here or nowhere. Registry entries count
    revoked or not: a revoked node's licences stay verifiable history."""
    parts = parse_licence_id(licence_id)
    tiers = session.execute(
        select(col(LicenceEntitlement.handling_level)).where(
            col(LicenceEntitlement.type_code) == parts.type_code,
            col(LicenceEntitlement.issuer_uscc) == parts.issuer_uscc,
        )
    ).scalars()
    issuers = session.execute(
        select(col(RegistryNode.node_id)).where(col(RegistryNode.tier).in_(set(tiers))).limit(2)
    ).scalars()
    return list(issuers) == [node_id]


def verify_licence(
    session: Session,
    licence_id_or_event_raw: str | bytes,
    *,
    network_id: str = DEFAULT_NETWORK_ID,
    today: date | None = None,
    node_id: str | None = None,
) -> VerificationResult:
    """Verify a licence by its identifier (from this node's ledger) or from event bytes.

    An identifier this node (``node_id``) holds no record of is ``unknown_here``, unless
    this node is the only one that could have issued it: then it is invalid."""
    if isinstance(licence_id_or_event_raw, bytes | bytearray | memoryview):
        return _verify_raw(session, bytes(licence_id_or_event_raw), network_id, today)
    try:
        licence_id = validate_licence_id(licence_id_or_event_raw)
    except IdentifierError as exc:
        result = VerificationResult(status="invalid", licence_id=str(licence_id_or_event_raw)[:120])
        result.checks["check_character"] = False
        return _invalid(f"电子证照标识无效：{exc.message}", result)
    raw = issued_event_raw(session, licence_id)
    if raw is None and node_id is not None and _only_issuer_here(session, node_id, licence_id):
        result = VerificationResult(status="invalid", licence_id=licence_id)
        result.checks["check_character"] = True
        return _invalid(NOT_ISSUED_HERE_REASON, result)
    if raw is None:
        return _unknown_here(licence_id)
    return _verify_raw(session, raw, network_id, today, expected_id=licence_id)


def verify_qr_payload(
    session: Session,
    payload: str,
    *,
    network_id: str = DEFAULT_NETWORK_ID,
    today: date | None = None,
) -> VerificationResult:
    """Verify a QR payload with the registry alone (no licences table needed): an
    ``OT2:`` credential, or the ``OT1:`` signed event of a licence printed before."""
    text = (payload or "").strip()
    if len(text) > MAX_QR_PAYLOAD:
        return _invalid("不是本系统的电子证照二维码")
    if text.startswith(CREDENTIAL_QR_PREFIX):
        return _verify_credential(session, text[len(CREDENTIAL_QR_PREFIX) :], network_id, today)
    if not text.startswith(QR_PREFIX):
        return _invalid("不是本系统的电子证照二维码")
    try:
        raw = unb64u(text[len(QR_PREFIX) :])
    except (binascii.Error, ValueError):
        return _invalid("二维码内容无法解码，可能已损坏")
    return _verify_raw(session, raw, network_id, today)


@dataclass(frozen=True)
class _Claim:
    """What a payload says, in one shape for both formats: the node that signed it and
    with which key, the licence as signed (a ``licence.issued`` body or a credential:
    licence_id, type_code, name, holder, issuer, validity, catalogue_version), whether
    the holder is already masked, and how to check the signature and whether this node
    holds the signed original."""

    author: str
    kid: str
    licence: dict[str, Any]
    masked: bool
    event_id: str | None
    signature_ok: Callable[[Ed25519PublicKey], bool]
    held: Callable[[Session], bool]

    @property
    def subject(self) -> str:
        return licence_subject(self.licence["licence_id"])


def _event_claim(event: SignedEvent, network_id: str) -> _Claim:
    def signature_ok(public_key: Ed25519PublicKey) -> bool:
        try:
            verify_signature(network_id, event, public_key)
        except EnvelopeError:
            return False
        return True

    return _Claim(
        author=event.author,
        kid=event.envelope["kid"],
        licence=event.body,
        masked=False,
        event_id=event.id,
        signature_ok=signature_ok,
        held=lambda session: _held(session, event.id),
    )


def _credential_claim(decoded: CredentialPayload, network_id: str) -> _Claim:
    return _Claim(
        author=decoded.author,
        kid=decoded.kid,
        licence=decoded.credential,
        masked=True,
        event_id=None,
        signature_ok=lambda key: credential_signature_ok(
            network_id, decoded.credential, decoded.sig, key
        ),
        held=lambda session: _holds_credential(session, decoded, network_id),
    )


def _describe(result: VerificationResult, claim: _Claim) -> None:
    """Copy what the licence says into the result (masked): only once its signature holds."""
    body = claim.licence
    holder, issuer = body["holder"], body["issuer"]
    result.licence_id = body["licence_id"]
    result.name = body.get("name")
    result.type_code = body.get("type_code")
    result.holder_kind = holder.get("kind")
    name, id_number = holder.get("name") or "", holder.get("id_number") or ""
    if claim.masked:  # a credential is signed masked
        result.holder_name, result.holder_id_masked = name, id_number
    else:
        result.holder_name = name if holder.get("kind") == "enterprise" else mask_person_name(name)
        result.holder_id_masked = mask_identifier(id_number)
    result.issuer_body = issuer.get("body")
    result.issuer_uscc = issuer.get("uscc")
    result.issuer_node = issuer.get("node")
    result.valid_from = body.get("valid_from")
    result.valid_to = body.get("valid_to")
    result.case_no = body.get("case_no")
    result.event_id = claim.event_id


def _well_formed(event: SignedEvent) -> bool:
    body = event.body
    return (
        event.kind == LICENCE_ISSUED
        and isinstance(body, dict)
        and isinstance(body.get("licence_id"), str)
        and isinstance(body.get("holder"), dict)
        and isinstance(body.get("issuer"), dict)
        and event.subject == licence_subject(body["licence_id"])
    )


def _verify_raw(
    session: Session,
    raw: bytes,
    network_id: str,
    today: date | None,
    expected_id: str | None = None,
) -> VerificationResult:
    """The ``OT1:`` path and the look-up by identifier: the signed ``licence.issued`` bytes."""
    result = VerificationResult(status="valid", licence_id=expected_id)
    try:
        event = parse_event(network_id, raw)
    except EnvelopeError:
        result.checks["signature"] = False
        return _invalid("证照数据格式错误或已被改动", result)
    if not _well_formed(event):
        return _invalid("这不是电子证照的签发记录", result)
    licence_id = event.body["licence_id"]
    result.licence_id = expected_id or licence_id
    if expected_id is not None and licence_id != expected_id:
        return _invalid("签发记录与所查证照标识不一致", result)
    return _verify_claim(session, _event_claim(event, network_id), result, network_id, today)


def _verify_credential(
    session: Session, text: str, network_id: str, today: date | None
) -> VerificationResult:
    """The ``OT2:`` path: a signed credential (``common.licences.credential``)."""
    decoded = parse_credential_payload(text)
    if decoded is None:
        return _invalid("二维码内容无法解码，可能已损坏")
    result = VerificationResult(status="valid", licence_id=decoded.credential["licence_id"])
    return _verify_claim(session, _credential_claim(decoded, network_id), result, network_id, today)


def _verify_claim(
    session: Session, claim: _Claim, result: VerificationResult, network_id: str, today: date | None
) -> VerificationResult:
    """Every verification ends here, whatever the payload's format: the signer, the
    identifier, revocation and the validity period."""
    if not _signed_by_issuer(session, claim, result):
        return result  # what an unauthenticated payload claims is not repeated
    _describe(result, claim)
    # The authority policy's rule for licence.issued: was the signer entitled to issue it?
    problem = licence_entitlement_problem(session, claim.author, claim.licence)
    result.checks["issuer_entitled"] = problem is None
    if problem is not None:
        _invalid(f"颁发节点无权颁发该证照：{problem}", result)
        return result
    if not _identifier_consistent(claim.licence, result):
        return result
    _check_revocation(session, claim, network_id, result)
    if result.status == "valid":
        _check_period(result, today or local_today())
    return result


def _identifier_consistent(licence: dict[str, Any], result: VerificationResult) -> bool:
    """The GB/T 36904 check character, and the identifier naming the signed type and issuer."""
    licence_id = licence["licence_id"]
    try:
        parts = parse_licence_id(licence_id)
        canonical: bool = str(parts) == licence_id
        reason = "电子证照标识不是规范形式"
        if canonical and (parts.type_code, parts.issuer_uscc) != (
            licence.get("type_code"),
            licence["issuer"].get("uscc"),
        ):
            canonical, reason = False, "电子证照标识与证照所载类型或颁发机构不一致"
    except IdentifierError as exc:
        canonical, reason = False, f"电子证照标识无效：{exc.message}"
    result.checks["check_character"] = canonical
    if not canonical:
        _invalid(reason, result)
    return canonical


def _signed_by_issuer(session: Session, claim: _Claim, result: VerificationResult) -> bool:
    """Signature by a registered key of the node the licence names as issuer (the key
    as the ingest resolver finds it for a non-registry record, revoked keys included)."""
    author = claim.author
    issuer_node = claim.licence["issuer"].get("node")
    result.checks["issuer_is_author"] = issuer_node == author
    if issuer_node != author:
        _invalid("签名节点与证照所载颁发节点不一致", result)
        return False
    entry = session.get(RegistryNode, author)
    result.checks["issuer_registered"] = entry is not None
    if entry is None:
        _invalid(f"颁发节点 {author} 不在本节点的注册表中", result)
        return False
    result.issuer_node_name = entry.name
    key = session.get(RegistryKey, (author, claim.kid))
    if key is None or not claim.signature_ok(load_public_key(key.public_key)):
        result.checks["signature"] = False
        _invalid(
            "注册表中没有该签名密钥" if key is None else "电子签名验证失败，证照内容可能被篡改",
            result,
        )
        return False
    result.checks["signature"] = True
    revoked_at = entry.revoked_version or key.revoked_version
    if revoked_at is not None:
        # A revoked key's new records are refused at ingest, so a held event predates the
        # revocation; a payload we do not hold could have been signed afterwards.
        held = claim.held(session)
        result.checks["signed_before_key_revocation"] = held
        if not held:
            _invalid(
                "颁发节点的密钥已被撤销，本节点没有该证照在撤销前的签发记录，无法确认其真实性",
                result,
            )
            return False
        result.notes.append(
            f"颁发节点已在注册表第{revoked_at}版撤销；本证照签发于撤销之前，作为历史记录仍可验证"
        )
    return True


def _held(session: Session, event_id: str) -> bool:
    found = session.execute(select(col(Event.lseq)).where(col(Event.id) == event_id)).first()
    return found is not None


def _holds_credential(session: Session, decoded: CredentialPayload, network_id: str) -> bool:
    """This node holds the ``licence.issued`` event that carries exactly this signed credential."""
    raw = issued_event_raw(session, decoded.credential["licence_id"])
    if raw is None:
        return False
    try:
        event = parse_event(network_id, raw)
    except EnvelopeError:
        return False
    body = event.body
    return (
        event.author == decoded.author
        and isinstance(body, dict)
        and body.get("credential") == decoded.credential
        and body.get("credential_sig") == decoded.sig
    )


def _check_revocation(
    session: Session, claim: _Claim, network_id: str, result: VerificationResult
) -> None:
    if not claim.held(session):
        result.notes.append("本节点未保存该证照的签发记录，撤销状态以颁发节点为准")
    rows = session.execute(
        select(col(Event.raw))
        .where(col(Event.subject) == claim.subject, col(Event.kind) == LICENCE_REVOKED)
        .order_by(col(Event.sseq))
    ).scalars()
    for raw in rows:
        try:
            revocation = parse_event(network_id, raw)
        except EnvelopeError:
            continue
        if revocation.author != claim.author:  # only the issuer may revoke
            continue
        result.checks["not_revoked"] = False
        result.status = "revoked"
        result.revoked_on = revocation.body.get("revoked_on")
        result.revoked_reason = revocation.body.get("reason")
        result.reasons.append(
            f"该证照已于 {result.revoked_on} 被颁发机关撤销：{result.revoked_reason}"
        )
        return
    result.checks["not_revoked"] = True


def _check_period(result: VerificationResult, today: date) -> None:
    day = today.isoformat()
    if result.valid_from and result.valid_from > day:
        result.checks["in_validity"] = False
        _invalid(f"该证照自 {result.valid_from} 起生效，尚未生效", result)
    elif result.valid_to and result.valid_to < day:
        result.checks["in_validity"] = False
        _invalid(f"该证照已超过有效期（有效期至 {result.valid_to}）", result)
    else:
        result.checks["in_validity"] = True
