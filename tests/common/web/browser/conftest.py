from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_testing import CHROMIUM_FLAGS, chromium_executable


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(), headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_tab(browser: Any) -> Iterator[Any]:
    from browser_testing import CheckedTab

    contexts: list[Any] = []

    def make(who: str) -> CheckedTab:
        context = browser.new_context(
            locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900}
        )
        contexts.append(context)
        return CheckedTab(context.new_page(), who)

    yield make
    for context in contexts:
        context.close()
