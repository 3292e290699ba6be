"""A QR code drawn as vector rectangles (segno encodes, reportlab draws).

The licence payload is 1–3 KiB, which needs a large symbol (version 30–40, about 140–180
modules a side); each module is drawn at least ``MIN_MODULE_MM`` wide so that a phone,
or a 150 dpi scan, still resolves it. Dark modules of a row are merged into one
rectangle per run, which keeps the PDF small.
"""

from __future__ import annotations

import segno
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable

MIN_MODULE_MM = 0.6  # 3.5 px at 150 dpi
QUIET_ZONE = 4  # modules of white border the standard asks for


# reportlab ships no type information, so Flowable is Any to mypy.
class QrCode(Flowable):  # type: ignore[misc]
    """A QR code of ``payload``, ``size`` points wide at least (grown to keep modules readable)."""

    def __init__(self, payload: str, size: float = 60 * mm, max_size: float = 150 * mm) -> None:
        super().__init__()
        self.qr = segno.make(
            payload, micro=False
        )  # smallest version at L, error level boosted within it
        modules = self.qr.symbol_size(border=QUIET_ZONE)[0]
        self.size = min(max(size, modules * MIN_MODULE_MM * mm), max_size)
        self.module = self.size / modules
        self.width = self.height = self.size
        self.hAlign = "CENTER"

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(colors.white)
        canvas.rect(0, 0, self.size, self.size, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        m = self.module
        path = canvas.beginPath()
        for row_index, row in enumerate(self.qr.matrix_iter(border=QUIET_ZONE, scale=1)):
            y = self.size - (row_index + 1) * m  # PDF y grows upwards
            start = None
            for col_index, dark in enumerate([*row, False]):
                if dark and start is None:
                    start = col_index
                elif not dark and start is not None:
                    path.rect(start * m, y, (col_index - start) * m, m)
                    start = None
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()
