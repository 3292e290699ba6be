"""Hostile workbooks are refused early: a zip bomb before any XML is parsed, an
oversized sheet as soon as its rows pass the limit; an ordinary catalogue still reads."""

from __future__ import annotations

import io
import random
import time
import zipfile

import pytest

from common.catalog import io_xlsx
from common.catalog.io_validate import CatalogueImportError
from common.catalog.io_xlsx import MAX_ROWS, read_xlsx, write_xlsx
from common.catalog.sample import load_sample_matters

HEAD = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
TAIL = "</sheetData></worksheet>"


def sample_matters():
    matters, _batches = load_sample_matters()
    return matters


def with_sheet(xml: str) -> bytes:
    """A real workbook written by onetrip whose 事项 sheet is replaced by ``xml``."""
    original = zipfile.ZipFile(io.BytesIO(write_xlsx(sample_matters()[:1])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in original.infolist():
            data = original.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                data = xml.encode()
            target.writestr(entry.filename, data)
    return out.getvalue()


def test_the_issue_zip_bomb_is_refused_before_parsing(monkeypatch):
    cell = '<c t="inlineStr"><is><t>x</t></is></c>'
    row = "".join(cell for _ in range(1000))
    bomb = with_sheet(HEAD + "".join(f'<row r="{r}">{row}</row>' for r in range(1, 1001)) + TAIL)
    assert len(bomb) < 400_000  # ~a million cells, tens of MB of XML, in a small file

    def never(*_args, **_kwargs):
        raise AssertionError("openpyxl was asked to parse the bomb")

    monkeypatch.setattr(io_xlsx, "load_workbook", never)
    started = time.process_time()
    with pytest.raises(CatalogueImportError) as refused:
        read_xlsx(bomb)
    assert time.process_time() - started < 1.0
    assert (
        "压缩" in refused.value.problems[0].message_zh
        or "MB" in refused.value.problems[0].message_zh
    )


def test_too_many_rows_are_refused_at_the_limit():
    rng = random.Random(7)  # digits that do not compress away: the ratio check lets it through
    rows = "".join(
        f'<row r="{r}"><c r="A{r}"><v>{rng.randrange(10**9)}</v></c></row>'
        for r in range(1, MAX_ROWS + 500)
    )
    with pytest.raises(CatalogueImportError) as refused:
        read_xlsx(with_sheet(HEAD + rows + TAIL))
    problem = refused.value.problems[0]
    assert problem.row == MAX_ROWS + 2 and str(MAX_ROWS) in problem.message_zh


def test_not_a_zip_is_refused_plainly():
    with pytest.raises(CatalogueImportError) as refused:
        read_xlsx(b"PK\x03\x04 definitely not a workbook")
    assert "Excel" in refused.value.problems[0].message_zh


def test_the_sample_catalogue_still_reads_in_streaming_mode():
    matters = sample_matters()
    assert [m.implementation_code for m in read_xlsx(write_xlsx(matters))] == [
        m.implementation_code for m in matters
    ]
