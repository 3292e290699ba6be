"""Work counters (issue 13, item 12): each role's menu shows how much waits in each of its
work lists, the number equal to the rows the list shows, and an empty home list names
what waits elsewhere instead of saying there is nothing to do."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from common.cases.handoff import service as handoff
from common.cases.intake import service as intake
from common.catalog.service import get_published
from common.db import transaction
from common.supervision.service import issue_supervision
from common.timeutil import local_today

HOUSE_TRANSFER = "11430424MB1C5742104000708002001"  # 不动产: the county's real-estate window
WINDOWS = ("investment", "real_estate", "business", "social", "convenience")


def nav_counts(html: str) -> dict[str, int]:
    found = re.findall(r'data-testid="nav-count" data-path="([^"]+)" data-count="(\d+)"', html)
    return {path: int(count) for path, count in found}


def full_case(k: Any, node: Any, actor: Any, code: str, sha: str) -> str:
    """A case filed with every material of its matter."""
    with transaction(node.engine) as session:
        count = len(get_published(session, code).to_matter().materials)
    materials = [{"position": i, "blob_sha256": sha} for i in range(count)]
    return k.file(node, actor, code, materials=materials)


def test_the_clerks_home_names_the_offers_waiting_in_the_inbox(
    published, village, actors, browser, k, stored_pdf
):
    for _ in range(4):
        case_no = full_case(k, village, actors["agent"], k.FOOD_LICENCE, stored_pdf)
        k.do(village, handoff.offer_handoff, actors["agent"], case_no)
    clerk = browser(published, "clerk")
    home = clerk.get("/", follow_redirects=True)
    assert home.url.path == "/staff/queue"
    assert 'data-testid="queue-row"' not in home.text
    assert "目前没有待受理的办件" not in home.text
    empty = home.text.split('data-testid="queue-empty"', 1)[1].split("</div>", 1)[0]
    assert '<a href="/staff/inbox">转交收件箱</a>：4 件移交等待接收' in empty
    assert nav_counts(home.text) == {
        "/staff/queue": 0,
        "/staff/inbox": 4,
        "/oversight/supervisions": 0,
    }
    assert clerk.get("/staff/inbox").text.count('data-testid="inbox-item"') == 4


def test_with_nothing_anywhere_the_home_says_so(published, browser):
    clerk = browser(published, "clerk")
    home = clerk.get("/staff/queue").text
    assert "目前没有待受理的办件" in home and 'data-testid="work-elsewhere"' not in home
    assert nav_counts(home) == {
        "/staff/queue": 0,
        "/staff/inbox": 0,
        "/oversight/supervisions": 0,
    }


def _rows(client: Any, path: str) -> int:
    if path == "/staff/inbox":
        return client.get(path).text.count('data-testid="inbox-item"')
    if path == "/staff/tasks":
        return client.get(path).text.count('data-testid="task-row"')
    if path == "/staff/queue" and client.get(path).text.count('data-testid="window-tabs"'):
        pages = [client.get(f"/staff/queue?window={w}").text for w in WINDOWS]
        return sum(page.count('data-testid="queue-row"') for page in pages)
    if path == "/staff/queue":
        return client.get(path).text.count('data-testid="queue-row"')
    if path == "/oversight/supervisions":
        return client.get(path).text.count('data-testid="supervision-row"')
    if path == "/admin/health":
        page = client.get(path).text
        return int(re.search(r'data-testid="attention-count">[^<]*<strong>(\d+)<', page).group(1))
    raise AssertionError(f"no list counted at {path}")


def test_every_counter_equals_its_list(
    published, township, village, actors, browser, k, stored_pdf
):
    # Offers: two county matters from the village, one township matter.
    for code in (k.FOOD_LICENCE, HOUSE_TRANSFER):
        case_no = full_case(k, village, actors["agent"], code, stored_pdf)
        k.do(village, handoff.offer_handoff, actors["agent"], case_no)
    offered = full_case(k, village, actors["agent"], k.MINIMUM_LIVING, stored_pdf)
    k.do(village, handoff.offer_handoff, actors["agent"], offered)
    # County queues in two windows, and a company case under review by three departments.
    for code in (k.FOOD_LICENCE, HOUSE_TRANSFER, HOUSE_TRANSFER):
        full_case(k, published, actors["clerk"], code, stored_pdf)
    company = full_case(k, published, actors["clerk"], k.COMPANY, stored_pdf)
    k.do(published, intake.accept_case, actors["clerk"], company)
    # The township: one waiting at its window, one accepted (its approver's task).
    full_case(k, township, actors["tclerk"], k.MINIMUM_LIVING, stored_pdf)
    accepted = full_case(k, township, actors["tclerk"], k.MINIMUM_LIVING, stored_pdf)
    k.do(township, intake.accept_case, actors["tclerk"], accepted)
    # The county's auditor supervises the township's accepted case (督办 to 洣水镇).
    due = local_today() + timedelta(days=2)
    k.do(published, issue_supervision, actors["auditor"], accepted, "请加快办理", due)

    notices = "/oversight/supervisions"
    expected = {
        "clerk": {"/staff/queue": 3, "/staff/inbox": 2, notices: 0},
        "scjg": {"/staff/tasks": 1, notices: 0},
        "tclerk": {"/staff/inbox": 1, "/staff/queue": 1, notices: 1},
        "tapprover": {"/staff/tasks": 1, notices: 1},
        # The township and the village never reported; one notice sent, not answered.
        "auditor": {"/admin/health": 2, notices: 1},
    }
    for username, counts in expected.items():
        node = published if username in ("clerk", "scjg", "auditor") else township
        client = browser(node, username)
        shown = nav_counts(client.get("/", follow_redirects=True).text)
        assert shown == counts, username
        for path, count in shown.items():
            assert _rows(client, path) == count, (username, path)


def test_an_empty_window_tab_names_the_other_windows(published, actors, browser, k, stored_pdf):
    full_case(k, published, actors["clerk"], HOUSE_TRANSFER, stored_pdf)
    clerk = browser(published, "clerk")
    empty = clerk.get("/staff/queue?window=investment").text
    assert "投资项目窗口目前没有待受理的办件；其他窗口还有 1 件" in empty
    assert "目前没有待受理的办件。" not in empty
    assert nav_counts(empty)["/staff/queue"] == 1
