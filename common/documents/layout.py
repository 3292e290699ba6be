"""Page layout shared by every document: A4, styles, the parts a form is made of.

Margins and sizes follow the habit of GB/T 9704 official documents (title large and
centred, document number on its own line, addressee flush left, body indented two
characters, issuing office and date at the bottom right), scaled down so a notice fits
one page. Every piece of data goes through ``esc`` before it reaches a Paragraph:
reportlab parses paragraph text as markup.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from common.documents.fonts import DocumentFont, document_font

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT, RIGHT, TOP, BOTTOM = 26 * mm, 24 * mm, 22 * mm, 20 * mm
FRAME_WIDTH = PAGE_WIDTH - LEFT - RIGHT
_build_lock = threading.Lock()
BLANK_DATE = "　　　　年　　月　　日"  # a date left for the hand to fill in


def esc(value: Any) -> str:
    return escape("" if value is None else str(value))


def chinese_date(value: str | date | None) -> str:
    """``2026-11-27`` -> ``2026年11月27日`` (no leading zeros, as official documents write it)."""
    if value is None or value == "":
        return BLANK_DATE
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{day.year}年{day.month}月{day.day}日"


def document_number(
    mark: str, on: str | date | None, case_no: str, suffix: str | int | None = None
) -> str:
    """文号 derived from the case number: ``受字〔2026〕430424000000-20261127-0001号``.

    The year is the document's own; ``suffix`` tells apart several documents of one
    kind on a case (the second one-time notice, the third special procedure).
    """
    year = chinese_date(on)[:4] if on else "　　"
    tail = f"-{suffix}" if suffix is not None else ""
    return f"{mark}字〔{year}〕{case_no}{tail}号"


@dataclass(frozen=True)
class Styles:
    font: DocumentFont
    office: ParagraphStyle
    title: ParagraphStyle
    number: ParagraphStyle
    addressee: ParagraphStyle
    body: ParagraphStyle
    heading: ParagraphStyle
    sign: ParagraphStyle
    note: ParagraphStyle
    cell: ParagraphStyle
    cell_head: ParagraphStyle


def make_styles(font: DocumentFont) -> Styles:
    name = font.name

    def style(label: str, size: float, **kw: Any) -> ParagraphStyle:
        kw.setdefault("leading", size * 1.6)
        return ParagraphStyle(label, fontName=name, fontSize=size, wordWrap="CJK", **kw)

    return Styles(
        font=font,
        office=style(
            "office", 15, alignment=TA_CENTER, textColor=colors.HexColor("#b00000"), spaceAfter=2
        ),
        title=style("title", 20, alignment=TA_CENTER, spaceBefore=4, spaceAfter=6, leading=28),
        number=style("number", 11, alignment=TA_CENTER, spaceAfter=10),
        addressee=style("addressee", 12, alignment=TA_LEFT, spaceAfter=4),
        body=style("body", 12, alignment=TA_JUSTIFY, firstLineIndent=24, spaceAfter=3, leading=19),
        heading=style("heading", 12, alignment=TA_LEFT, spaceBefore=8, spaceAfter=3),
        sign=style("sign", 12, alignment=TA_RIGHT, rightIndent=10, leading=22),
        note=style("note", 9.5, alignment=TA_LEFT, textColor=colors.HexColor("#333333")),
        cell=style("cell", 10.5, leading=15),
        cell_head=style("cell_head", 10.5, leading=15, alignment=TA_CENTER),
    )


class Document:
    """A story being built: the parts of a form in reading order."""

    def __init__(self, node_settings: Any | None = None) -> None:
        self.styles = make_styles(document_font(node_settings))
        self.story: list[Flowable] = []

    # -- parts -----------------------------------------------------------------------
    def header(self, office: str | None, title: str, number: str | None = None) -> None:
        s = self.styles
        if office:
            self.story.append(Paragraph(esc(office), s.office))
        self.story.append(Paragraph(esc(title), s.title))
        if number:
            self.story.append(Paragraph(esc(number), s.number))

    def addressee(self, name: str) -> None:
        self.story.append(Paragraph(f"{esc(name)}：", self.styles.addressee))

    def paragraph(self, text: str, *, markup: bool = False) -> None:
        """A body paragraph; ``markup=True`` when the caller escaped and marked it up itself."""
        self.story.append(Paragraph(text if markup else esc(text), self.styles.body))

    def heading(self, text: str) -> None:
        self.story.append(Paragraph(esc(text), self.styles.heading))

    def note(self, text: str) -> None:
        self.story.append(Paragraph(esc(text), self.styles.note))

    def space(self, height_mm: float) -> None:
        self.story.append(Spacer(1, height_mm * mm))

    def fields(self, rows: Sequence[tuple[str, Any]], label_width: float = 34 * mm) -> None:
        """A two-column form: label, value."""
        data = [[self.cell(label, head=True), self.cell(value)] for label, value in rows]
        self.story.append(self._table(data, [label_width, FRAME_WIDTH - label_width], header=False))

    def table(
        self, head: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float]
    ) -> None:
        """A table with a header row repeated on every page; ``widths`` are fractions."""
        data = [[self.cell(h, head=True) for h in head]]
        data += [[self.cell(v) for v in row] for row in rows]
        self.story.append(self._table(data, [w * FRAME_WIDTH for w in widths], header=True))

    def signature(self, office: str, on: str | date | None, *, seal: bool = True) -> None:
        lines = [esc(office) + ("（印章）" if seal else ""), esc(chinese_date(on))]
        self.story.append(Spacer(1, 6 * mm))
        self.story.append(KeepTogether([Paragraph("<br/>".join(lines), self.styles.sign)]))

    def add(self, flowable: Flowable) -> None:
        self.story.append(flowable)

    # -- helpers ---------------------------------------------------------------------
    def cell(self, value: Any, *, head: bool = False) -> Paragraph:
        text = (
            "<br/>".join(esc(line) for line in str("" if value is None else value).splitlines())
            or ""
        )
        return Paragraph(text, self.styles.cell_head if head else self.styles.cell)

    def _table(self, data: list[list[Paragraph]], widths: list[float], *, header: bool) -> Table:
        table = Table(data, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
        commands: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
        if header:
            commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
        else:
            commands.append(("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f4f4f4")))
        table.setStyle(TableStyle(commands))
        return table

    # -- output ----------------------------------------------------------------------
    def render(self, *, title: str, author: str, footer: str | None = None) -> bytes:
        """The PDF bytes; ``footer`` is printed at the bottom of every page with its number."""
        buffer = io.BytesIO()
        font = self.styles.font.name

        def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
            canvas.saveState()
            canvas.setFont(font, 8.5)
            canvas.setFillColor(colors.HexColor("#555555"))
            text = f"{footer}　第{doc.page}页" if footer else f"第{doc.page}页"
            canvas.drawCentredString(PAGE_WIDTH / 2, BOTTOM / 2, text)
            canvas.restoreState()

        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=LEFT,
            rightMargin=RIGHT,
            topMargin=TOP,
            bottomMargin=BOTTOM,
            title=title,
            author=author,
            creator="onetrip",
            subject=title,
            lang="zh-CN",
        )
        with _build_lock:  # reportlab keeps per-document font state in shared font objects
            doc.build(self.story, onFirstPage=on_page, onLaterPages=on_page)
        return buffer.getvalue()
