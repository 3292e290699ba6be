"""The font choice: an installed Chinese TrueType font is embedded; without one the
documents fall back to reportlab's CID font STSong-Light, and still carry the text."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

from common.documents import document_font, service_guide
from common.documents.fonts import FALLBACK_CID_FONT, KNOWN_FONTS, parse_font_spec

WQY = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def test_an_installed_truetype_font_is_embedded(published, k, pdf, tmp_path):
    assert Path(WQY).is_file(), (
        "fonts-wqy-zenhei is not installed: apt-get install fonts-wqy-zenhei"
    )
    font = document_font(None)
    assert font.embedded and font.source == f"{KNOWN_FONTS[0][0]}#0"
    path = tmp_path / "guide.pdf"
    path.write_bytes(pdf.render(published, service_guide, k.FOOD_LICENCE))
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()
    embedded = [line for line in fonts.splitlines() if "WenQuanYiZenHei" in line]
    assert embedded and embedded[0].split()[-5:-2] == [
        "yes",
        "yes",
        "yes",
    ]  # embedded, subset, ToUnicode


def test_configured_fonts_come_first_and_bad_ones_are_passed_over(tmp_path, monkeypatch):
    assert parse_font_spec("/x/font.ttc#2") == ("/x/font.ttc", 2)
    assert parse_font_spec("/x/font.ttf") == ("/x/font.ttf", 0)
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    font = document_font(SimpleNamespace(document_font=str(broken)))
    assert font.embedded and font.source.startswith(WQY)  # the broken file was skipped
    monkeypatch.setenv("ONETRIP_DOCUMENT_FONT", f"{WQY}#1")  # WenQuanYi Zen Hei Mono
    assert document_font(None).source == f"{WQY}#1"


def test_without_a_truetype_font_the_cid_font_is_used(published, k, pdf, tmp_path):
    forced = SimpleNamespace(document_font=FALLBACK_CID_FONT, tz=published.settings.tz)
    font = document_font(forced)
    assert (font.name, font.embedded) == (FALLBACK_CID_FONT, False)
    node = SimpleNamespace(
        settings=forced, node_id=published.node_id, network_id=published.network_id
    )
    content = pdf.render(
        published, lambda session, _node, code: service_guide(session, node, code), k.FOOD_LICENCE
    )
    path = tmp_path / "cid.pdf"
    path.write_bytes(content)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()
    assert FALLBACK_CID_FONT in fonts and "WenQuanYi" not in fonts
    assert "食品经营许可申请书" in pdf.text(
        content, "cid"
    )  # poppler-data maps Adobe-GB1 back to Unicode
