"""Turn rows read from a file into ``Matter`` objects, or into a complete problem list.

Every reader (XLSX, CSV, JSON) produces ``RawMatter`` records that remember where each
value came from (``Source``). Validation collects ALL problems — cells that cannot be
read, pydantic errors mapped back to the column a person filled in, duplicate codes,
the rules between fields (``consistency``) — and raises ``CatalogueImportError`` if
there is any, so a file imports whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from common.catalog.consistency import inconsistencies
from common.catalog.io_columns import (
    FEE_COLUMNS,
    MATERIAL_COLUMNS,
    MATTER_COLUMNS,
    CellError,
    Col,
    parse_cell,
)
from common.catalog.schema import Matter
from common.errors import DomainError

Progress = Callable[[int, int], None]
SHEET_ORDER = ("事项", "申请材料", "收费")
MATTER_LABELS = {col.field: col.header for col in MATTER_COLUMNS}
ITEM_LABELS = {
    "materials": {col.field: col.header for col in MATERIAL_COLUMNS},
    "fees": {col.field: col.header for col in FEE_COLUMNS},
}


@dataclass(frozen=True)
class ImportProblem:
    """One fault in an import file: sheet, row as a person sees it (header = 1), column."""

    sheet: str
    row: int | None
    column: str | None
    message_zh: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message_zh,
        }

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f" 第{self.row}行"
        if self.column:
            where += f"“{self.column}”"
        return f"{where}：{self.message_zh}"


class CatalogueImportError(DomainError):
    """The file was not imported; ``problems`` lists every fault found."""

    status_code = 422

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(
            "catalogue.import_invalid",
            f"导入文件有{len(problems)}处问题，未导入任何事项",
            field="file",
        )
        self.problems = problems

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "problems": [p.as_dict() for p in self.problems]}


@dataclass(frozen=True)
class Source:
    """Where a record's values came from, so that a problem names the right cell."""

    sheet: str
    row: int | None
    headers: Mapping[str, str] = field(default_factory=dict)  # schema field -> column header
    fallback: str | None = None  # column for fields without their own (JSON in a CSV cell)
    field_prefix: str = ""  # "materials[0]." for JSON, where columns are field paths
    item_label: str = ""  # "第2项材料的" when several items share one cell
    labels: Mapping[str, str] = field(default_factory=dict)

    def problem(self, name: str | None, message: str) -> ImportProblem:
        name = name or ""
        if name in self.headers:
            column: str | None = self.headers[name]
        elif self.fallback is not None:
            column = self.fallback
        else:
            column = self.field_prefix + name if name else None
        if self.item_label:
            label = self.labels.get(name, name) if name else ""
            message = f"{self.item_label if label else self.item_label.removesuffix('的')}{label}：{message}"
        return ImportProblem(self.sheet, self.row, column, message)


@dataclass
class RawRecord:
    """Parsed values of one row (or JSON object); fields with a cell problem are left out."""

    source: Source
    data: dict[str, Any] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)
    materials: list[RawRecord] = field(default_factory=list)
    fees: list[RawRecord] = field(default_factory=list)

    @property
    def code(self) -> str | None:
        code = self.data.get("implementation_code")
        return code if isinstance(code, str) else None


def read_cells(
    cells: list[Any],
    index: dict[str, int],
    columns: tuple[Col, ...],
    source: Source,
    problems: list[ImportProblem],
) -> RawRecord:
    record = RawRecord(source)
    for col in columns:
        if col.field not in index:
            continue
        position = index[col.field]
        value = cells[position] if position < len(cells) else None
        try:
            parsed = parse_cell(col, value)
        except CellError as exc:
            problems.append(source.problem(col.field, str(exc)))
            record.bad.add(col.field)
            continue
        if parsed is not None:
            record.data[col.field] = parsed
    return record


