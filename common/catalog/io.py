"""Catalogue import and export: XLSX, CSV and JSON.

``read_catalogue`` returns ``list[Matter]`` or raises ``CatalogueImportError`` with every
problem found (sheet, row as a person sees it, column header, Chinese message); nothing
is returned for a file with any problem. ``write_catalogue`` gives the bytes of a file
that reads back to equal ``Matter`` objects.

JSON is ``{"matters": [Matter, ...]}`` in the schema's own field names and codes; any
other top-level keys (the shipped sample's ``batches``) are ignored, and a bare list of
matters is accepted too. The column formats are described in ``io_xlsx`` and ``io_csv``.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

from common.catalog.io_csv import read_csv, write_csv
from common.catalog.io_validate import (
    CatalogueImportError,
    ImportProblem,
    Progress,
    RawRecord,
    Source,
    build_matters,
    check_duplicates,
)
from common.catalog.io_xlsx import read_xlsx, write_xlsx
from common.catalog.schema import Matter
from common.errors import DomainError

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "CatalogueImportError",
    "ImportProblem",
    "format_of",
    "read_catalogue",
    "read_catalogue_file",
    "write_catalogue",
    "write_catalogue_file",
]

FORMATS = ("xlsx", "csv", "json")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
JSON_SHEET = "matters"


def format_of(filename: str) -> str:
    """The format named by a file's extension; refuses others with a 4xx answer."""
    suffix = Path(filename).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise DomainError(
            "catalogue.file_format", "只支持 .xlsx、.csv、.json 格式的事项文件", field="file"
        )
    return suffix


def read_catalogue(data: bytes, fmt: str, *, progress: Progress | None = None) -> list[Matter]:
    if fmt == "xlsx":
        return read_xlsx(data, progress)
    if fmt == "csv":
        return read_csv(data, progress)
    if fmt == "json":
        return read_json(data, progress)
    raise DomainError("catalogue.file_format", f"不支持的格式 {fmt}", field="format")


def write_catalogue(matters: list[Matter], fmt: str) -> bytes:
    if fmt == "xlsx":
        return write_xlsx(matters)
    if fmt == "csv":
        return write_csv(matters)
    if fmt == "json":
        return write_json(matters)
    raise DomainError("catalogue.file_format", f"不支持的格式 {fmt}", field="format")


def read_catalogue_file(path: Path, *, progress: Progress | None = None) -> list[Matter]:
    return read_catalogue(path.read_bytes(), format_of(path.name), progress=progress)


def write_catalogue_file(path: Path, matters: list[Matter]) -> None:
    path.write_bytes(write_catalogue(matters, format_of(path.name)))


def write_json(matters: list[Matter]) -> bytes:
    document = {"matters": [m.model_dump(mode="json") for m in matters]}
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def read_json(data: bytes, progress: Progress | None = None) -> list[Matter]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueImportError(
            [ImportProblem(JSON_SHEET, None, None, f"不是有效的JSON：{exc}")]
        ) from None
    items = document.get("matters") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise CatalogueImportError(
            [ImportProblem(JSON_SHEET, None, None, '应为 {"matters": [...]} 或事项数组')]
        )
    problems: list[ImportProblem] = []
    records: list[RawRecord] = []
    for number, item in enumerate(items, start=1):
        # In JSON a "row" is the matter's position in the list (1 = first) and a
        # "column" is the field path, e.g. materials[0].name.
        if not isinstance(item, dict):
            problems.append(ImportProblem(JSON_SHEET, number, None, "每个事项应为JSON对象"))
            continue
        item = _nfc(item)
        record = RawRecord(Source(JSON_SHEET, number), data=dict(item))
        for name in ("materials", "fees"):
            sub_items = record.data.pop(name, [])
            if not isinstance(sub_items, list):
                problems.append(ImportProblem(JSON_SHEET, number, name, "应为数组"))
                record.bad.add(name)
                continue
            for position, sub in enumerate(sub_items):
                source = Source(JSON_SHEET, number, field_prefix=f"{name}[{position}].")
                getattr(record, name).append(RawRecord(source, data=sub))
        records.append(record)
    check_duplicates(records, problems)
    return build_matters(records, problems, progress)


def _nfc(value: Any) -> Any:
    """Text enters the system NFC-normalised (the ledger signs NFC)."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    return value
