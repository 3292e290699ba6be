"""At 375 px (a phone), the banner that says a node's writes are held fits the screen
and is read first: it wraps instead of widening the page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from browser_testing import CheckedTab

from common.ledger.hold import WriteHold, hold_writes, release_writes

# The screens are the same on PostgreSQL; their reads are tested there by the other tests.
pytestmark = pytest.mark.sqlite_only

PHONE = {"width": 375, "height": 800}


def test_the_write_hold_banner_fits_a_phone(root_node: Any, serve: Any, browser: Any) -> None:
    server = serve(root_node)
    hold_writes(root_node.engine, WriteHold("recovering", 12, 19, datetime.now(UTC)))
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE)
    try:
        tab = CheckedTab(context.new_page(), "phone-375")
        tab.visit(f"{server.url}/portal", "portal-writes-held-375")
        banner = tab.page.locator("[data-testid=write-hold]")
        assert banner.count() == 1 and "暂停办理" in banner.inner_text()
        assert "第12条" in banner.inner_text() and "第19条" in banner.inner_text()
        box = banner.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        wide = tab.page.evaluate("document.documentElement.scrollWidth")
        assert wide <= PHONE["width"], f"the page scrolls sideways at 375 px ({wide} px)"
    finally:
        release_writes(root_node.engine)
        context.close()
