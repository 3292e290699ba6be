"""At 375 px (a phone) every list and the pages they lead to fit the screen: the page
never scrolls sideways, long matter names and case numbers wrap, and the link or button
each screen is for (代办, 受理, 接收, the case number) stays on screen.

The content is realistic: the longest matter names of the sample catalogue, a 31-character
implementation code, an enterprise's long name, cases in every work list."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_testing import CheckedTab

# The screens are the same on PostgreSQL; their reads are tested there by the other tests.
pytestmark = pytest.mark.sqlite_only

WIDTH = 375
HOUSE_TRANSFER = (
    "11430424MB1C5742104000708002001"  # 国有建设用地使用权及房屋所有权转移登记（存量房买卖）
)
# Elements wider than the screen, for the message of a failing check.
OVERFLOWING_JS = """
(width) => Array.from(document.querySelectorAll('body *'))
  .filter(el => el.getBoundingClientRect().right > width + 0.5)
  .filter(el => !el.closest('table:not(.cards)') || el.matches('table:not(.cards)'))
  .slice(0, 8)
  .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
             + ' ' + Math.round(el.getBoundingClientRect().right) + 'px: '
             + (el.textContent || '').trim().slice(0, 40))
"""


def assert_fits(tab: CheckedTab, name: str) -> None:
    wide = tab.page.evaluate("document.documentElement.scrollWidth")
    if wide > WIDTH:
        culprits = tab.page.evaluate(OVERFLOWING_JS, WIDTH)
        raise AssertionError(f"{name}: the page is {wide} px wide at {WIDTH} px: {culprits}")


def assert_on_screen(tab: CheckedTab, selector: str, name: str) -> None:
    """The first element matching ``selector`` is visible and wholly within the width."""
    element = tab.page.locator(selector).first
    assert element.count() == 1, f"{name}: no {selector}"
    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    assert box is not None and element.is_visible(), f"{name}: {selector} is not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (
        f"{name}: {selector} is off-screen ({box['x']:.0f}–{box['x'] + box['width']:.0f} px)"
    )


def visit(tab: CheckedTab, url: str, name: str, *key: str) -> None:
    tab.visit(url, name)
    assert_fits(tab, name)
    for selector in key:
        assert_on_screen(tab, selector, name)


def log_in(tab: CheckedTab, network: Any, username: str) -> str:
    base = network.url_of(username)
    tab.log_in(base, username, network.password_of(username))
    assert_fits(tab, f"{username}-home")
    return base


def test_the_lists_fit_a_phone(work_network: Any, phone_tab: Any) -> None:
    net, cases = work_network, work_network.cases

    agent = phone_tab("agent")
    village = log_in(agent, net, "agent")
    visit(agent, f"{village}/agent/matters", "agent-matters", "[data-testid=file-link]")
    agent.page.fill("[data-testid=matter-search-input]", "登记")
    agent.submit("[data-testid=matter-search-button]", "agent-matters-found")
    assert_fits(agent, "agent-matters-found")
    row = agent.page.locator(f"[data-testid=matter-row][data-code='{HOUSE_TRANSFER}']")
    assert row.count() == 1
    row.locator("[data-testid=file-link]").scroll_into_view_if_needed()
    box = row.locator("[data-testid=file-link]").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    # The matter name wraps as a line of text, not two characters a line.
    name_box = row.locator("td").first.bounding_box()
    assert name_box is not None and name_box["width"] > WIDTH / 2
    visit(agent, f"{village}/agent/cases?scope=all", "agent-cases", "[data-testid=case-link]")
    visit(agent, f"{village}/agent/cases?scope=todo", "agent-todo", "[data-testid=case-link]")
    visit(
        agent,
        f"{village}/agent/cases/{cases['village_todo']}",
        "agent-case",
        "button[type=submit].primary",
    )

    public = phone_tab("public")
    county = net.urls[net.county.node_id]
    visit(public, f"{county}/guides", "guides", "[data-testid=guide-link]")
    visit(public, f"{county}/guides?q=不动产", "guides-found", "[data-testid=guide-link]")
    visit(public, f"{county}/guides/{HOUSE_TRANSFER}", "guide", "[data-testid=guide-pdf-link]")
    assert_on_screen(public, "[data-testid=guide-code]", "guide")
    assert_on_screen(public, "[data-testid=guide-material]", "guide")

    clerk = phone_tab("clerk")
    county = log_in(clerk, net, "clerk")
    visit(
        clerk,
        f"{county}/staff/queue?window=real_estate",
        "queue",
        "[data-testid=queue-accept-button]",
    )
    assert_on_screen(clerk, "[data-testid=case-no]", "queue")
    visit(clerk, f"{county}/staff/inbox", "inbox", "[data-testid=inbox-accept-button]")
    visit(clerk, f"{county}/staff/cases", "cases", "[data-testid=case-no]")
    visit(clerk, f"{county}/staff/cases/{cases['queue_0']}", "case", "[data-testid=accept-button]")

    reviewer = phone_tab("scjg")
    county = log_in(reviewer, net, "scjg")
    visit(reviewer, f"{county}/staff/tasks", "tasks", "[data-testid=task-link]")
    visit(reviewer, f"{county}/staff/cases/{cases['review']}", "review-case", "button.primary")

    tclerk = phone_tab("tclerk")
    township = log_in(tclerk, net, "tclerk")
    visit(tclerk, f"{township}/staff/inbox", "township-inbox", "[data-testid=inbox-accept-button]")
    visit(tclerk, f"{township}/staff/queue", "township-queue", "[data-testid=queue-accept-button]")


# Screens that may still scroll sideways at 375 px, with the reason (none known).
KNOWN_WIDE: dict[str, str] = {}
ROLES = ("agent", "tclerk", "tapprover", "clerk", "scjg", "auditor", "admin")
SKIP = re.compile(r"^/(api|static|logout)|\.pdf$")


def _shape(path: str) -> str:
    """A path with its numbers and codes blanked: one page of each shape is enough."""
    return re.sub(r"[0-9A-Z][0-9A-Za-z-]{5,}", "N", path)


def _links(tab: CheckedTab, base: str, selector: str) -> list[str]:
    hrefs = tab.page.eval_on_selector_all(selector, "els => els.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != base or SKIP.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def test_every_menu_screen_fits_a_phone(work_network: Any, phone_tab: Any) -> None:
    """Each role's menu, every screen it links to and one page of each kind those link to."""
    wide: dict[str, str] = {}
    for username in ROLES:
        tab = phone_tab(username)
        base = log_in(tab, work_network, username)
        menu = _links(tab, base, "nav.main-nav a")
        assert menu, f"{username}: no menu"
        seen: set[str] = set()
        queue = [(path, True) for path in menu]
        while queue:
            path, follow = queue.pop(0)
            shape = _shape(path.split("?")[0])
            if shape in seen:
                continue
            seen.add(shape)
            name = f"{username}{path}"
            tab.visit(base + path, re.sub(r"[^0-9A-Za-z]+", "-", name))
            width = tab.page.evaluate("document.documentElement.scrollWidth")
            if width > WIDTH and shape not in KNOWN_WIDE:
                wide[name] = f"{width} px: {tab.page.evaluate(OVERFLOWING_JS, WIDTH)}"
            if follow:
                queue += [(link, False) for link in _links(tab, base, "main a[href]")]
    assert not wide, "screens wider than a phone:\n" + "\n".join(
        f"{k}: {v}" for k, v in wide.items()
    )
