"""Request and response models of the intake API (they are its OpenAPI schemas).

Requests check shape and size; the rules (identity numbers, materials of the matter,
roles, states) are the action functions' to check, so every client gets them. A phone
number is refused here already (``Phone``), by the same rule ``file_case`` asks
(``common.identifiers.phone``), so that the schema says what a phone number is.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from common.identifiers import IdentifierError
from common.identifiers.phone import PHONE_HINT, validate_phone

Sha256 = Field(
    default=None, pattern=r"^[0-9a-f]{64}$", description="已上传文件的SHA-256（POST /api/v1/blobs）"
)


def _phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return validate_phone(value)
    except IdentifierError as exc:
        raise PydanticCustomError("phone_invalid", exc.message) from None


# A contact phone: a mainland mobile or a landline with its area code, normalised.
Phone = Annotated[str | None, AfterValidator(_phone)]


class ApplicantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["person", "enterprise"] = Field(
        description="person 自然人（身份证号），enterprise 法人或其他组织（统一社会信用代码）"
    )
    name: str = Field(min_length=1, max_length=100, description="姓名或名称")
    id_number: str = Field(
        min_length=1, max_length=30, description="公民身份号码或统一社会信用代码"
    )
    phone: Phone = Field(default=None, max_length=20, description=f"联系电话：{PHONE_HINT}")


class MaterialIn(BaseModel):
    """One material handed in: name it by position (from 0) or by name, and give either
    an uploaded file or an electronic licence the applicant holds (无证明)."""

    model_config = ConfigDict(extra="forbid")

    position: int | None = Field(default=None, ge=0, le=99)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    blob_sha256: str | None = Sha256
    licence_ref: str | None = Field(
        default=None, min_length=1, max_length=120, description="电子证照标识"
    )


class VisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    who: Literal["applicant", "agent", "courier", "staff"] = Field(
        description="只有申请人本人到场计入跑动次数"
    )
    place: str = Field(min_length=1, max_length=100)
    purpose: str = Field(min_length=1, max_length=200)


class FileCaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matter_code: str = Field(min_length=31, max_length=33, description="事项实施编码")
    applicant: ApplicantIn
    materials: list[MaterialIn] = Field(default_factory=list, max_length=100)
    commitment: bool = Field(default=False, description="申请人选择告知承诺制")
    visit: VisitIn | None = Field(
        default=None, description="申请时到场的情况（本人到场计入跑动次数）"
    )
    agent: str | None = Field(
        default=None, max_length=64, description="代办员（村级节点自动为当前代办员）"
    )


class NoticeItemIn(BaseModel):
    """One material of a one-time notice and, optionally, what is wrong with it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=200, description="材料名称（本事项材料清单中的名称）"
    )
    reason: str | None = Field(
        default=None,
        max_length=200,
        description="补正要求，如“身份证复印件不清晰，请提供原件扫描件”",
    )


def _named_item(value: Any) -> Any:
    # A bare material name is the first shape of the request: an item without a reason.
    return {"name": value} if isinstance(value, str) else value


NoticeItem = Annotated[
    NoticeItemIn, BeforeValidator(_named_item, json_schema_input_type=str | NoticeItemIn)
]


class NoticeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    missing: list[NoticeItem] = Field(
        min_length=1,
        max_length=100,
        description="一次性列出需补齐补正的全部材料：材料名称，或 {name, reason} 写明每项材料的补正要求",
    )
    note: str | None = Field(
        default=None, max_length=500, description="告知书的其他说明（针对整份告知）"
    )


class SupplementRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    materials: list[MaterialIn] = Field(min_length=1, max_length=100)


class ReasonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class DeliverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["window", "courier", "electronic", "agent"] = Field(
        description="window 窗口领取，courier 快递（须填单号），electronic 电子送达，agent 代办员送达（仅来源村）"
    )
    tracking_no: str | None = Field(default=None, min_length=1, max_length=40)
    receiver: str | None = Field(
        default=None, min_length=1, max_length=100, description="签收人，默认申请人"
    )
    pickup_visit: bool | None = Field(
        default=None,
        description="窗口领取是否为申请人（或其代表）专程到场，计入跑动次数；不填时当天已到场记录的视为同一次",
    )
    place: str | None = Field(
        default=None, min_length=1, max_length=100, description="领取地点，默认本节点窗口"
    )


# -- responses ---------------------------------------------------------------------


