"""The guide search finds a matter by what it issues (issue 13, item 13): 营业执照 finds the
registrations whose result is one, not the matters that only ask for one as a material;
the results come a page at a time."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from common.catalog.queries import search_guides
from common.db import transaction
from common.node import ThisNode

SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记 -> 个体工商户营业执照
COMPANY = "11430424MB1C5953154000119003001"  # 企业设立登记 -> 营业执照
FOOD_LICENCE = "11430424MB1C5953154000119001001"  # asks for a 营业执照, issues another licence
NAMES = re.compile(r'data-testid="guide-link">([^<]+)</a>')


def test_licence_name_finds_the_matters_that_issue_it(browser: TestClient) -> None:
    page = browser.get("/guides", params={"q": "营业执照"})
    assert page.status_code == 200
    names = NAMES.findall(page.text)
    assert "个体工商户设立登记" in names and "企业设立登记" in names
    assert "食品经营许可（新办）" not in names  # a material, not its result
    assert f'data-code="{SOLE_TRADER}"' in page.text and f'data-code="{COMPANY}"' in page.text
    # The name and the codes are searched as before, and the licence type's code too.
    assert NAMES.findall(browser.get("/guides", params={"q": "企业设立"}).text) == ["企业设立登记"]
    assert f'data-code="{COMPANY}"' in browser.get("/guides", params={"q": COMPANY}).text
    assert f'data-code="{SOLE_TRADER}"' in browser.get("/guides", params={"q": "gtgshyyzz"}).text
    # Combined with the filters.
    business = browser.get("/guides", params={"q": "营业执照", "window": "social"}).text
    assert 'data-testid="guide-none"' in business


def test_the_search_is_paged(published: ThisNode, browser: TestClient) -> None:
    with transaction(published.engine) as session:
        every = search_guides(session, per_page=1000)
        count = search_guides(session).pages
        pages = [search_guides(session, page=n) for n in range(1, count + 1)]
    assert every.total > 20 and len(pages) > 1
    seen = [hit.code for found in pages for hit in found.results]
    assert sorted(seen) == sorted(hit.code for hit in every.results)  # each exactly once
    first = browser.get("/guides").text
    assert f"第 1 / {pages[0].pages} 页，共 {every.total} 个事项" in first
    assert 'href="/guides?page=2"' in first and 'data-testid="guide-next"' in first
    found = browser.get("/guides", params={"q": "登记", "page": "2"}).text
    assert 'href="/guides?q=%E7%99%BB%E8%AE%B0&amp;page=1"' in found
