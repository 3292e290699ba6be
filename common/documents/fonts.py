"""The Chinese font documents are set in.

An embedded TrueType font is preferred: the PDF then looks the same on every reader
and printer, and text extraction works without the reader's own CJK resources. The
first usable font of, in order, the node setting ``document_font``, the environment
variable ``ONETRIP_DOCUMENT_FONT`` (both ``PATH`` or ``PATH#INDEX`` for a .ttc
collection; the value ``STSong-Light`` forces the fallback below) and a short list of paths where Debian, Windows and macOS install common
Chinese TrueType fonts is registered with reportlab. With none of them, documents use
reportlab's built-in CID font ``STSong-Light``: always available and valid PDF, but not
embedded, so the reader must supply the glyphs (Adobe-GB1), which any desktop PDF viewer
does and a bare server may not.

Only TrueType outlines work (reportlab cannot subset CFF/OpenType-PS fonts such as
Noto Sans CJK ``.otf``/``.ttc``), so those are not on the list.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

log = logging.getLogger("onetrip.documents")

FONT_ENV = "ONETRIP_DOCUMENT_FONT"
FALLBACK_CID_FONT = "STSong-Light"
# (path, subfont index in a .ttc collection). WenQuanYi Zen Hei first: Debian's
# fonts-wqy-zenhei, which CI installs; then AR PL (fonts-arphic-*), Droid fallback,
# Windows SimSun/SimHei and the macOS Songti collection.
KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("C:/Windows/Fonts/simsun.ttc", 0),
    ("C:/Windows/Fonts/simhei.ttf", 0),
    ("/System/Library/Fonts/Supplemental/Songti.ttc", 0),
)


@dataclass(frozen=True)
class DocumentFont:
    """The font registered with reportlab under ``name``."""

    name: str
    embedded: bool  # True: a TrueType subset is embedded in every PDF
    source: str  # the file (and subfont) it came from, or the CID font's name


_lock = threading.Lock()
_chosen: dict[tuple[str, ...], DocumentFont] = {}


def parse_font_spec(spec: str) -> tuple[str, int]:
    """``/path/font.ttc#1`` -> (path, 1); a plain path has index 0."""
    path, _, index = spec.strip().partition("#")
    return path, int(index) if index.isdigit() else 0


def _candidates(settings: Any | None) -> list[tuple[str, int]]:
    """Configured fonts first, then the known paths; naming the CID font ends the list."""
    found: list[tuple[str, int]] = []
    for spec in (getattr(settings, "document_font", None), os.environ.get(FONT_ENV)):
        if not spec:
            continue
        if str(spec).strip() == FALLBACK_CID_FONT:
            return found
        found.append(parse_font_spec(str(spec)))
    return found + list(KNOWN_FONTS)


def _register_truetype(path: str, index: int) -> DocumentFont | None:
    name = f"OnetripCJK-{Path(path).stem}-{index}"
    if name in pdfmetrics.getRegisteredFontNames():
        return DocumentFont(name, True, f"{path}#{index}")
    try:
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=index))
    except (TTFError, OSError, ValueError, KeyError, IndexError) as exc:
        # Unusable (CFF outlines, corrupt, no such subfont): try the next one.
        log.warning("document font %s#%s not usable: %s", path, index, exc)
        return None
    return DocumentFont(name, True, f"{path}#{index}")


def document_font(settings: Any | None = None) -> DocumentFont:
    """The font to set documents in; registered once per process and configuration."""
    candidates = _candidates(settings)
    key = tuple(f"{p}#{i}" for p, i in candidates)
    with _lock:
        if key in _chosen:
            return _chosen[key]
        font = None
        for path, index in candidates:
            if Path(path).is_file():
                font = _register_truetype(path, index)
                if font is not None:
                    break
        if font is None:
            if FALLBACK_CID_FONT not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID_FONT))
            font = DocumentFont(FALLBACK_CID_FONT, False, FALLBACK_CID_FONT)
            log.warning(
                "no usable Chinese TrueType font configured or found; documents use the non-embedded CID font %s",
                FALLBACK_CID_FONT,
            )
        else:
            log.info("documents use the embedded font %s", font.source)
        _chosen[key] = font
        return font
