"""Handoff API: offer a case to another node, accept or decline an offer, the inbox of
offers waiting here, and a case's chain of custody. Thin wrappers over
``cases.handoff.service``; rights and rules are checked there.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.authority.reading import require_case_reader
from common.cases.access import load_case
from common.cases.api import CASE_NO_PATTERN, WORK_LIST_READERS, CaseAt, case_errors, taking
from common.cases.handoff import service
from common.cases.handoff.projection import CustodyViolation
from common.cases.states import STATE_LABELS, CaseState
from common.errors import Conflict
from common.ledger.envelope import SignedEvent
from common.users.roles import Role, require_role

router = APIRouter(prefix="/api/v1", tags=["handoff"])

CaseNo = Annotated[str, Path(pattern=CASE_NO_PATTERN, description="办件编号")]
READERS = tuple(Role)
ERRORS = case_errors(
    "接收节点或理由不符合规则（code、message、field）", "案件有待接收的移交，或当前状态不能移交"
)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OfferRequest(_Request):
    to: str | None = Field(
        default=None,
        max_length=20,
        description="接收节点编号；不填则按规则：上报到办理层级的上级节点，办结后退回来源节点",
    )
    reason: Literal["escalate", "return", "transfer"] | None = Field(
        default=None, description="escalate 上报 / return 退回来源节点（须与规则一致）"
    )


class DeclineRequest(_Request):
    reason: str = Field(min_length=1, max_length=500, description="拒收理由")


class HandoffOut(BaseModel):
    case_no: str
    state: str
    state_label: str
    custodian: str
    pending_offer_to: str | None
    pending_offer_seq: int | None
    version: int
    event_id: str
    kind: str
    body: dict[str, Any]


class InboxItemOut(BaseModel):
    case_no: str
    matter_code: str
    matter_name: str
    handling_level: str
    state: str
    origin_node: str
    applicant_name: str
    applicant_id_masked: str
    filed_on: str
    from_node: str
    reason: str
    offered_by: str
    offered_on: str
    offer_seq: int


class CustodyStepOut(BaseModel):
    node: str
    since_sseq: int
    offer_event_id: str | None
    accept_event_id: str | None


class CustodyOut(BaseModel):
    case_no: str
    custodian: str
    pending_offer_to: str | None
    pending_offer_seq: int | None
    chain: list[CustodyStepOut]


def _at(case_no: CaseNo, actor: CurrentUser, session: SessionDep, node: NodeDep) -> CaseAt:
    return CaseAt(session, node, actor, case_no)


OnCase = Annotated[CaseAt, Depends(_at)]


def _answer(at: CaseAt, event: SignedEvent) -> HandoffOut:
    case = load_case(at.session, at.case_no)
    return HandoffOut(
        case_no=at.case_no,
        state=case.state,
        state_label=STATE_LABELS[CaseState(case.state)],
        custodian=case.custodian,
        pending_offer_to=case.pending_offer_to,
        pending_offer_seq=case.pending_offer_seq,
        version=case.version,
        event_id=event.id,
        kind=event.kind,
        body=event.body,
    )


@router.post(
    "/cases/{case_no}/handoff",
    response_model=HandoffOut,
    status_code=201,
    responses=ERRORS,
    **taking("offer_handoff"),
)
def offer_handoff(at: OnCase, body: OfferRequest) -> HandoffOut:
    """移交：上报到办理层级的节点，或办结后退回来源节点；对方接收前案件不能修改。"""
    return _answer(at, at.take(service.offer_handoff, to=body.to, reason=body.reason))


@router.post(
    "/cases/{case_no}/handoff/accept",
    response_model=HandoffOut,
    responses=ERRORS,
    **taking("accept_handoff"),
)
def accept_handoff(at: OnCase) -> HandoffOut:
    """接收移交：本节点成为案件的办理节点。"""
    return _answer(at, at.take(service.accept_handoff))


@router.post(
    "/cases/{case_no}/handoff/decline",
    response_model=HandoffOut,
    responses=ERRORS,
    **taking("decline_handoff"),
)
def decline_handoff(at: OnCase, body: DeclineRequest) -> HandoffOut:
    """拒收移交（须说明理由）：案件留在移交方。"""
    return _answer(at, at.take(service.decline_handoff, body.reason))


@router.get("/handoffs/inbox", response_model=list[InboxItemOut])
def handoff_inbox(actor: CurrentUser, session: SessionDep, node: NodeDep) -> list[InboxItemOut]:
    """待接收的移交，先到先办（证件号码脱敏）。"""
    require_role(actor, *WORK_LIST_READERS)
    return [InboxItemOut.model_validate(item) for item in service.handoff_inbox(session, node)]


@router.get("/cases/{case_no}/custody", response_model=CustodyOut, responses=ERRORS)
def custody(case_no: CaseNo, actor: CurrentUser, session: SessionDep, node: NodeDep) -> CustodyOut:
    """办理节点的交接链：每一步由签名的移交和接收事件证明。"""
    require_role(actor, *READERS)
    case = require_case_reader(session, node, actor, case_no)
    try:
        chain = service.custody_chain(session, case_no)
    except CustodyViolation as exc:
        raise Conflict(
            "case.custody_unprovable", f"案件交接记录无法验证：{exc.message}", field="case_no"
        ) from exc
    return CustodyOut(
        case_no=case_no,
        custodian=case.custodian,
        pending_offer_to=case.pending_offer_to,
        pending_offer_seq=case.pending_offer_seq,
        chain=[CustodyStepOut.model_validate(step) for step in chain],
    )
