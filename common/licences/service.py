"""Licence action functions and look-ups.

``issue_licence`` is called by the decision inside its transaction, before
``case.decided`` is appended (the decision event names the licence id), and signs the
licence's public credential for its QR code (``common.licences.credential``);
``revoke_licence`` is the issuing node's alone. Verification lives in
``common.licences.verification`` and is re-exported here.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from common.authority.actions import check_case_action
from common.cases.access import require_custody, today_on
from common.cases.models import Case
from common.cases.states import CaseState
from common.catalog.service import catalogue_version, get_published
from common.errors import Conflict, DomainError, NotFound
from common.identifiers import IdentifierError, make_licence_id, validate_licence_id
from common.ledger.envelope import b64u
from common.ledger.service import lock_writer
from common.licences.credential import credential_payload, licence_credential, sign_credential
from common.licences.models import Licence
from common.licences.projection import LICENCE_ISSUED, LICENCE_REVOKED, licence_subject
from common.licences.verification import (
    QR_PREFIX,
    VerificationResult,
    issued_event_raw,
    verify_licence,
    verify_qr_payload,
)
from common.node import ThisNode
from common.timeutil import local_today
from common.users.roles import Actor, Role, require_role

__all__ = [
    "VerificationResult",
    "find_valid_licence",
    "get_licence",
    "issue_licence",
    "licence_qr_payload",
    "licence_valid_for",
    "licence_validity_years",
    "revoke_licence",
    "verify_licence",
    "verify_qr_payload",
]

# Years of validity per licence type (GB/T 36904 type code); a type not listed is
# long-term (长期有效). 食品经营许可证 is valid for five years (食品经营许可管理办法).
# A node may override with an optional ``licence_validity_years`` mapping in its settings.
LICENCE_VALIDITY_YEARS: dict[str, int] = {"SPJYXKZ": 5}
SERIAL_DIGITS = 6  # serial = {year}{n:06d}, per issuer and type
# Those who take decisions; only they may cause a licence to be issued.
DECIDING_ROLES = (
    Role.VILLAGE_AGENT,
    Role.TOWNSHIP_CLERK,
    Role.TOWNSHIP_APPROVER,
    Role.COUNTY_WINDOW_CLERK,
    Role.DEPARTMENT_REVIEWER,
)
MAX_REASON = 500


def licence_validity_years(node: ThisNode, type_code: str) -> int | None:
    configured = getattr(node.settings, "licence_validity_years", None) or {}
    years = configured.get(type_code, LICENCE_VALIDITY_YEARS.get(type_code))
    return int(years) if years else None


def _valid_to(valid_from: date, years: int | None) -> str | None:
    """The last valid day: the day before the same date ``years`` later (29 Feb -> 28 Feb)."""
    if years is None:
        return None
    try:
        anniversary = valid_from.replace(year=valid_from.year + years)
    except ValueError:  # 29 February in a year without one
        anniversary = date(valid_from.year + years, 3, 1)
    return (anniversary - timedelta(days=1)).isoformat()


def _next_serial(session: Session, issuer_uscc: str, type_code: str, year: int) -> str:
    """The next free serial of this issuer and type in ``year`` (caller holds the writer lock)."""
    width = 4 + SERIAL_DIGITS
    last = session.execute(
        select(func.max(col(Licence.serial))).where(
            col(Licence.issuer_uscc) == issuer_uscc,
            col(Licence.type_code) == type_code,
            col(Licence.serial).like(f"{year}%"),
            func.length(col(Licence.serial)) == width,
        )
    ).scalar()
    n = int(last[4:]) + 1 if last else 1
    return f"{year}{n:0{SERIAL_DIGITS}d}"


def issue_licence(session: Session, node: ThisNode, actor: Actor, case: Case) -> str:
    """Issue the matter's electronic licence to the case's applicant; returns its id.

    Runs inside the decision's transaction, before ``case.decided`` (which carries the id),
    so a refused decision leaves no licence behind.
    """
    require_role(actor, *DECIDING_ROLES)
    require_custody(node, case)
    if case.state not in (CaseState.ACCEPTED, CaseState.APPROVED):
        raise Conflict(
            "licence.case_state", f"案件 {case.case_no} 尚未准予，不能颁发证照", field="case_no"
        )
    matter = get_published(session, case.matter_code).to_matter()
    type_code = matter.result_licence_type
    if not type_code:
        raise DomainError(
            "licence.no_type", f"事项“{matter.name}”没有电子证照结果", field="matter_code"
        )
    lock_writer(session, node.node_id)  # the serial read and the append must not interleave
    issued = date.fromisoformat(today_on(node))  # the decision day, where people are
    serial = _next_serial(session, matter.implementing_body_code, type_code, issued.year)
    try:
        licence_id = make_licence_id(
            type_code, issuer_uscc=matter.implementing_body_code, serial=serial, version=1
        )
    except IdentifierError as exc:
        raise DomainError(exc.code, exc.message, field="result_licence_type") from exc
    name = matter.result_name or matter.name
    body: dict[str, Any] = {
        "licence_id": licence_id,
        "type_code": type_code,
        "name": name,
        "holder": {
            "kind": case.applicant_kind,
            "name": case.applicant_name,
            "id_number": case.applicant_id,
        },
        "issuer": {
            "node": node.node_id,
            "body": matter.implementing_body,
            "uscc": matter.implementing_body_code,
        },
        "valid_from": issued.isoformat(),
        "valid_to": _valid_to(issued, licence_validity_years(node, type_code)),
        "data": {
            "matter_code": case.matter_code,
            "matter_name": case.matter_name,
            "result_name": name,
            "case_no": case.case_no,
            "decided_on": issued.isoformat(),
            "trust_level": "A",  # GB/T 36904 trust level A: issued and sealed by the authority
        },
        "case_no": case.case_no,
        "catalogue_version": catalogue_version(session),
    }
    _add_credential(node, body)
    node.append(session, licence_subject(licence_id), LICENCE_ISSUED, body)
    return licence_id


def _add_credential(node: ThisNode, body: dict[str, Any]) -> None:
    """The public copy the QR code carries, signed by this node (no whole identity number)."""
    credential = licence_credential(body, body["catalogue_version"])
    body["credential"] = credential
    body["credential_sig"] = sign_credential(node.key, node.network_id, credential)


def get_licence(session: Session, licence_id: str) -> Licence:
    try:
        licence_id = validate_licence_id(licence_id)
    except IdentifierError as exc:
        raise DomainError(exc.code, exc.message, field="licence_id") from exc
    licence = session.get(Licence, licence_id)
    if licence is None:
        raise NotFound("licence.not_found", f"电子证照 {licence_id} 不存在", field="licence_id")
    return licence


def _may_revoke(session: Session, node: ThisNode, actor: Actor, licence: Licence) -> None:
    """The authority policy's ``revoke_licence`` row: the issuing node, the issuing
    department (or the township approver), a licence not yet revoked."""
    case = session.get(Case, licence.case_no) if licence.case_no else None
    check_case_action(session, node, actor, case, "revoke_licence", licence=licence)


def revoke_licence(
    session: Session,
    node: ThisNode,
    actor: Actor,
    licence_id: str,
    reason: str,
    case_no: str | None = None,
) -> str:
    """Revoke a licence this node issued; returns the licence.revoked event id."""
    licence = get_licence(session, licence_id)
    _may_revoke(session, node, actor, licence)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("licence.reason_required", "请填写撤销原因", field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(
            "licence.reason_too_long", f"撤销原因不能超过{MAX_REASON}字", field="reason"
        )
    body = {
        "licence_id": licence.licence_id,
        "reason": reason,
        "revoked_on": today_on(node),
        "case_no": case_no or licence.case_no,
    }
    event = node.append(session, licence_subject(licence.licence_id), LICENCE_REVOKED, body)
    session.expire(licence)
    return event.id


def _day(on: date | str | None) -> str:
    if on is None:
        return local_today().isoformat()
    return on if isinstance(on, str) else on.isoformat()


def find_valid_licence(
    session: Session, *, holder_id: str, type_code: str, on: date | str | None = None
) -> str | None:
    """无证明: the id of a valid, unrevoked, unexpired licence of this holder and type, or None."""
    day = _day(on)
    holder = (holder_id or "").strip().upper()
    if not holder or not type_code:
        return None
    return session.execute(
        select(col(Licence.licence_id))
        .where(
            col(Licence.holder_id) == holder,
            col(Licence.type_code) == type_code,
            col(Licence.state) == "valid",
            col(Licence.valid_from) <= day,
            col(Licence.valid_to).is_(None) | (col(Licence.valid_to) >= day),
        )
        .order_by(col(Licence.valid_from).desc(), col(Licence.licence_id).desc())
        .limit(1)
    ).scalar()


def licence_valid_for(
    session: Session,
    licence_id: str,
    *,
    holder_id: str,
    type_code: str,
    on: date | str | None = None,
) -> bool:
    """无证明 with a reference: is this particular licence the holder's, of the type, valid on ``on``?

    (A holder may hold several valid licences of one type; ``find_valid_licence`` names one.)
    """
    try:
        licence_id = validate_licence_id(licence_id)
    except IdentifierError:
        return False
    licence = session.get(Licence, licence_id)
    day = _day(on)
    return (
        licence is not None
        and licence.holder_id == (holder_id or "").strip().upper()
        and licence.type_code == type_code
        and licence.state == "valid"
        and licence.valid_from <= day
        and (licence.valid_to is None or licence.valid_to >= day)
    )


def licence_qr_payload(session: Session, licence_id: str) -> str:
    """The QR payload: ``OT2:`` + the issuer-signed credential (holder masked); for a
    licence issued before credentials existed, ``OT1:`` + its signed licence.issued bytes.
    Either verifies with the registry alone."""
    try:
        licence_id = validate_licence_id(licence_id)
    except IdentifierError as exc:
        raise DomainError(exc.code, exc.message, field="licence_id") from exc
    raw = issued_event_raw(session, licence_id)
    if raw is None:
        raise NotFound("licence.not_found", f"电子证照 {licence_id} 不存在", field="licence_id")
    envelope = json.loads(raw)  # stored bytes: canonical and verified at append or ingest
    body = envelope["body"]
    if isinstance(body.get("credential"), dict) and isinstance(body.get("credential_sig"), str):
        return credential_payload(
            body["credential"], envelope["author"], envelope["kid"], body["credential_sig"]
        )
    return QR_PREFIX + b64u(raw)
