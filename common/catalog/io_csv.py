"""The catalogue as one CSV file.

Columns are the 事项 columns of the workbook (same headers, labels and 是/否), followed
by two columns holding JSON arrays: 申请材料 — objects with the keys ``name``,
``issuer``, ``originals``, ``copies``, ``mandatory`` (true/false) and ``licence_type``;
收费 — objects with ``item``, ``amount`` (yuan as a decimal string) and ``basis``. An
empty cell means no materials / no fees. Written as UTF-8 with a byte-order mark so that
Excel shows the Chinese; read as UTF-8, or GB18030 as saved by Chinese Excel.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from io import StringIO
from typing import Any

from common.catalog.io_columns import (
    FEES_JSON_HEADER,
    MATERIALS_JSON_HEADER,
    MATTER_COLUMNS,
    amount_text,
    cell_text,
    header_index,
    matter_cells,
    norm_key,
    required_fields,
)
from common.catalog.io_validate import (
    ITEM_LABELS,
    CatalogueImportError,
    ImportProblem,
    Progress,
    RawRecord,
    Source,
    build_matters,
    check_duplicates,
    read_cells,
)
from common.catalog.schema import Matter

CSV_SHEET = "CSV"
ITEM_COLUMNS = (
    ("materials", MATERIALS_JSON_HEADER, "项材料"),
    ("fees", FEES_JSON_HEADER, "项收费"),
)


def write_csv(matters: list[Matter]) -> bytes:
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [col.header for col in MATTER_COLUMNS] + [MATERIALS_JSON_HEADER, FEES_JSON_HEADER]
    )
    for matter in matters:
        items = [
            json.dumps(
                [i.model_dump(mode="json") for i in getattr(matter, name)], ensure_ascii=False
            )
            if getattr(matter, name)
            else ""
            for name, _, _ in ITEM_COLUMNS
        ]
        writer.writerow([_inert(_text(v)) for v in matter_cells(matter)] + items)
    return out.getvalue().encode("utf-8-sig")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...)).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(text: str) -> str:
    """Export: a leading apostrophe makes a formula-like cell plain text (OWASP's advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _restored(text: str) -> str:
    """Import: the apostrophe ``_inert`` added comes off again, so a round trip is exact."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CatalogueImportError(
        [ImportProblem(CSV_SHEET, None, None, "无法识别文件编码，请保存为UTF-8编码的CSV")]
    )


def read_csv(data: bytes, progress: Progress | None = None) -> list[Matter]:
    try:
        rows = [
            [_restored(cell) for cell in row]
            for row in csv.reader(StringIO(_decode(data), newline=""))
        ]
    except csv.Error as exc:
        raise CatalogueImportError(
            [ImportProblem(CSV_SHEET, None, None, f"CSV格式错误：{exc}")]
        ) from None
    if not rows:
        raise CatalogueImportError([ImportProblem(CSV_SHEET, 1, None, "文件为空")])
    headers, problems = rows[0], []
    index = header_index(headers, MATTER_COLUMNS)
    for col in MATTER_COLUMNS:
        if col.field in required_fields() and col.field not in index:
            problems.append(ImportProblem(CSV_SHEET, 1, col.header, "缺少此列"))
    if problems:
        raise CatalogueImportError(problems)
    item_index = {norm_key(str(h)): i for i, h in enumerate(headers)}
    column_headers = {col.field: col.header for col in MATTER_COLUMNS}
    records: list[RawRecord] = []
    # Row numbers as a spreadsheet shows them: one CSV record is one row, header = 1.
    for row_no, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        source = Source(CSV_SHEET, row_no, column_headers)
        record = read_cells(cells, index, MATTER_COLUMNS, source, problems)
        for name, header, label in ITEM_COLUMNS:
            position = item_index.get(norm_key(header))
            text = (
                cell_text(cells[position])
                if position is not None and position < len(cells)
                else None
            )
            _read_items(record, name, header, label, text, problems)
        records.append(record)
    check_duplicates(records, problems)
    return build_matters(records, problems, progress)


def _read_items(
    record: RawRecord,
    name: str,
    header: str,
    label: str,
    text: str | None,
    problems: list[ImportProblem],
) -> None:
    if text is None:
        return
    try:
        items = json.loads(text)
        if not isinstance(items, list):
            raise ValueError  # noqa: TRY004 - caught just below with the JSON errors: one message for both
    except ValueError:
        problems.append(
            ImportProblem(
                CSV_SHEET, record.source.row, header, '应为JSON数组，例如 [{"name": "身份证"}]'
            )
        )
        record.bad.add(name)
        return
    for number, item in enumerate(items, start=1):
        source = Source(
            CSV_SHEET,
            record.source.row,
            fallback=header,
            item_label=f"第{number}{label}的",
            labels=ITEM_LABELS[name],
        )
        sub = RawRecord(source, data=_nfc(item) if isinstance(item, dict) else item)
        getattr(record, name).append(sub)


def _nfc(item: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, str):
            value = unicodedata.normalize("NFC", value)
        elif key == "amount" and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = amount_text(cell_text(value) or "")  # a number typed without quotes
        result[key] = value
    return result
