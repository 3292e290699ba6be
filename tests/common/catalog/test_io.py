"""Catalogue files: XLSX / CSV / JSON round trips and complete, located problem lists."""

from __future__ import annotations

import csv
import json
from io import BytesIO, StringIO

import pytest
from openpyxl import load_workbook

from common.catalog.io import (
    CatalogueImportError,
    ImportProblem,
    format_of,
    read_catalogue,
    write_catalogue,
)
from common.catalog.io_columns import MATTER_COLUMNS
from common.catalog.schema import Matter
from common.errors import DomainError

WINDOWS = "投资项目窗口、不动产登记窗口、商事登记窗口、社会事务窗口、综合便民窗口"


def _problems(data: bytes, fmt: str) -> list[tuple]:
    with pytest.raises(CatalogueImportError) as caught:
        read_catalogue(data, fmt)
    assert caught.value.code == "catalogue.import_invalid" and caught.value.status_code == 422
    return [(p.sheet, p.row, p.column, p.message_zh) for p in caught.value.problems]


def _edit_xlsx(data: bytes, edit) -> bytes:
    workbook = load_workbook(BytesIO(data))
    edit(workbook)
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _col(header: str) -> int:
    return [c.header for c in MATTER_COLUMNS].index(header) + 1


@pytest.fixture
def matters(make_matter) -> list[Matter]:
    return [make_matter(i, visits=i % 3) for i in range(1, 6)] + [
        make_matter(
            6,
            materials=[],
            fees=[],
            departments=[],
            consult_phone="",
            conditions="=1+1",
            case_type="1",
            promised_limit_days=0,
            window="investment",
            service_objects=["2"],
        ),
        make_matter(
            7,
            case_type="2A",
            matter_type="20",
            basic_code="432000007000",
            implementation_code=make_matter(7).implementation_code[:19] + "432000007000",
            departments=["衡东县自然资源局", "衡东县行政审批服务局", "衡东县自然资源局"],
        ),
    ]


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_round_trip_gives_equal_matters(matters, fmt):
    data = write_catalogue(matters, fmt)
    seen: list[tuple[int, int]] = []
    back = read_catalogue(data, fmt, progress=lambda done, total: seen.append((done, total)))
    assert back == matters
    assert seen[0] == (0, len(matters)) and seen[-1] == (len(matters), len(matters))
    assert write_catalogue(back, fmt) == data or fmt == "xlsx"  # xlsx embeds a timestamp


def test_sample_catalogue_xlsx_import_export_import():
    from common.catalog.sample import load_sample_matters

    sample, _ = load_sample_matters()
    assert len(sample) >= 110
    imported = read_catalogue(write_catalogue(sample, "xlsx"), "xlsx")
    again = read_catalogue(write_catalogue(imported, "xlsx"), "xlsx")
    assert imported == again == sample


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_synthetic_catalogue_round_trips(fmt):
    synthetic = pytest.importorskip("simulation.synthetic")
    matters = [
        Matter.model_validate(m) for m in synthetic.generate_synthetic_catalogue(count=300, seed=3)
    ]
    assert read_catalogue(write_catalogue(matters, fmt), fmt) == matters


def test_xlsx_exports_readable_labels(matters):
    sheet = load_workbook(BytesIO(write_catalogue(matters[:1], "xlsx")))["事项"]
    row = {sheet.cell(1, c).value: sheet.cell(2, c).value for c in range(1, sheet.max_column + 1)}
    assert (row["事项类型"], row["办件类型"], row["综合窗口"], row["服务对象"]) == (
        "行政许可",
        "承诺件",
        "社会事务窗口",
        "自然人、企业法人",
    )
    assert (row["网上办理"], row["预约办理"], row["协办部门"], row["法定时限"]) == (
        "是",
        "否",
        "衡东县自然资源局",
        20,
    )
    materials = load_workbook(BytesIO(write_catalogue(matters[:1], "xlsx")))["申请材料"]
    assert [c.value for c in materials[1]] == [
        "实施编码",
        "材料名称",
        "来源渠道",
        "原件",
        "复印件",
        "必要性",
        "可用电子证照类型",
    ]
    assert [c.value for c in materials[3]][5] == "非必要"


