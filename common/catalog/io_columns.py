"""The spreadsheet columns of a matter, their Chinese headers and labels, and cells.

One table (``MATTER_COLUMNS``, ``MATERIAL_COLUMNS``, ``FEE_COLUMNS``) drives the XLSX
and CSV readers and writers, so both formats and the 填写说明 sheet always agree.
Enumerations are written as readable labels (承诺件, 社会事务窗口) and read back from a
label, an alias or the standard code; yes/no is 是/否.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field as dataclass_field  # Col has an attribute named ``field``
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from common.catalog.schema import Matter
from common.labels import (
    CASE_TYPE_LABELS,
    DELIVERY_METHOD_LABELS,
    EXERCISE_LEVEL_LABELS,
    HANDLING_LEVEL_LABELS,
    MATTER_TYPE_LABELS,
    SERVICE_OBJECT_LABELS,
    WINDOW_LABELS,
)

# Other spellings people use in county spreadsheets (label -> code).
ALIASES: dict[str, dict[str, str]] = {
    "exercise_level": {
        "国家": "1",
        "省": "2",
        "设区的市级": "3",
        "市": "3",
        "县": "4",
        "县（市、区）级": "4",
        "乡镇": "5",
        "乡级": "5",
        "镇级": "5",
        "乡镇（街道）级": "5",
        "村": "6",
        "村（社区）级": "6",
    },
    "service_objects": {
        "企业": "2",
        "事业法人": "3",
        "事业单位": "3",
        "社会组织": "4",
        "机关法人": "5",
        "其他": "6",
    },
    "case_type": {"一审一核": "2A", "其他件": "9"},
    "handling_level": {
        "村": "village",
        "村（社区）": "village",
        "乡镇": "township",
        "乡镇（街道）": "township",
        "县": "county",
    },
    "delivery_method": {"即办件": "on_the_spot", "快递送达": "window_courier"},
    "window": {
        "投资项目": "investment",
        "不动产登记": "real_estate",
        "商事登记": "business",
        "社会事务": "social",
        "综合便民": "convenience",
    },
}
YES = {"是", "y", "yes", "true", "1", "√", "有"}
NO = {"否", "n", "no", "false", "0", "×", "无"}
LIST_SEPARATORS = re.compile(r"[、,，;；/\n]+")
NUMBER_SUFFIX = re.compile(r"^(\d+)\s*(个工作日|工作日|日|天|次|份)?$")


@dataclass(frozen=True)
class Col:
    """One column: header text, the schema field it fills and how its cells read."""

    header: str
    field: str
    kind: str = "text"  # text | code | int | bool | enum | enum_list | departments | amount
    labels: dict[str, str] = dataclass_field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    bool_labels: tuple[str, str] = ("是", "否")
    empty: Any = None  # value for an empty cell; None leaves the schema default


MATTER_COLUMNS: tuple[Col, ...] = (
    Col("事项名称", "name"),
    Col("基本编码", "basic_code", "code"),
    Col("实施编码", "implementation_code", "code"),
    Col("事项类型", "matter_type", "enum", MATTER_TYPE_LABELS),
    Col("行使层级", "exercise_level", "enum", EXERCISE_LEVEL_LABELS),
    Col("服务对象", "service_objects", "enum_list", SERVICE_OBJECT_LABELS),
    Col("办件类型", "case_type", "enum", CASE_TYPE_LABELS),
    Col("办理层级", "handling_level", "enum", HANDLING_LEVEL_LABELS),
    Col("办理方式", "delivery_method", "enum", DELIVERY_METHOD_LABELS),
    Col("综合窗口", "window", "enum", WINDOW_LABELS),
    Col("实施主体", "implementing_body"),
    Col("实施主体编码", "implementing_body_code", "code", aliases=("实施主体统一社会信用代码",)),
    Col("牵头部门", "lead_department"),
    Col("协办部门", "departments", "departments"),
    Col("设定依据", "legal_basis"),
    Col("法定时限", "statutory_limit_days", "int", aliases=("法定时限（工作日）",)),
    Col("承诺时限", "promised_limit_days", "int", aliases=("承诺时限（工作日）",)),
    Col("受理条件", "conditions"),
    Col("办理流程", "procedure"),
    Col("办件结果", "result_name", aliases=("办理结果",)),
    Col("证照类型", "result_licence_type", aliases=("结果证照类型",)),
    Col("办理地点", "place"),
    Col("办理时间", "hours"),
    Col("咨询电话", "consult_phone", "code"),
    Col("投诉电话", "complaint_phone", "code"),
    Col("网上办理", "online", "bool"),
    Col("快递送达", "courier", "bool"),
    Col("预约办理", "appointment", "bool"),
    Col("告知承诺", "commitment_allowed", "bool"),
    Col("到现场次数", "required_visits", "int", aliases=("到办事现场次数",)),
)
CODE_HEADER = "实施编码"
MATERIAL_COLUMNS: tuple[Col, ...] = (
    Col("材料名称", "name"),
    # Blank means blank here: the schema default (申请人自备) would not read back equal.
    Col("来源渠道", "issuer", aliases=("出具单位", "来源渠道/出具单位"), empty=""),
    Col("原件", "originals", "int", aliases=("原件份数",)),
    Col("复印件", "copies", "int", aliases=("复印件份数",)),
    Col("必要性", "mandatory", "bool", bool_labels=("必要", "非必要")),
    Col("可用电子证照类型", "licence_type", aliases=("电子证照类型",)),
)
FEE_COLUMNS: tuple[Col, ...] = (
    Col("收费项目", "item"),
    Col("金额（元）", "amount", "amount", aliases=("金额", "收费标准（元）")),
    Col("收费依据", "basis"),
)
MATTER_SHEET, MATERIAL_SHEET, FEE_SHEET = "事项", "申请材料", "收费"
MATERIALS_JSON_HEADER, FEES_JSON_HEADER = "申请材料", "收费"


def norm_key(text: str) -> str:
    """Compare headers and labels loosely: NFKC (full-width brackets), no spaces or '*'."""
    return re.sub(r"[\s*]", "", unicodedata.normalize("NFKC", text)).lower()


def required_fields(model: type[BaseModel] = Matter) -> set[str]:
    return {name for name, info in model.model_fields.items() if info.is_required()}


def header_index(headers: list[Any], columns: tuple[Col, ...]) -> dict[str, int]:
    """Map each known column's field to its position in a header row (unknown headers ignored)."""
    wanted: dict[str, str] = {}
    for col in columns:
        for name in (col.header, *col.aliases):
            wanted[norm_key(name)] = col.field
    found: dict[str, int] = {}
    for position, header in enumerate(headers):
        key = norm_key(str(header)) if header is not None else ""
        if key in wanted and wanted[key] not in found:
            found[wanted[key]] = position
    return found