class CaseSummaryOut(BaseModel):
    case_no: str
    state: str
    state_label: str
    matter_code: str
    matter_name: str
    case_type: str
    handling_level: str
    window: str
    applicant_kind: str
    applicant_name: str
    applicant_id_masked: str = Field(description="证件号码（脱敏）")
    agent: str | None
    origin_node: str
    custodian: str
    filed_on: str
    accepted_on: str | None
    deadline: str | None
    notices: int
    notice_breaches: int = Field(description="违反一次性告知的次数")
    visits: int = Field(description="申请人跑动次数")
    over_visit_limit: bool


class MatterOut(BaseModel):
    code: str
    name: str
    catalogue_version: int
    case_type: str
    case_type_label: str
    handling_level: str
    window: str
    lead_department: str
    required_visits: int


class ApplicantOut(BaseModel):
    kind: str
    kind_label: str
    name: str
    id_masked: str
    phone: str | None


class DatesOut(BaseModel):
    filed_at: str
    filed_on: str
    accepted_on: str | None
    deadline: str | None
    decided_on: str | None
    delivered_on: str | None


class MaterialOut(BaseModel):
    position: int
    name: str
    mandatory: bool
    provided: bool
    blob_sha256: str | None
    licence_ref: str | None
    promised: bool = Field(description="告知承诺制下承诺后补")


class NoticeItemOut(BaseModel):
    name: str
    reason: str | None = Field(description="补正要求（未写明的为空）")


class NoticeOut(BaseModel):
    notice_no: int
    missing: list[str]
    items: list[NoticeItemOut] = Field(description="所缺材料及每项的补正要求，顺序同 missing")
    note: str | None = Field(description="告知书的其他说明")
    issued_on: str
    breach: bool = Field(description="同一案件的第二次及以后的告知：违反一次性告知")
    issued_by: str


class VisitOut(BaseModel):
    seq: int
    who: str
    place: str
    purpose: str
    visited_on: str
    counts: bool = Field(description="是否计入申请人跑动次数")


class RecordedVisitOut(VisitOut):
    case_no: str
    visits: int = Field(description="案件累计跑动次数")
    over_visit_limit: bool
    over_limit_reason: str | None


class TripsOut(BaseModel):
    count: int
    limit: int
    over_limit: bool
    reason: str | None


class TaskOut(BaseModel):
    task_id: str
    kind: str
    department: str
    lead: bool
    state: str
    opinion: str | None
    comment: str | None
    done_by: str | None
    opened_on: str
    due_on: str | None
    done_on: str | None


class DecisionOut(BaseModel):
    decision: str | None
    reason: str | None
    decided_on: str | None
    licence_id: str | None
    result_revoked: bool


class DeliveryOut(BaseModel):
    method: str | None
    tracking_no: str | None
    delivered_on: str | None


class ClockOut(BaseModel):
    limit_days: int
    extension_days: int
    days_used: int
    days_left: int | None
    paused_days: int
    status: str = Field(
        description="normal / yellow / red / paused / delivering / stopped / not_started"
    )
    status_label: str
    deadline: str | None
    wait_calendar_days: int = Field(description="申请人自申请至送达（或今天）的等待天数")
    wait_working_days: int
    fallback_years: list[int]
    phase: str = Field(
        description="acceptance 受理（§32）/ decision 办理（§42）/ delivery 送达（§44）/ done"
    )
    phase_label: str
    deemed_accepted: bool = Field(description="5个工作日内未受理、未告知：依法自申请之日视为受理")
    phase_deadline: str | None = Field(description="受理或送达期限")
    phase_days_left: int | None


class CaseViewOut(CaseSummaryOut):
    version: int
    matter: MatterOut
    applicant: ApplicantOut
    commitment: bool
    dates: DatesOut
    limit_days: int
    extension_days: int
    closed_reason: str | None
    materials: list[MaterialOut]
    materials_required: int
    materials_saved: int = Field(description="以电子证照免交的材料数（无证明）")
    notice_list: list[NoticeOut]
    visit_list: list[VisitOut]
    trips: TripsOut
    tasks: list[TaskOut]
    decision: DecisionOut
    delivery: DeliveryOut
    rating: int | None
    clock: ClockOut


class PublicProgressOut(BaseModel):
    """办件进度查询：不含任何个人信息。"""

    case_no: str
    state_label: str
    matter_name: str
    filed_on: str
    accepted_on: str | None
    deadline: str | None
    decided_on: str | None
    delivered_on: str | None
    deadline_status: str
    deadline_status_label: str
    days_left: int | None
    result_revoked: bool = Field(
        False, description="办理结果（证照）事后被撤销，例如告知承诺核查不通过"
    )