def test_broken_spreadsheet_reports_every_fault_and_nothing_else(matters):
    code5 = matters[4].implementation_code
    stranger = matters[0].implementation_code[:19] + "430199999000"

    def break_it(workbook):
        sheet = workbook["事项"]
        sheet.cell(2, _col("基本编码")).value = "43011"
        sheet.cell(3, _col("事项名称")).value = None
        sheet.cell(4, _col("综合窗口")).value = "民政窗口"
        sheet.append([cell.value for cell in sheet[6]])  # row 9 repeats row 6 (matter 5)
        workbook["申请材料"].append([stranger, "营业执照", "市场监管部门", 1, 0, "必要", ""])

    problems = _problems(_edit_xlsx(write_catalogue(matters, "xlsx"), break_it), "xlsx")
    assert problems == [
        ("事项", 2, "基本编码", "基本编码应为12位数字"),
        ("事项", 3, "事项名称", "必填，不能为空"),
        ("事项", 4, "综合窗口", f"无法识别“民政窗口”，可填：{WINDOWS}"),
        ("事项", 9, "实施编码", f"实施编码{code5}与第6行重复"),
        ("申请材料", 14, "实施编码", f"“事项”表中没有实施编码为{stranger}的事项"),
    ]


def test_cross_field_errors_name_the_relevant_column(make_matter):
    data = write_catalogue([make_matter(1), make_matter(2), make_matter(3)], "xlsx")

    def break_it(workbook):
        sheet = workbook["事项"]
        sheet.cell(2, _col("承诺时限")).value = 30  # statutory is 20
        sheet.cell(3, _col("办件类型")).value = "即办件"  # promised is 5
        sheet.cell(4, _col("行使层级")).value = "乡镇级"  # code says county (4)

    assert _problems(_edit_xlsx(data, break_it), "xlsx") == [
        ("事项", 2, "承诺时限", "承诺时限不得超过法定时限"),
        ("事项", 3, "承诺时限", "即办件承诺时限应为0个工作日"),
        ("事项", 4, "实施编码", "实施编码第19位应为行使层级"),
    ]


def test_sub_sheet_cells_and_blank_rows_keep_true_row_numbers(make_matter):
    data = write_catalogue([make_matter(1), make_matter(2)], "xlsx")

    def break_it(workbook):
        workbook["事项"].insert_rows(3)  # a blank row 3 is skipped, not renumbered
        workbook["事项"].cell(4, _col("法定时限")).value = "二十天"
        materials = workbook["申请材料"]
        materials.cell(2, 2).value = None
        materials.cell(3, 6).value = "也许"
        workbook["收费"].cell(2, 3).value = "十元"

    assert _problems(_edit_xlsx(data, break_it), "xlsx") == [
        ("事项", 4, "法定时限", "应为整数，填写的是“二十天”"),
        ("申请材料", 2, "材料名称", "必填，不能为空"),
        ("申请材料", 3, "必要性", "应填“必要”或“非必要”，填写的是“也许”"),
        ("收费", 2, "金额（元）", "金额应为以元为单位的数字，最多两位小数"),
    ]


def test_codes_aliases_and_numeric_cells_are_accepted(make_matter):
    original = make_matter(1)
    data = write_catalogue([original], "xlsx")

    def use_codes(workbook):
        sheet = workbook["事项"]
        for header, value in (
            ("事项类型", 1),
            ("行使层级", "4"),
            ("服务对象", "1,企业"),
            ("办件类型", "2"),
            ("办理层级", "county"),
            ("办理方式", "窗口受理快递送达"),
            ("综合窗口", "社会事务"),
            ("法定时限", "20个工作日"),
            ("承诺时限", 5.0),
            ("网上办理", "Y"),
            ("快递送达", True),
            ("预约办理", "否"),
            ("投诉电话", 12345),
        ):
            sheet.cell(2, _col(header)).value = value
        workbook["申请材料"].cell(2, 4).value = 1.0
        workbook["收费"].cell(2, 3).value = 10.5

    back = read_catalogue(_edit_xlsx(data, use_codes), "xlsx")
    assert back == [
        original.model_copy(
            update={"fees": [original.fees[0].model_copy(update={"amount": "10.5"})]}
        )
    ]