def error_message(err: Mapping[str, Any]) -> str:
    """A pydantic error in Chinese."""
    kind, ctx = err["type"], err.get("ctx") or {}
    loc = err.get("loc") or ()
    if kind == "missing":
        return "必填，不能为空"
    if kind == "string_too_short":
        return f"至少{ctx.get('min_length')}个字"
    if kind == "string_too_long":
        return f"不得超过{ctx.get('max_length')}个字"
    if kind == "too_short":
        return f"至少填写{ctx.get('min_length')}项"
    if kind == "too_long":
        return f"最多填写{ctx.get('max_length')}项"
    if kind == "greater_than_equal":
        return f"不得小于{ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"不得大于{ctx.get('le')}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "应为整数"
    if kind in ("bool_parsing", "bool_type"):
        return "应为是或否"
    if kind == "enum":
        return f"不是有效的选项，可选：{ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        if loc and loc[-1] == "amount":
            return "金额应为以元为单位的数字，最多两位小数"
        return "格式不正确"
    if kind in ("string_type", "list_type", "dict_type", "model_type"):
        return "类型不正确"
    if kind == "extra_forbidden":
        return "不认识的字段"
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg", "")))
    return str(err.get("msg", kind))


def guess_field(message: str) -> str:
    """The column a cross-field error is about: the first column named in the message."""
    best: tuple[int, int, str] | None = None
    for name, header in MATTER_LABELS.items():
        position = message.find(header)
        if position >= 0:
            candidate = (position, -len(header), name)
            best = candidate if best is None or candidate < best else best
    return best[2] if best else "implementation_code"


def validate_record(record: RawRecord, problems: list[ImportProblem]) -> Matter | None:
    data = dict(record.data)
    data["materials"] = [item.data for item in record.materials]
    data["fees"] = [item.data for item in record.fees]
    try:
        matter = Matter.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problem = _locate(record, err)
            if problem is not None:
                problems.append(problem)
        return None
    if record.bad or any(item.bad for item in (*record.materials, *record.fees)):
        return None
    if found := inconsistencies(matter):
        problems.extend(record.source.problem(issue.field, issue.message) for issue in found)
        return None
    return matter


def _locate(record: RawRecord, err: Mapping[str, Any]) -> ImportProblem | None:
    loc = err["loc"]
    message = error_message(err)
    if not loc:
        return record.source.problem(guess_field(message), message)
    head = loc[0]
    if head in ("materials", "fees") and len(loc) >= 2 and isinstance(loc[1], int):
        item: RawRecord = getattr(record, head)[loc[1]]
        name = str(loc[2]) if len(loc) > 2 else ""
        if name in item.bad:
            return None  # already reported as an unreadable cell
        return item.source.problem(name, message)
    if head in record.bad:
        return None
    return record.source.problem(str(head), message)


def check_duplicates(
    records: list[RawRecord], problems: list[ImportProblem]
) -> dict[str, RawRecord]:
    """Index records by implementation code; a repeated code is a problem on the later row."""
    by_code: dict[str, RawRecord] = {}
    for record in records:
        code = record.code
        if code is None:
            continue
        first = by_code.get(code)
        if first is not None:
            where = f"第{first.source.row}行" if first.source.row is not None else "前面"
            problems.append(
                record.source.problem("implementation_code", f"实施编码{code}与{where}重复")
            )
        else:
            by_code[code] = record
    return by_code


def build_matters(
    records: list[RawRecord], problems: list[ImportProblem], progress: Progress | None = None
) -> list[Matter]:
    """Validate every record; return the matters only if the whole file is clean."""
    matters: list[Matter] = []
    total = len(records)
    if progress:
        progress(0, total)
    for done, record in enumerate(records, start=1):
        matter = validate_record(record, problems)
        if matter is not None:
            matters.append(matter)
        if progress:
            progress(done, total)
    if problems:
        raise CatalogueImportError(sort_problems(problems))
    return matters


def sort_problems(problems: list[ImportProblem]) -> list[ImportProblem]:
    def key(problem: ImportProblem) -> tuple[int, int]:
        rank = (
            SHEET_ORDER.index(problem.sheet) if problem.sheet in SHEET_ORDER else len(SHEET_ORDER)
        )
        return rank, problem.row or 0

    return sorted(problems, key=key)  # stable: columns keep their left-to-right order
