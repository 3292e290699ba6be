"""Projection handlers for intake: filing, notices, supplements, acceptance, refusal,
withdrawal, visits and delivery.

Each handler reads only the event (body, author, ``at``) and the rows earlier events
of the same case wrote, so replaying the ledger gives identical rows. Counters
(notices, breaches, trips, materials saved) are kept on the case row for lists and
reports; the rows below them (notices, visits, materials) are the detail.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlmodel import Session, col

from common.cases.models import Case, CaseMaterial, CaseNotice, CaseTask, CaseVisit
from common.cases.projection import case_handler, set_case, version_written
from common.cases.states import CaseState
from common.db import core
from common.identifiers import mask_identifier
from common.ledger.envelope import SignedEvent
from common.ledger.write_behind import write_behind

CASES = Case.__table__  # type: ignore[attr-defined]
MATERIALS = CaseMaterial.__table__  # type: ignore[attr-defined]
VISITS = CaseVisit.__table__  # type: ignore[attr-defined]
# Built once: a statement built per call costs its cache key on every execution.
_INSERT_CASE = insert(CASES)
_INSERT_MATERIALS = insert(MATERIALS)
_INSERT_VISIT = insert(VISITS)
_INSERT_NOTICE = insert(CaseNotice.__table__)  # type: ignore[attr-defined]


_set_case = set_case


def _insert(
    session: Session,
    statement: Any,
    params: dict[str, Any] | list[dict[str, Any]],
    key: str | None = None,
) -> None:
    """Execute an INSERT, or hand it to the batch's write-behind buffer (``key``: the
    case row, which later plain updates of the same case are folded into)."""
    buffer = write_behind(session)
    if buffer is None:
        core(session).execute(statement, params)
    elif isinstance(params, list):
        buffer.insert_many(statement, params)
    else:
        buffer.insert(statement, params, key)


def _insert_visit(
    session: Session, case_no: str, seq: int, visit: dict[str, Any], visited_on: str
) -> None:
    _insert(
        session,
        _INSERT_VISIT,
        {
            "case_no": case_no,
            "seq": seq,
            "who": visit["who"],
            "place": visit["place"],
            "purpose": visit["purpose"],
            "visited_on": visited_on,
            "counts": bool(visit["counts"]),
        },
    )


def _recount_saved(session: Session, case_no: str) -> None:
    saved = (
        select(func.count())
        .select_from(CaseMaterial)
        .where(col(CaseMaterial.case_no) == case_no, col(CaseMaterial.licence_ref).is_not(None))
        .scalar_subquery()
    )
    _set_case(session, case_no, materials_saved=saved)


@case_handler("case.filed")
def on_filed(session: Session, event: SignedEvent, case_no: str) -> None:
    body, env = event.body, event.envelope
    matter, applicant, visit = body["matter"], body["applicant"], body.get("visit")
    materials = body["materials"]
    trip = bool(visit and visit["counts"])
    # Values as parameters, not .values(): the compiled statement is cached across filings.
    version_written(session)  # the row is inserted with it
    _insert(
        session,
        _INSERT_CASE,
        {
            "case_no": case_no,
            "version": env["sseq"],
            "origin_node": body["origin_node"],
            "custodian": event.author,
            "state": CaseState.FILED.value,
            "matter_code": matter["code"],
            "matter_name": matter["name"],
            "catalogue_version": matter["catalogue_version"],
            "case_type": matter["case_type"],
            "handling_level": matter["handling_level"],
            "window": matter["window"],
            "lead_department": matter["lead_department"],
            "required_visits": matter["required_visits"],
            "commitment": bool(body["commitment"]),
            "applicant_kind": applicant["kind"],
            "applicant_name": applicant["name"],
            "applicant_id": applicant["id_number"],
            "applicant_id_masked": mask_identifier(applicant["id_number"]),
            "applicant_phone": applicant.get("phone"),
            "agent": body.get("agent"),
            "filed_at": env["at"],
            "filed_on": body["filed_on"],
            "limit_days": matter["limit_days"],
            "materials_required": sum(1 for m in materials if m["mandatory"]),
            "materials_saved": sum(1 for m in materials if m.get("licence_ref")),
            "visits": 1 if trip else 0,
            "over_visit_limit": bool(visit and visit.get("over_limit")),
            "over_limit_reason": visit.get("over_limit_reason") if visit else None,
        },
        key=case_no,
    )
    if materials:
        _insert(
            session,
            _INSERT_MATERIALS,
            [
                {
                    "case_no": case_no,
                    "position": m["position"],
                    "name": m["name"],
                    "mandatory": bool(m["mandatory"]),
                    "provided": bool(m.get("blob_sha256") or m.get("licence_ref")),
                    "blob_sha256": m.get("blob_sha256"),
                    "licence_ref": m.get("licence_ref"),
                    "promised": bool(m.get("promised")),
                }
                for m in materials
            ],
        )
    if visit:
        _insert_visit(session, case_no, 1, visit, body["filed_on"])


@case_handler("case.supplement_requested")
def on_supplement_requested(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    # Reasons and the note came later: a notice event without them applies as before.
    reasons = body.get("reasons") or None
    notice = {
        "case_no": case_no,
        "notice_no": body["notice_no"],
        "missing": json.dumps(body["missing"], ensure_ascii=False),
        "reasons": json.dumps(reasons, ensure_ascii=False, sort_keys=True) if reasons else None,
        "note": body.get("note") or None,
        "issued_on": body["issued_on"],
        "breach": bool(body["breach"]),
        "issued_by": body["issued_by"],
    }
    buffer = write_behind(session)
    pending = buffer.pending_row(CASES, case_no) if buffer is not None else None
    if buffer is not None and pending is not None:
        # Filed in this batch: the case and its materials are still in the write-behind
        # buffer, so they change there (no statement that would flush the batch).
        buffer.insert(_INSERT_NOTICE, notice)
        missing = set(body["missing"])
        for _statement, row in buffer.inserts.get(MATERIALS.name, []):
            if row["case_no"] == case_no and row["name"] in missing:
                row.update(provided=False, promised=False)
        _set_case(
            session,
            case_no,
            state=CaseState.SUPPLEMENT.value,
            notified_on=pending.get("notified_on") or body["issued_on"],
            notices=(pending.get("notices") or 0) + 1,
            notice_breaches=(pending.get("notice_breaches") or 0) + (1 if body["breach"] else 0),
        )
        return
    core(session).execute(_INSERT_NOTICE, notice)
    # A listed material is wanted again, even if something was handed in for it.
    session.execute(
        update(CaseMaterial)
        .where(col(CaseMaterial.case_no) == case_no, col(CaseMaterial.name).in_(body["missing"]))
        .values(provided=False, promised=False)
    )
    _set_case(
        session,
        case_no,
        state=CaseState.SUPPLEMENT.value,
        notified_on=func.coalesce(Case.notified_on, body["issued_on"]),
        notices=Case.notices + 1,
        notice_breaches=Case.notice_breaches + (1 if body["breach"] else 0),
    )


@case_handler("case.supplement_received")
def on_supplement_received(session: Session, event: SignedEvent, case_no: str) -> None:
    for item in event.body["materials"]:
        session.execute(
            update(CaseMaterial)
            .where(
                and_(
                    col(CaseMaterial.case_no) == case_no,
                    col(CaseMaterial.position) == item["position"],
                )
            )
            .values(
                provided=True,
                blob_sha256=item.get("blob_sha256"),
                licence_ref=item.get("licence_ref"),
                promised=False,
            )
        )
    _recount_saved(session, case_no)
    _set_case(session, case_no, state=CaseState.FILED.value)


@case_handler("case.accepted")
def on_accepted(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    _set_case(
        session,
        case_no,
        state=CaseState.ACCEPTED.value,
        accepted_on=body["accepted_on"],
        window=body["window"],
        limit_days=body["limit_days"],
        deadline=body["deadline"],
    )
    if body["tasks"]:
        session.execute(
            insert(CaseTask),
            [
                {
                    "task_id": t["task_id"],
                    "case_no": case_no,
                    "kind": "review",
                    "department": t["department"],
                    "lead": bool(t["lead"]),
                    "state": "open",
                    "opened_on": body["accepted_on"],
                    "due_on": None,
                }
                for t in body["tasks"]
            ],
        )


@case_handler("case.refused")
def on_refused(session: Session, event: SignedEvent, case_no: str) -> None:
    _set_case(session, case_no, state=CaseState.REFUSED.value, closed_reason=event.body["reason"])


@case_handler("case.withdrawn")
def on_withdrawn(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    _set_case(session, case_no, state=CaseState.WITHDRAWN.value, closed_reason=body["reason"])
    # Nobody should keep working on a withdrawn case: its open tasks leave the lists.
    session.execute(
        update(CaseTask)
        .where(col(CaseTask.case_no) == case_no, col(CaseTask.state) == "open")
        .values(state="cancelled", done_on=body["withdrawn_on"])
    )


@case_handler("case.visit_recorded")
def on_visit_recorded(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    _insert_visit(session, case_no, body["seq"], body, body["visited_on"])
    if body["counts"]:
        _set_case(session, case_no, visits=Case.visits + 1)
    if body["over_limit"]:
        # The first reason stays: it is the moment the promise was broken.
        session.execute(
            update(Case)
            .where(col(Case.case_no) == case_no, col(Case.over_visit_limit).is_(False))
            .values(over_visit_limit=True, over_limit_reason=body["over_limit_reason"])
        )


@case_handler("case.delivered")
def on_delivered(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    _set_case(
        session,
        case_no,
        state=CaseState.DELIVERED.value,
        delivered_on=body["delivered_on"],
        delivery_method=body["method"],
        tracking_no=body.get("tracking_no"),
    )
