"""A dashboard as the XLSX workbook a county office hands upward: on every sheet the
county's name, the title, the scope, the period and when it was made; one sheet of the
figures with their definitions, one of the areas below, one per breakdown."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from common.oversight.figures import BREAKDOWN_LABELS, FIGURES, Dashboard, Figure

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def shown(figure: Figure, value: float | int | None) -> str:
    """A figure as people read it: a share as a percentage, nothing as a dash."""
    if value is None:
        return "—"
    if figure.share:
        return f"{value * 100:.1f}%"
    return f"{value:g}" if isinstance(value, float) else str(value)


def dashboard_workbook(
    board: Dashboard, county_name: str, made_at: datetime, title: str = "数据看板"
) -> bytes:
    """The dashboard's tables (``title`` 月报 for the monthly report, whose board lists
    every area below its scope)."""
    book = Workbook()
    figures = book.active
    assert figures is not None
    figures.title = "主要指标"
    _heading(figures, board, county_name, made_at, "主要指标", title)
    figures.append(["指标", "数值", "口径"])
    for key, figure in FIGURES.items():
        figures.append([figure.label, shown(figure, board.figures[key]), figure.formula])
    if board.children:
        areas = book.create_sheet("下级区域")
        _heading(areas, board, county_name, made_at, "下级区域", title)
        areas.append(["区域", *(figure.label for figure in FIGURES.values())])
        for area, values in board.children:
            areas.append([area.name, *(shown(f, values[k]) for k, f in FIGURES.items())])
    for name, rows in board.breakdowns.items():
        sheet = book.create_sheet(BREAKDOWN_LABELS[name].removeprefix("按"))
        _heading(sheet, board, county_name, made_at, f"申请件{BREAKDOWN_LABELS[name]}", title)
        sheet.append(["分类", "申请件数"])
        for _, label, cases in rows:
            sheet.append([label, cases])
    for sheet in book.worksheets:
        for column in range(1, sheet.max_column + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 18 if column > 1 else 28
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _heading(
    sheet: Worksheet, board: Dashboard, county_name: str, made_at: datetime, part: str, title: str
) -> None:
    sheet.append([f"{county_name} 政务服务{title}：{part}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["范围", board.area.name])
    sheet.append(["期间", f"{board.period.start.isoformat()} 至 {board.period.end.isoformat()}"])
    sheet.append(["生成时间", made_at.isoformat(timespec="seconds")])
    sheet.append([])