def test_missing_columns_are_reported_on_the_header_row(make_matter):
    def drop(workbook):
        workbook["事项"].delete_cols(_col("设定依据"))
        workbook["收费"].delete_cols(3)

    assert _problems(_edit_xlsx(write_catalogue([make_matter(1)], "xlsx"), drop), "xlsx") == [
        ("事项", 1, "设定依据", "缺少此列"),
        ("收费", 1, "金额（元）", "缺少此列"),
    ]


def test_not_a_workbook():
    assert _problems(b"PK\x03\x04 not really", "xlsx") == [
        ("", None, None, "无法读取该文件，请上传Excel工作簿（.xlsx）")
    ]


def test_csv_problems_and_json_columns(make_matter):
    good = write_catalogue([make_matter(1), make_matter(2), make_matter(3)], "csv").decode(
        "utf-8-sig"
    )
    rows = list(csv.reader(StringIO(good)))
    assert rows[0][-2:] == ["申请材料", "收费"]
    assert json.loads(rows[1][-1]) == [
        {"item": "工本费", "amount": "10.50", "basis": "湘价费〔2018〕1号"}
    ]
    rows[1][-2] = rows[1][-2].replace("申请书", "")
    rows[2][-1] = '[{"item": "工本费", "amount": 5}]'  # a bare number is read as "5"
    rows.append(list(rows[3]))  # row 5 repeats row 4
    rows[3][-2] = rows[3][-2].replace("[{", "{", 1)
    out = StringIO()
    csv.writer(out).writerows(rows)
    code3 = make_matter(3).implementation_code
    assert _problems(out.getvalue().encode("utf-8"), "csv") == [
        ("CSV", 2, "申请材料", "第1项材料的材料名称：至少1个字"),
        ("CSV", 4, "申请材料", '应为JSON数组，例如 [{"name": "身份证"}]'),
        ("CSV", 5, "实施编码", f"实施编码{code3}与第4行重复"),
    ]


def test_csv_in_gb18030_as_saved_by_chinese_excel(make_matter):
    data = write_catalogue([make_matter(1)], "csv").decode("utf-8-sig").encode("gb18030")
    assert read_catalogue(data, "csv") == [make_matter(1)]


def test_json_accepts_the_sample_shape_and_locates_problems(make_matter):
    matter = make_matter(1).model_dump(mode="json")
    document = {"batches": [{"name": "第一批"}], "matters": [matter]}
    assert read_catalogue(json.dumps(document).encode(), "json") == [make_matter(1)]
    assert read_catalogue(json.dumps([matter]).encode(), "json") == [make_matter(1)]
    broken = {
        **matter,
        "window": "nowhere",
        "materials": [{"name": "", "copies": -1}],
        "colour": "red",
    }
    problems = _problems(json.dumps({"matters": [matter, broken]}).encode(), "json")
    assert {p[:3] for p in problems} == {
        ("matters", 2, "window"),
        ("matters", 2, "materials[0].name"),
        ("matters", 2, "materials[0].copies"),
        ("matters", 2, "colour"),
        ("matters", 2, "implementation_code"),
    }
    assert _problems(b"{not json", "json")[0][:3] == ("matters", None, None)


def test_format_of():
    assert [format_of(n) for n in ("a.XLSX", "b.csv", "c.json")] == ["xlsx", "csv", "json"]
    with pytest.raises(DomainError) as caught:
        format_of("catalogue.xls")
    assert caught.value.field == "file"


def test_problem_reads_like_a_sentence():
    assert (
        str(ImportProblem("事项", 3, "事项名称", "必填，不能为空"))
        == "事项 第3行“事项名称”：必填，不能为空"
    )


def test_csv_export_cells_never_run_as_formulas_and_round_trip(make_matter):
    hostile = make_matter(1, name='=HYPERLINK("http://evil.example","点此")', conditions="+1+1")
    data = write_catalogue([hostile], "csv")
    row = list(csv.reader(StringIO(data.decode("utf-8-sig"))))[1]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)
    assert '\'=HYPERLINK("http://evil.example","点此")' in row
    assert read_catalogue(data, "csv") == [hostile]
