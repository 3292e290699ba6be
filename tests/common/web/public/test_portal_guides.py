"""The public portal and the service guides (issue 5, item 5): no login, any node."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session

from common.catalog.service import get_published, list_published, publish_batch, withdraw_matter
from common.db import transaction
from common.node import ThisNode
from common.users.roles import Actor

FOOD_LICENCE = "11430424MB1C5953154000119001001"
SOCIAL_GROUP = (
    "11430424006813635C4000104005001"  # 社会团体成立登记: 2 visits, for 社会组织 (a draft)
)
ELDERLY_HOME = "11430424006813635C4001004009001"  # 养老机构备案: published, also for 社会组织
ROWS = re.compile(r'data-testid="guide-row" data-code="([^"]+)"')


def codes(html: str) -> list[str]:
    return ROWS.findall(html)


def test_portal_shows_the_share_overall_per_batch_and_over_all_matters(browser: TestClient) -> None:
    page = browser.get("/portal")
    assert page.status_code == 200
    assert "<title>政务服务门户" in page.text and page.text.count("<h1>") == 1
    assert 'data-testid="one-trip-share"' in page.text
    # The sample's two batches, each with its own share, and the county's figure over
    # every matter it listed (drafts included).
    assert "第一批“最多跑一次”事项" in page.text and "第二批“最多跑一次”事项" in page.text
    assert 'data-testid="one-trip-share-all"' in page.text
    for path in ("/guides", "/progress", "/verify"):
        assert f'href="{path}"' in page.text
    assert '<label for="f-portal-q">' in page.text


def test_search_by_name_finds_the_matters_and_shows_their_elements(browser: TestClient) -> None:
    page = browser.get("/guides", params={"q": "食品经营许可"})
    assert page.status_code == 200 and "<title>办事指南查询" in page.text
    found = codes(page.text)
    assert FOOD_LICENCE in found and len(found) == 3
    assert "企业设立登记" not in page.text
    assert "承诺件" in page.text and "个工作日" in page.text and "衡东县市场监督管理局" in page.text
    assert 'data-testid="one-trip-badge"' in page.text
    for name in ("q", "window", "object"):
        assert f'<label for="f-{name}">' in page.text


def test_search_by_code_finds_exactly_that_matter(browser: TestClient) -> None:
    page = browser.get("/guides", params={"q": FOOD_LICENCE})
    assert codes(page.text) == [FOOD_LICENCE]
    assert f'href="/guides/{FOOD_LICENCE}"' in page.text


def test_filter_by_window_and_service_object(
    browser: TestClient, published: ThisNode, admin: Actor
) -> None:
    page = browser.get("/guides", params={"window": "real_estate"})
    with Session(published.engine) as session:
        expected = [
            row.implementation_code for row in list_published(session, window="real_estate")
        ]
    assert "selected" in page.text and expected
    assert f"共找到 {len(expected)} 个事项" in page.text
    assert codes(page.text) == expected[:20]

    with transaction(published.engine) as session:  # a matter needing two trips, published too
        publish_batch(
            session,
            published,
            admin,
            name="第三批",
            published_on=date(2026, 11, 27),
            codes=[SOCIAL_GROUP],
        )
    page = browser.get("/guides", params={"object": "4"})  # 社会组织
    found = codes(page.text)
    assert SOCIAL_GROUP in found and ELDERLY_HOME in found and FOOD_LICENCE not in found
    row = page.text.split(f'data-code="{SOCIAL_GROUP}"', 1)[1].split("</tr>", 1)[0]
    assert "2 次" in row and "one-trip-badge" not in row  # two visits: not "at most one trip"

    page = browser.get("/guides", params={"window": "business", "q": "许可", "object": "2"})
    assert FOOD_LICENCE in codes(page.text)
    assert (
        browser.get("/guides", params={"window": "nowhere"}).status_code == 200
    )  # ignored, not a 500


def test_results_are_paginated(browser: TestClient, published: ThisNode) -> None:
    with Session(published.engine) as session:
        total = len(list_published(session))
    first = browser.get("/guides")
    assert f"共找到 {total} 个事项" in first.text and len(codes(first.text)) == 20
    assert 'data-testid="guide-next"' in first.text and 'data-testid="guide-prev"' not in first.text
    second = browser.get("/guides", params={"page": "2"})
    assert set(codes(second.text)).isdisjoint(codes(first.text))
    last = browser.get("/guides", params={"page": "999"})
    assert last.status_code == 200 and 'data-testid="guide-next"' not in last.text
    assert len(codes(last.text)) == total - 20 * (-(-total // 20) - 1)
    assert codes(browser.get("/guides", params={"page": "abc"}).text) == codes(first.text)
    none = browser.get("/guides", params={"q": "没有这个事项的名称"})
    assert 'data-testid="guide-none"' in none.text


def test_guide_page_shows_every_element_and_the_pdf_link(
    browser: TestClient, published: ThisNode
) -> None:
    with Session(published.engine) as session:
        matter = get_published(session, FOOD_LICENCE).to_matter()
    page = browser.get(f"/guides/{FOOD_LICENCE}")
    assert page.status_code == 200
    assert f"<title>{matter.name} · 办事指南" in page.text and page.text.count("<h1") == 1
    assert page.text.count('data-testid="guide-material"') == len(matter.materials)
    for material in matter.materials:
        assert material.name in page.text and material.issuer in page.text
    assert f'href="/api/v1/catalogue/matters/{FOOD_LICENCE}/guide.pdf"' in page.text
    for text in (
        matter.implementing_body,
        matter.basic_code,
        matter.legal_basis.splitlines()[0],
        f"{matter.statutory_limit_days} 个工作日",
        f"{matter.promised_limit_days} 个工作日",
        "承诺件",
        "到办事现场次数",
        "最多跑一次",
    ):
        assert text in page.text, text
    for text in (
        matter.place,
        matter.hours,
        matter.consult_phone,
        matter.complaint_phone,
        matter.result_name,
    ):
        if text:
            assert text in page.text, text
    assert "<th" in page.text


def test_unknown_code_is_a_404_page_in_chinese(browser: TestClient) -> None:
    page = browser.get("/guides/11430424MB1C5953154000119999999")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "未找到办事指南" in page.text and 'data-testid="guide-missing"' in page.text
    assert browser.get("/guides/" + "9" * 300).status_code == 404


def test_a_withdrawn_matter_leaves_the_search_and_says_so(
    browser: TestClient, published: ThisNode, admin: Actor
) -> None:
    with transaction(published.engine) as session:
        withdraw_matter(session, published, admin, FOOD_LICENCE, "并入“食品经营许可（一证通办）”")
    assert FOOD_LICENCE not in codes(browser.get("/guides", params={"q": "食品经营许可"}).text)
    page = browser.get(f"/guides/{FOOD_LICENCE}")
    assert page.status_code == 200 and 'data-testid="guide-withdrawn"' in page.text
    assert "guide-pdf-link" not in page.text


def test_portal_pages_are_served_on_a_village_node_too(
    browser: TestClient, published: ThisNode, tree: dict, make_client
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from onetrip_testing import VILLAGE_ID

    settings = published.settings.model_copy(update={"node_id": VILLAGE_ID, "tier": "village"})
    village = replace(published, settings=settings, key=tree[VILLAGE_ID])
    client = make_client(village, username=None)
    for path in ("/portal", "/guides", f"/guides/{FOOD_LICENCE}", "/progress", "/verify"):
        assert client.get(path).status_code == 200, path
