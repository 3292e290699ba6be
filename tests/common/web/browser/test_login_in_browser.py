"""The login screen in a real browser (Chromium): the smallest end-to-end check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from onetrip_testing import ADMIN_PASSWORD

from common.node import ThisNode

# The screens are the same on PostgreSQL; their reads are tested there by the other tests.
pytestmark = pytest.mark.sqlite_only


def test_admin_logs_in_and_out_in_chromium(
    root_node: ThisNode, serve: Callable[..., Any], new_tab: Callable[..., Any]
) -> None:
    server = serve(root_node)
    tab = new_tab("county-admin")
    tab.visit(f"{server.url}/portal", "portal")
    tab.log_in(server.url, "admin", "wrong-password", status=401)
    assert "用户名或密码" in tab.page.inner_text("main")
    tab.log_in(server.url, "admin", ADMIN_PASSWORD)
    assert "admin" in tab.page.inner_text("header")
    tab.submit("header button[type=submit]", "after-logout")
    assert tab.page.url.endswith("/login")
    assert "已安全退出" in tab.page.inner_text("main")
