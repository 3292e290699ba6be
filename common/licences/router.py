"""Licence API: staff read and revoke; the public verifies without logging in.

A department reviewer reads only the licences of cases it may read, or those its
department issued (``common.authority.reading``).

Identity numbers are always masked here; a public answer also masks a person's name.
A verification is a verdict (200 with valid / revoked / invalid and the reasons), not
an error: a forged or mistyped licence is exactly what a verifier wants to be told about.
A look-up by identifier of a licence this node does not hold answers ``unknown_here``
with ``advice`` (scan the QR code, or ask the county portal): this node cannot tell.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from sqlmodel import Session

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.authority.reading import require_licence_reader
from common.cases.api import taking
from common.licences import service
from common.licences.models import Licence
from common.licences.verification import STATUS_LABELS, VerificationResult, VerificationStatus
from common.node import ThisNode
from common.users.roles import Actor

router = APIRouter(prefix="/api/v1", tags=["licences"])

LicenceIdPath = Annotated[
    str, Path(min_length=1, max_length=120, description="电子证照标识（GB/T 36904）")
]


class LicenceOut(BaseModel):
    licence_id: str
    type_code: str
    name: str
    holder_kind: str
    holder_name: str
    holder_id_masked: str
    issuer_node: str
    issuer_body: str
    issuer_uscc: str
    valid_from: str
    valid_to: str | None
    data: dict[str, Any]
    case_no: str | None
    issued_event_id: str
    state: str
    state_label: str
    revoked_reason: str | None
    revoked_on: str | None

    @classmethod
    def of(cls, licence: Licence) -> LicenceOut:
        # The row's columns named above, as stored (never holder_id: it is not a field here).
        columns = licence.model_dump(include=set(cls.model_fields) - {"data", "state_label"})
        label = "有效" if licence.state == "valid" else "已撤销"
        return cls(**columns, data=json.loads(licence.data), state_label=label)


class RevokeRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="撤销原因")
    case_no: str | None = Field(
        default=None, max_length=40, description="引起撤销的案件编号（默认为颁证案件）"
    )


class QrOut(BaseModel):
    licence_id: str
    payload: str = Field(
        description="OT2: 加颁发节点签名的证照公开信息（base64url，证件号码脱敏），可离线验证"
    )


class VerifyRequest(BaseModel):
    payload: str = Field(
        min_length=1, max_length=8192, description="电子证照二维码内容（OT2:…，或旧版 OT1:…）"
    )


class VerificationOut(BaseModel):
    status: VerificationStatus = Field(
        description="valid 有效 | revoked 已撤销 | invalid 无效 | unknown_here "
        "本节点未收录该证照（按标识查询本节点没有的证照：不能据此判断真伪，见 advice）"
    )
    status_label: str
    reasons: list[str]
    advice: str | None = Field(
        default=None, description="本节点无法核验时的核验途径（扫描二维码，或到县政务服务网核验）"
    )
    notes: list[str]
    checks: dict[str, bool]
    licence_id: str | None
    name: str | None
    holder_kind: str | None
    holder_name: str | None = Field(description="个人姓名仅显示首字")
    holder_id_masked: str | None
    issuer_body: str | None
    issuer_uscc: str | None
    issuer_node: str | None
    issuer_node_name: str | None
    valid_from: str | None
    valid_to: str | None
    revoked_on: str | None
    revoked_reason: str | None
    event_id: str | None

    @classmethod
    def of(cls, result: VerificationResult) -> VerificationOut:
        data = result.as_dict()
        data["status_label"] = STATUS_LABELS[result.status]
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})


def _readable(session: Session, node: ThisNode, actor: Actor, licence_id: str) -> Licence:
    licence = service.get_licence(session, licence_id)
    require_licence_reader(session, node, actor, licence)
    return licence


@router.get("/licences/{licence_id}", response_model=LicenceOut)
def read_licence(
    licence_id: LicenceIdPath, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> LicenceOut:
    return LicenceOut.of(_readable(session, node, actor, licence_id))


@router.get("/licences/{licence_id}/qr", response_model=QrOut)
def licence_qr(
    licence_id: LicenceIdPath, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> QrOut:
    licence = _readable(session, node, actor, licence_id)
    return QrOut(
        licence_id=licence.licence_id,
        payload=service.licence_qr_payload(session, licence.licence_id),
    )


@router.post("/licences/{licence_id}/revoke", response_model=LicenceOut, **taking("revoke_licence"))
def revoke_licence(
    licence_id: LicenceIdPath,
    body: RevokeRequest,
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
) -> LicenceOut:
    service.revoke_licence(session, node, actor, licence_id, body.reason, body.case_no)
    return LicenceOut.of(service.get_licence(session, licence_id))


@router.get("/public/licences/{licence_id}/verify", response_model=VerificationOut, tags=["public"])
def verify_licence_by_id(
    licence_id: LicenceIdPath, session: SessionDep, node: NodeDep
) -> VerificationOut:
    return VerificationOut.of(
        service.verify_licence(
            session, licence_id, network_id=node.network_id, node_id=node.node_id
        )
    )


@router.post("/public/licences/verify", response_model=VerificationOut, tags=["public"])
def verify_licence_payload(
    body: VerifyRequest, session: SessionDep, node: NodeDep
) -> VerificationOut:
    return VerificationOut.of(
        service.verify_qr_payload(session, body.payload, network_id=node.network_id)
    )