class CellError(ValueError):
    """A cell that cannot be read; the message is Chinese and names what is allowed."""


def cell_text(value: Any) -> str | None:
    """The text of a cell, NFC, stripped; None when empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
    else:
        text = str(value)
    text = unicodedata.normalize("NFC", text).strip()
    return text or None


def _enum_code(col: Col, text: str) -> str:
    lookup = {norm_key(label): code for code, label in col.labels.items()}
    lookup.update({norm_key(code): code for code in col.labels})
    lookup.update({norm_key(alias): code for alias, code in ALIASES.get(col.field, {}).items()})
    for candidate in (text, text.zfill(2)):
        code = lookup.get(norm_key(candidate))
        if code is not None:
            return code
    choices = "、".join(col.labels.values())
    raise CellError(f"无法识别“{text}”，可填：{choices}")


def parse_cell(col: Col, value: Any) -> Any:
    """The schema value of one cell, ``None`` for an empty cell; raises CellError."""
    text = cell_text(value)
    if text is None:
        return col.empty
    if col.kind == "amount":
        return amount_text(text)
    if col.kind in ("text", "code"):
        return text
    if col.kind == "int":
        match = NUMBER_SUFFIX.match(text)
        if not match:
            raise CellError(f"应为整数，填写的是“{text}”")
        return int(match.group(1))
    if col.kind == "bool":
        yes, no = col.bool_labels
        key = norm_key(text)
        if key in YES or key == norm_key(yes):
            return True
        if key in NO or key == norm_key(no):
            return False
        raise CellError(f"应填“{yes}”或“{no}”，填写的是“{text}”")
    if col.kind == "enum":
        return _enum_code(col, text)
    parts = [part.strip() for part in LIST_SEPARATORS.split(text) if part.strip()]
    if col.kind == "enum_list":
        return [_enum_code(col, part) for part in parts]
    if col.kind == "departments":
        return parts
    raise AssertionError(col.kind)


def format_cell(col: Col, value: Any) -> Any:
    """The cell a person reads for one schema value (labels, 是/否, plain numbers)."""
    if col.kind == "enum":
        return col.labels[str(value)]
    if col.kind == "enum_list":
        return "、".join(col.labels[str(v)] for v in value)
    if col.kind == "bool":
        return col.bool_labels[0] if value else col.bool_labels[1]
    if col.kind == "departments":
        return "、".join(value[1:])  # the lead is first and has its own column
    return value


def matter_cells(matter: Matter) -> list[Any]:
    data = matter.model_dump(mode="json")
    return [format_cell(col, data[col.field]) for col in MATTER_COLUMNS]


def sub_cells(columns: tuple[Col, ...], item: dict[str, Any]) -> list[Any]:
    return [format_cell(col, item[col.field]) for col in columns]


def amount_text(text: str) -> str:
    """Money as a decimal string; a numeric cell (float) is read without binary noise."""
    try:
        return format(Decimal(text), "f")
    except InvalidOperation:
        return text  # the schema's pattern reports it against the column
