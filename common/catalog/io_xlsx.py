"""The catalogue as an Excel workbook (openpyxl).

Sheets: 事项 (one row per matter), 申请材料 and 收费 (one row per material / fee, tied to
the matter by 实施编码, in list order), and 填写说明 (what each column takes; ignored on
import). Codes, phone numbers and amounts are written as text cells so that leading
zeros and decimals survive Excel.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from common.catalog.io_columns import (
    CODE_HEADER,
    FEE_COLUMNS,
    FEE_SHEET,
    MATERIAL_COLUMNS,
    MATERIAL_SHEET,
    MATTER_COLUMNS,
    MATTER_SHEET,
    Col,
    cell_text,
    header_index,
    matter_cells,
    required_fields,
    sub_cells,
)
from common.catalog.io_validate import (
    CatalogueImportError,
    ImportProblem,
    Progress,
    Source,
    build_matters,
    check_duplicates,
    read_cells,
)
from common.catalog.schema import Fee, Material, Matter

GUIDE_SHEET = "填写说明"
CODE_COLUMN = Col(CODE_HEADER, "implementation_code", "code")
# The sheets of a matter's items: sheet name, its columns (after 实施编码), Matter's list.
ITEM_SHEETS = (
    (MATERIAL_SHEET, MATERIAL_COLUMNS, "materials"),
    (FEE_SHEET, FEE_COLUMNS, "fees"),
)
WIDE = {
    "事项名称": 32,
    "设定依据": 40,
    "受理条件": 40,
    "办理流程": 40,
    "材料名称": 32,
    "收费依据": 32,
}
KIND_NOTES = {
    "text": "文本",
    "code": "文本（按文本格式填写，保留前导零）",
    "int": "整数",
    "bool": "是 / 否",
    "departments": "多个部门用“、”分隔（牵头部门除外）",
    "amount": "金额，单位元，最多两位小数",
}


MiB = 1024 * 1024
# A county's full catalogue (~2,000 matters) is ~8 MiB of XML; the 170-matter sample 0.6.
MAX_UNCOMPRESSED = 24 * MiB
MAX_RATIO = 50  # worksheet XML compresses about 8:1; a zip bomb hundreds to one
MAX_ENTRIES = 200
MAX_ROWS = 20_000  # per sheet
MAX_COLUMNS = 200
MAX_CELLS = 400_000  # in the whole workbook
MAX_CELL_CHARS = 20_000


# -- export ------------------------------------------------------------------------


def write_xlsx(matters: list[Matter]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = MATTER_SHEET
    _write(sheet, MATTER_COLUMNS, (matter_cells(m) for m in matters))
    for name, columns, attribute in ITEM_SHEETS:
        _write(
            workbook.create_sheet(name),
            (CODE_COLUMN, *columns),
            (
                [m.implementation_code, *sub_cells(columns, item.model_dump(mode="json"))]
                for m in matters
                for item in getattr(m, attribute)
            ),
        )
    _write_guide(workbook.create_sheet(GUIDE_SHEET))
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _write(sheet: Worksheet, columns: tuple[Col, ...], rows: Iterator[list[Any]]) -> None:
    sheet.append([col.header for col in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    text_columns = [
        i for i, col in enumerate(columns, start=1) if col.kind in ("code", "amount", "text")
    ]
    for row in rows:
        sheet.append(row)
        row_no = sheet.max_row
        for column in text_columns:
            cell = sheet.cell(row=row_no, column=column)
            cell.number_format = "@"
            # openpyxl takes a leading "=" as a formula; this is data, keep it text.
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    for position, col in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = WIDE.get(col.header, 14)


def _write_guide(sheet: Worksheet) -> None:
    sheet.append(["工作表", "列名", "填写要求"])
    required = required_fields()
    for col in MATTER_COLUMNS:
        note = "可填：" + "、".join(col.labels.values()) if col.labels else KIND_NOTES[col.kind]
        if col.kind == "enum_list":
            note += "（多项用“、”分隔）"
        if col.field in required and col.kind != "bool":
            note = "必填；" + note
        sheet.append([MATTER_SHEET, col.header, note])
    for sheet_name, columns, _ in ITEM_SHEETS:
        sheet.append([sheet_name, CODE_HEADER, "必填；须为“事项”表中已有的实施编码"])
        for col in columns:
            note = (
                f"{col.bool_labels[0]} / {col.bool_labels[1]}"
                if col.kind == "bool"
                else KIND_NOTES[col.kind]
            )
            sheet.append([sheet_name, col.header, note])
    sheet.column_dimensions["B"].width = 18
    sheet.column_dimensions["C"].width = 80


# -- import ------------------------------------------------------------------------


def _refuse(message: str, sheet: str = "", row: int | None = None) -> CatalogueImportError:
    return CatalogueImportError([ImportProblem(sheet, row, None, message)])


def _check_archive(data: bytes) -> None:
    """Refuse a workbook that would expand beyond reason, before any XML is parsed."""
    try:
        entries = zipfile.ZipFile(BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError):
        raise _refuse("无法读取该文件，请上传Excel工作簿（.xlsx）") from None
    if len(entries) > MAX_ENTRIES:
        raise _refuse(f"工作簿内部文件过多（{len(entries)}个），不像事项目录")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED:
        raise _refuse(
            f"工作簿解压后约{total // MiB}MB，超过{MAX_UNCOMPRESSED // MiB}MB上限，请分批导入"
        )
    for entry in entries:
        if entry.file_size > MiB and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise _refuse("工作簿压缩比异常（疑似压缩炸弹），已拒绝读取")


def read_xlsx(data: bytes, progress: Progress | None = None) -> list[Matter]:
    _check_archive(data)
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise _refuse("无法读取该文件，请上传Excel工作簿（.xlsx）") from None
    try:
        return _read_workbook(workbook, progress)
    finally:
        workbook.close()  # read-only mode keeps the archive open


def _read_workbook(workbook: Any, progress: Progress | None) -> list[Matter]:
    if MATTER_SHEET not in workbook.sheetnames:
        raise CatalogueImportError([ImportProblem(MATTER_SHEET, None, None, "缺少“事项”工作表")])
    problems: list[ImportProblem] = []
    sheets: dict[str, tuple[dict[str, int], list[tuple[int, list[Any]]]]] = {}
    budget = _CellBudget()
    for name, columns, required in (
        (MATTER_SHEET, MATTER_COLUMNS, required_fields()),
        (
            MATERIAL_SHEET,
            (CODE_COLUMN, *MATERIAL_COLUMNS),
            {"implementation_code", *required_fields(Material)},
        ),
        (FEE_SHEET, (CODE_COLUMN, *FEE_COLUMNS), {"implementation_code", *required_fields(Fee)}),
    ):
        if name not in workbook.sheetnames:
            sheets[name] = ({}, [])  # a catalogue without materials or fees is allowed
            continue
        headers, rows = _rows(workbook[name], name, budget)
        index = header_index(headers, columns)
        for col in columns:
            if col.field in required and col.field not in index:
                problems.append(ImportProblem(name, 1, col.header, "缺少此列"))
        sheets[name] = (index, rows)
    if problems:
        raise CatalogueImportError(problems)  # without the columns every row would fail

    index, rows = sheets[MATTER_SHEET]
    field_headers = {col.field: col.header for col in MATTER_COLUMNS}
    records = [
        read_cells(
            cells, index, MATTER_COLUMNS, Source(MATTER_SHEET, row_no, field_headers), problems
        )
        for row_no, cells in rows
    ]
    by_code = check_duplicates(records, problems)
    for name, columns, attribute in ITEM_SHEETS:
        index, rows = sheets[name]
        field_headers = {col.field: col.header for col in (CODE_COLUMN, *columns)}
        for row_no, cells in rows:
            source = Source(name, row_no, field_headers)
            code = (
                cell_text(cells[index["implementation_code"]])
                if index["implementation_code"] < len(cells)
                else None
            )
            if code is None:
                problems.append(source.problem("implementation_code", "必填，不能为空"))
                continue
            owner = by_code.get(code)
            if owner is None:
                problems.append(
                    source.problem("implementation_code", f"“事项”表中没有实施编码为{code}的事项")
                )
                continue
            getattr(owner, attribute).append(read_cells(cells, index, columns, source, problems))
    return build_matters(records, problems, progress)


class _CellBudget:
    """Cells read so far in the workbook, refused past ``MAX_CELLS``."""

    def __init__(self) -> None:
        self.used = 0

    def take(self, count: int, sheet: str, row_no: int) -> None:
        self.used += count
        if self.used > MAX_CELLS:
            raise _refuse(f"单元格超过{MAX_CELLS}个，请分批导入", sheet, row_no)


def _rows(
    sheet: Worksheet, name: str, budget: _CellBudget
) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """Header cells and the non-blank data rows with their row numbers."""
    headers: list[Any] = []
    rows: list[tuple[int, list[Any]]] = []
    for row_no, cells in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        values = list(cells)
        _check_row(values, name, row_no, budget)
        if row_no == 1:
            headers = values
        elif any(cell_text(v) is not None for v in values):
            rows.append((row_no, values))
    return headers, rows


def _check_row(values: list[Any], sheet: str, row_no: int, budget: _CellBudget) -> None:
    if row_no > MAX_ROWS + 1:
        raise _refuse(f"超过{MAX_ROWS}行，请分批导入", sheet, row_no)
    while values and values[-1] is None:
        values.pop()  # trailing empty cells of a formatted row are not data
    if len(values) > MAX_COLUMNS:
        raise _refuse(f"超过{MAX_COLUMNS}列", sheet, row_no)
    budget.take(len(values), sheet, row_no)
    for value in values:
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise _refuse(f"有单元格超过{MAX_CELL_CHARS}个字", sheet, row_no)
