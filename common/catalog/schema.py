"""The shape of a service matter (办事事项) as it is imported, exported and published.

The fields follow the "六统一" elements of DOMAIN.md and the coding of GB/T 39046-2020
and GB/T 39554.1-2020. Enumerations are stored as their standard codes (strings), so a
spreadsheet and the signed catalogue record carry the same values.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class MatterType(StrEnum):
    """GB/T 39046 matter type (2 digits)."""

    LICENCE = "01"  # 行政许可
    PENALTY = "02"  # 行政处罚
    ENFORCEMENT = "03"  # 行政强制
    LEVY = "04"  # 行政征收
    BENEFIT = "05"  # 行政给付
    INSPECTION = "06"  # 行政检查
    CONFIRMATION = "07"  # 行政确认
    REWARD = "08"  # 行政奖励
    ADJUDICATION = "09"  # 行政裁决
    OTHER_POWER = "10"  # 其他行政权力
    PUBLIC_SERVICE = "20"  # 公共服务


class ExerciseLevel(StrEnum):
    NATIONAL = "1"
    PROVINCE = "2"
    CITY = "3"
    COUNTY = "4"
    TOWNSHIP = "5"
    VILLAGE = "6"


class CaseType(StrEnum):
    """即办件 / 承诺件 / 一审一核 (a local subclass of 承诺件) / other."""

    IMMEDIATE = "1"  # 即办件
    PROMISED = "2"  # 承诺件
    REVIEW_APPROVE = "2A"  # 一审一核件 (local subclass of 承诺件)
    OTHER = "9"


class HandlingLevel(StrEnum):
    """Where a case of this matter is decided (drives escalation)."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"


class DeliveryMethod(StrEnum):
    """How the single trip is achieved (at most one trip)."""

    ZERO_VISIT = "zero_visit"  # 零上门
    ON_THE_SPOT = "on_the_spot"  # 即办
    WINDOW_COURIER = "window_courier"  # 窗口受理快递送达
    ONLINE_PRECHECK = "online_precheck"  # 网上预审
    APPOINTMENT_VISIT = "appointment_visit"  # 预约上门


class IntegratedWindow(StrEnum):
    """The five integrated windows (一窗受理)."""

    INVESTMENT = "investment"  # 投资项目
    REAL_ESTATE = "real_estate"  # 不动产登记
    BUSINESS = "business"  # 商事登记
    SOCIAL = "social"  # 社会事务
    CONVENIENCE = "convenience"  # 综合便民


class ServiceObject(StrEnum):
    NATURAL_PERSON = "1"
    ENTERPRISE = "2"
    PUBLIC_INSTITUTION = "3"
    SOCIAL_ORGANISATION = "4"
    GOVERNMENT_BODY = "5"
    OTHER = "6"


BASIC_CODE_RE = re.compile(r"^(\d{2})(\d{2})(\d{5})(\d{3})$")


class Material(BaseModel):
    """One required material (申请材料)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    issuer: str = Field(default="申请人自备", max_length=100)
    originals: int = Field(default=0, ge=0, le=20)
    copies: int = Field(default=1, ge=0, le=20)
    mandatory: bool = True
    # Licence type code (GB/T 36904) of an electronic licence that can stand in for
    # this material (无证明); empty when none can.
    licence_type: str = Field(default="", max_length=40)


class Fee(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=100)
    amount: str = Field(pattern=r"^\d+(\.\d{1,2})?$", description="yuan, as a decimal string")
    basis: str = Field(default="", max_length=300)


class Matter(BaseModel):
    """One service matter with its 六统一 elements."""

    model_config = ConfigDict(extra="forbid")

    basic_code: str = Field(description="12-digit basic code (GB/T 39046)")
    implementation_code: str = Field(description="31 (or 33) character implementation code")
    name: str = Field(min_length=2, max_length=100)
    matter_type: MatterType
    exercise_level: ExerciseLevel
    service_objects: list[ServiceObject] = Field(min_length=1)
    case_type: CaseType
    handling_level: HandlingLevel
    delivery_method: DeliveryMethod
    window: IntegratedWindow
    implementing_body: str = Field(min_length=2, max_length=100)
    implementing_body_code: str = Field(description="USCC of the implementing body")
    lead_department: str = Field(min_length=2, max_length=100)
    departments: list[str] = Field(
        default_factory=list, description="all departments involved, lead included"
    )
    legal_basis: str = Field(min_length=2, max_length=2000)
    statutory_limit_days: int = Field(ge=0, le=365, description="working days")
    promised_limit_days: int = Field(ge=0, le=365, description="working days")
    conditions: str = Field(default="", max_length=2000)
    procedure: str = Field(default="", max_length=2000)
    materials: list[Material] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    result_name: str = Field(default="", max_length=100)
    result_licence_type: str = Field(default="", max_length=40)
    place: str = Field(default="", max_length=200)
    hours: str = Field(default="", max_length=200)
    consult_phone: str = Field(default="", max_length=40)
    complaint_phone: str = Field(default="", max_length=40)
    online: bool = False
    courier: bool = False
    appointment: bool = False
    commitment_allowed: bool = Field(default=False, description="告知承诺制")
    required_visits: int = Field(
        ge=0, le=9, description="limit_scene_num: 0 or 1 for at-most-one-trip matters"
    )

    @field_validator("basic_code")
    @classmethod
    def _basic_code_shape(cls, value: str) -> str:
        if not BASIC_CODE_RE.match(value):
            raise ValueError("基本编码应为12位数字")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Matter:
        if self.basic_code[2:4] != self.matter_type.value:
            raise ValueError("基本编码第3-4位应与事项类型一致")
        if len(self.implementation_code) not in (31, 33):
            raise ValueError("实施编码应为31位（业务办理项为33位）")
        if self.implementation_code[:18] != self.implementing_body_code:
            raise ValueError("实施编码前18位应为实施主体统一社会信用代码")
        if self.implementation_code[18] != self.exercise_level.value:
            raise ValueError("实施编码第19位应为行使层级")
        if self.implementation_code[19:31] != self.basic_code:
            raise ValueError("实施编码第20-31位应为基本编码")
        if self.promised_limit_days > self.statutory_limit_days:
            raise ValueError("承诺时限不得超过法定时限")
        if self.case_type == CaseType.IMMEDIATE and self.promised_limit_days != 0:
            raise ValueError("即办件承诺时限应为0个工作日")
        # One canonical order (lead first, no repeats) so that a matter exported as
        # 牵头部门 + 协办部门 columns reads back equal.
        others = [d for d in dict.fromkeys(self.departments) if d != self.lead_department]
        self.departments = [self.lead_department, *others]
        return self

    @property
    def at_most_one_trip(self) -> bool:
        return self.required_visits <= 1
