"""Fixtures for the document tests: the case fixtures of tests/case_fixtures.py (published
sample catalogue, nodes of each tier, staff, stored PDF) reused as they are, a food
licence case carried from filing to delivery, and the poppler/zbar command-line tools.

The tools are required, not optional: without them the test fails and says what to
install (CI installs poppler-utils and zbar-tools), so nothing is skipped silently.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from common.cases.intake import service as intake
from common.cases.review import service as review
from common.node import ThisNode

TOOLS = {"pdftotext": "poppler-utils", "pdftoppm": "poppler-utils", "zbarimg": "zbar-tools"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: apt-get install {TOOLS[name]} (the document tests need it)"
        )
    return path


def pdf_text(pdf: bytes, tmp_path: Path, name: str = "doc") -> str:
    """The PDF's text as pdftotext extracts it, in content order, all whitespace removed
    (a long material name wraps inside its table cell)."""
    assert pdf.startswith(b"%PDF-"), "not a PDF"
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        [tool("pdftotext"), "-raw", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout.decode("utf-8")
    return "".join(out.split())


def qr_payloads(pdf: bytes, tmp_path: Path, dpi: int = 150) -> list[str]:
    """Render every page at ``dpi`` and decode the QR codes on it with zbarimg."""
    path = tmp_path / "qr.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [tool("pdftoppm"), "-r", str(dpi), "-png", str(path), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages, "pdftoppm wrote no page"
    # zbarimg exits 4 when it finds no code: an empty answer, which the caller asserts on.
    found = subprocess.run(
        [tool("zbarimg"), "--raw", "-q", *map(str, pages)],
        check=False,
        capture_output=True,
        timeout=120,
    )
    return [line for line in found.stdout.decode("utf-8").splitlines() if line]


@pytest.fixture
def food_case(
    published: ThisNode, actors: dict, k: SimpleNamespace, stored_pdf: str
) -> SimpleNamespace:
    """食品经营许可（新办）at the county: filed with one material, a one-time notice of the
    other four, supplemented, accepted, an expert review (§45), approved with a licence
    and delivered by courier."""
    clerk, lead = actors["clerk"], actors["reviewer"]
    case_no = k.file(published, clerk, materials=[{"position": 0, "blob_sha256": stored_pdf}])
    missing = [
        "营业执照",
        "法定代表人（负责人）居民身份证",
        "与食品经营相适应的主要设备设施布局、操作流程等文件",
        "食品安全自查、从业人员健康管理、进货查验记录等食品安全管理制度",
    ]
    k.do(published, intake.request_supplement, clerk, case_no, missing)
    k.do(
        published,
        intake.receive_supplement,
        clerk,
        case_no,
        [{"position": p, "blob_sha256": stored_pdf} for p in (1, 2, 3, 4)],
    )
    k.do(published, intake.accept_case, clerk, case_no)
    k.do(
        published,
        review.start_special_procedure,
        lead,
        case_no,
        2,
        "expert_review",
        "经营场所布局需专家现场评审",
    )
    k.do(published, review.end_special_procedure, lead, case_no, 1, "专家评审通过")
    k.do(published, review.record_opinion, lead, case_no, "review/1", "agree", "材料齐全，符合条件")
    k.do(published, review.decide_case, lead, case_no, "approved", None)
    decided = k.case(published, case_no)
    k.do(published, intake.deliver_case, clerk, case_no, "courier", "SF1234567890", "张三")
    return SimpleNamespace(
        case_no=case_no,
        missing=missing,
        licence_id=decided.licence_id,
        deadline=decided.deadline,
        accepted_on=decided.accepted_on,
    )


def render(node: ThisNode, function: Any, *args: Any, **kwargs: Any) -> bytes:
    """``function(session, node, *args)`` in a transaction of its own."""
    from common.db import transaction

    with transaction(node.engine) as session:
        return function(session, node, *args, **kwargs)


@pytest.fixture
def pdf(tmp_path: Path) -> SimpleNamespace:
    """The helpers above for test modules (they cannot import a conftest):
    ``pdf.text(bytes)``, ``pdf.qr(bytes)``, ``pdf.render(node, function, *args)``."""
    return SimpleNamespace(
        text=lambda content, name="doc": pdf_text(content, tmp_path, name),
        qr=lambda content, dpi=150: qr_payloads(content, tmp_path, dpi),
        render=render,
    )
