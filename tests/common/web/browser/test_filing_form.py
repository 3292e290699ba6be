"""The filing form on a phone (issue 13, item 14): an agent at 375 px submits it with
three mistakes, sees all three at once (next to each field and in a summary at the top,
which takes the focus), finds what was typed and the scan already chosen still there,
corrects the mistakes without choosing the scan again and files the case with it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from case_fixtures import PERSON_ID
from onetrip_testing import VILLAGE_ID

from common.cases.models import CaseMaterial
from common.db import transaction
from common.node import ThisNode
from common.users.roles import Actor, Role

# The screens are the same on PostgreSQL; their reads are tested there by the other tests.
pytestmark = pytest.mark.sqlite_only

WIDTH = 375
PASSWORD = "hengdong-phone-2026"
PENSION = "54430424MEB423186J6002007001000"  # 城乡居民基本养老保险参保登记（村级代办）
SCAN = b"%PDF-1.7\n% a resident's identity card\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def provision_agent(root: ThisNode, admin: Actor) -> None:
    from common.users.service import provision_user

    with transaction(root.engine) as session:
        provision_user(
            session,
            root,
            admin,
            node_id=VILLAGE_ID,
            username="agent",
            display_name="王代办",
            role=Role.VILLAGE_AGENT,
            password=PASSWORD,
        )


def assert_fits(tab: Any, name: str) -> None:
    wide = tab.page.evaluate("document.documentElement.scrollWidth")
    assert wide <= WIDTH, f"{name}: the page is {wide} px wide at {WIDTH} px"


def test_an_agent_corrects_three_mistakes_on_a_phone_without_choosing_the_scan_again(
    published: ThisNode,
    village: ThisNode,
    admin: Actor,
    serve: Any,
    phone_tab: Any,
    tmp_path: Path,
) -> None:
    provision_agent(published, admin)
    base = serve(village).url
    scan = tmp_path / "身份证.pdf"
    scan.write_bytes(SCAN)
    wrong_id = PERSON_ID[:-1] + ("0" if PERSON_ID[-1] != "0" else "1")

    tab = phone_tab("agent-filing")
    tab.log_in(base, "agent", PASSWORD)
    tab.visit(f"{base}/agent/file/{PENSION}", "filing-form")
    assert_fits(tab, "filing-form")
    page = tab.page
    page.fill("[data-testid=applicant-name]", "")
    page.fill("[data-testid=applicant-id]", wrong_id)
    page.fill("[data-testid=applicant-phone]", "1380000")
    page.check("input[name=m0_ok]")
    page.set_input_files("input[name=m0_file]", str(scan))
    tab.submit("[data-testid=submit-file]", "filing-refused", status=400)
    assert_fits(tab, "filing-refused")

    # All three at once: in the summary (which has the focus) and next to each field.
    items = page.locator("[data-testid=error-summary-item] a")
    assert items.count() == 3
    assert [items.nth(i).get_attribute("href") for i in range(3)] == [
        "#f-applicant_name",
        "#f-applicant_id",
        "#f-applicant_phone",
    ]
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    for name in ("applicant_name", "applicant_id", "applicant_phone"):
        assert page.locator(f"#d-{name}.field-error").is_visible(), name
    assert "联系电话" in page.inner_text("#d-applicant_phone")

    # What was typed is there, and the scan: shown as uploaded, not to be chosen again.
    assert page.input_value("[data-testid=applicant-id]") == wrong_id
    assert page.input_value("[data-testid=applicant-phone]") == "1380000"
    assert page.is_checked("input[name=m0_ok]")
    kept = page.locator("[data-testid=kept-file-0]")
    assert kept.is_visible() and kept.inner_text() == "已上传：身份证.pdf（可重新选择替换）"
    box = kept.bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTH

    # Corrected; the file input is left alone.
    page.fill("[data-testid=applicant-name]", "李大爷")
    page.fill("[data-testid=applicant-id]", PERSON_ID)
    page.fill("[data-testid=applicant-phone]", "0734-5221234")
    tab.submit("[data-testid=submit-file]", "filed")
    assert_fits(tab, "filed")
    case_no = page.inner_text("[data-testid=case-no]").strip()
    assert case_no.startswith(VILLAGE_ID)
    with transaction(village.engine) as session:
        material = session.get(CaseMaterial, (case_no, 0))
        assert material is not None and material.blob_sha256 == hashlib.sha256(SCAN).hexdigest()
