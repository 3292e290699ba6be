"""The dashboard's figures equal the same figures computed from scratch: a month of
varied cases over the county, a township and two of its villages, counted here straight
from the case tables (SQL counts, one clock per case) at county, township and village
scope; the API shows each area only to those above or in it; the cases behind a number
are as many as the number; the XLSX export carries the screen's numbers."""

from __future__ import annotations

import random
from datetime import date, timedelta
from io import BytesIO

import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID, register_member
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlmodel import col

from common.calendar.service import working_calendar
from common.cases.clock import clock_status
from common.cases.models import Case, SpecialProcedure
from common.cases.review.service import case_procedures
from common.db import transaction
from common.oversight.figures import Period, area_of, dashboard
from common.ratings.models import Rating

OTHER_VILLAGE = "430424100202"
ORIGINS = [COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID, OTHER_VILLAGE]
TODAY = date(2026, 12, 4)
PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
STATES = ["filed", "supplement", "accepted", "special", "approved", "rejected", "delivered"]
STATES += ["refused", "withdrawn"]


def _cases(rng: random.Random, n: int) -> list[Case]:
    cases = []
    for i in range(n):
        origin = rng.choice(ORIGINS)
        filed = date(2026, 10, 15) + timedelta(days=rng.randint(0, 50))
        state = rng.choice(STATES)
        accepted = filed + timedelta(days=rng.randint(0, 2)) if state != "filed" else None
        limit = rng.choice([0, 5, 10, 20])
        decided = None
        if state in ("approved", "rejected", "delivered") and accepted:
            decided = min(TODAY, accepted + timedelta(days=rng.randint(0, 30)))
        required = rng.choice([0, 1, 1, 2])
        cases.append(
            Case(
                case_no=f"{origin}-{filed:%Y%m%d}-{i:04d}",
                version=1,
                origin_node=origin,
                custodian=origin,
                state=state,
                matter_code=f"M{rng.randint(1, 12):02d}",
                matter_name=f"事项{rng.randint(1, 12)}",
                catalogue_version=1,
                case_type=rng.choice(["1", "2"]),
                handling_level=rng.choice(["village", "township", "county"]),
                window=rng.choice(["商事登记", "社会事务"]),
                lead_department=rng.choice(["市场监管局", "民政局", "人社局"]),
                required_visits=required,
                applicant_kind="person",
                applicant_name=f"村民{i}",
                applicant_id="430424199001011232",
                applicant_id_masked="4304**********1232",
                agent="agent"
                if origin in (VILLAGE_ID, OTHER_VILLAGE) and rng.random() < 0.8
                else None,
                filed_at=f"{filed}T02:00:00.{i:06d}Z",
                filed_on=filed.isoformat(),
                accepted_on=accepted.isoformat() if accepted else None,
                limit_days=limit,
                deadline=None,
                decided_on=decided.isoformat() if decided else None,
                decision=("approved" if state != "rejected" else "rejected") if decided else None,
                materials_saved=rng.randint(0, 2),
                visits=rng.choice([0, 1, 1, 2]),
            )
        )
    return cases


@pytest.fixture
def month(published, tree):
    register_member(published, OTHER_VILLAGE, "示例二村代办点")
    rng = random.Random(12)
    cases = _cases(rng, 400)
    with transaction(published.engine) as session:
        session.add_all(cases)
        session.flush()
        for case in rng.sample(cases, 40):
            if case.accepted_on is None:
                continue
            start = date.fromisoformat(case.accepted_on) + timedelta(days=1)
            ended = rng.random() < 0.6
            session.add(
                SpecialProcedure(
                    case_no=case.case_no,
                    seq=1,
                    kind=2,
                    subkind="hearing",
                    reason="听证",
                    started_on=start.isoformat(),
                    ended_on=(start + timedelta(days=6)).isoformat() if ended else None,
                    paused_days=4 if ended else 0,
                )
            )
        for case in rng.sample(cases, 60):
            rated = date(2026, 11, rng.randint(1, 30)).isoformat()
            level = rng.randint(1, 5)
            session.add(Rating(case_no=case.case_no, level=level, label=str(level), rated_on=rated))
    return published


def _scratch(session, nodes: set[str] | None) -> dict[str, object]:
    """The figures from the case tables, the slow and obvious way."""
    start, end = PERIOD.start.isoformat(), PERIOD.end.isoformat()
    where = [] if nodes is None else [col(Case.origin_node).in_(sorted(nodes))]
    filed = session.execute(
        select(func.count()).where(col(Case.filed_on).between(start, end), *where)
    ).scalar_one()
    proxied = session.execute(
        select(func.count()).where(
            col(Case.filed_on).between(start, end), col(Case.agent).is_not(None), *where
        )
    ).scalar_one()
    calendar = working_calendar(session)
    rows = session.execute(select(Case).where(*where)).scalars().all()
    decided = [c for c in rows if c.decided_on and start <= c.decided_on <= end and c.decision]
    one_trip = [c for c in decided if c.visits <= c.required_visits and c.visits <= 1]
    clocks = {
        c.case_no: clock_status(c, calendar, TODAY, case_procedures(session, c.case_no))
        for c in rows
    }
    on_time = [c for c in decided if clocks[c.case_no].days_used <= clocks[c.case_no].limit_days]
    open_now = [c for c in rows if c.state not in ("delivered", "refused", "withdrawn")]
    ratings = session.execute(
        select(Rating.level, Case.origin_node).join(Case, Case.case_no == Rating.case_no)
    ).all()
    ratings = [lvl for lvl, origin in ratings if nodes is None or origin in nodes]
    return {
        "filed": filed,
        "proxied": proxied,
        "decided": len(decided),
        "one_trip_rate": round(len(one_trip) / len(decided), 4) if decided else None,
        "on_time_rate": round(len(on_time) / len(decided), 4) if decided else None,
        "open_now": len(open_now),
        "red_now": sum(clocks[c.case_no].status == "red" for c in open_now),
        "yellow_now": sum(clocks[c.case_no].status == "yellow" for c in open_now),
        "rated": len(ratings),
        "bad_share": round(sum(lvl >= 4 for lvl in ratings) / len(ratings), 4) if ratings else None,
    }


AREAS = {
    TOWNSHIP_ID: {TOWNSHIP_ID, VILLAGE_ID, OTHER_VILLAGE},
    VILLAGE_ID: {VILLAGE_ID},
    OTHER_VILLAGE: {OTHER_VILLAGE},
}


@pytest.mark.parametrize(
    "scope", [COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID], ids=["county", "township", "village"]
)
def test_every_figure_equals_the_count_from_scratch(month, scope):
    with transaction(month.engine) as session:
        board = dashboard(session, area_of(session, scope), PERIOD, TODAY)
        expected = _scratch(session, AREAS.get(scope))
        children = {area.node_id: values for area, values in board.children}
        # A child area is the scope's own filings, or a node below with everything under it.
        child_expected = {
            child: _scratch(session, {child} if child == scope else AREAS[child])
            for child in children
        }
    assert expected["filed"] > 50 and expected["decided"] > 20  # a month worth checking
    for key, value in expected.items():
        assert board.figures[key] == value, key
    for child, values in children.items():
        for key, value in child_expected[child].items():
            assert values[key] == value, (child, key)
    if scope == COUNTY_ID:
        assert set(children) == {COUNTY_ID, TOWNSHIP_ID}
    elif scope == TOWNSHIP_ID:
        assert set(children) == {TOWNSHIP_ID, VILLAGE_ID, OTHER_VILLAGE}
    else:
        assert children == {}
    assert sum(n for _, _, n in board.breakdowns["state"]) == expected["filed"]


def test_the_api_shows_an_area_to_those_in_or_above_it(month, village, staff_client, make_client):
    admin = make_client(month)
    county = admin.get(
        "/api/v1/oversight/dashboard", params={"from": "2026-11-01", "to": "2026-11-30"}
    )
    assert county.status_code == 200 and county.json()["scope"]["node_id"] == COUNTY_ID
    assert county.json()["definitions"]["one_trip_rate"]["label"] == "最多跑一次率"
    agent = staff_client(village, "agent")  # the agent of VILLAGE_ID, on its node
    own = agent.get("/api/v1/oversight/dashboard", params={"scope": VILLAGE_ID})
    assert own.status_code == 200
    other = agent.get("/api/v1/oversight/dashboard", params={"scope": OTHER_VILLAGE})
    assert (other.status_code, other.json()["code"]) == (403, "oversight.out_of_scope")
    above = agent.get("/api/v1/oversight/dashboard", params={"scope": TOWNSHIP_ID})
    assert above.status_code == 403
    reviewer = staff_client(month, "reviewer").get("/api/v1/oversight/dashboard")
    assert (reviewer.status_code, reviewer.json()["code"]) == (403, "auth.role")
    backwards = admin.get(
        "/api/v1/oversight/dashboard", params={"from": "2026-11-30", "to": "2026-11-01"}
    )
    assert backwards.status_code == 400 and backwards.json()["field"] == "from"


def test_the_cases_behind_a_number_are_as_many_paged_and_searchable(month, make_client):
    admin = make_client(month)
    period = {"scope": TOWNSHIP_ID, "from": "2026-11-01", "to": "2026-11-30"}
    figures = admin.get("/api/v1/oversight/dashboard", params=period).json()["figures"]
    for drill in ("filed", "decided", "open_now", "red_now"):
        listed = admin.get("/api/v1/oversight/cases", params={**period, "drill": drill}).json()
        assert listed["total"] == figures[drill], drill
    first = admin.get(
        "/api/v1/oversight/cases", params={**period, "drill": "filed", "per_page": 10}
    )
    second = admin.get(
        "/api/v1/oversight/cases", params={**period, "drill": "filed", "per_page": 10, "page": 2}
    )
    numbers = [c["case_no"] for c in first.json()["cases"] + second.json()["cases"]]
    assert len(numbers) == len(set(numbers)) == 20
    assert all("430424199001011232" not in str(c) for c in first.json()["cases"])
    one = numbers[3]
    found = admin.get("/api/v1/oversight/cases", params={**period, "drill": "filed", "q": one})
    assert [c["case_no"] for c in found.json()["cases"]] == [one]
    unknown = admin.get("/api/v1/oversight/cases", params={**period, "drill": "nonsense"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "drill"


def test_the_xlsx_export_carries_the_numbers_on_the_screen(month, make_client):
    admin = make_client(month)
    period = {"from": "2026-11-01", "to": "2026-11-30"}
    board = admin.get("/api/v1/oversight/dashboard", params=period).json()
    answer = admin.get("/api/v1/oversight/dashboard.xlsx", params=period)
    assert answer.status_code == 200
    book = load_workbook(BytesIO(answer.content), read_only=True)
    rows = list(book["主要指标"].iter_rows(values_only=True))
    assert "数据看板" in rows[0][0] and rows[2][1] == "2026-11-01 至 2026-11-30"
    by_label = {row[0]: row[1] for row in rows[6:]}
    assert by_label["申请件数"] == str(board["figures"]["filed"])
    assert by_label["最多跑一次率"] == f"{board['figures']['one_trip_rate'] * 100:.1f}%"
    areas = list(book["下级区域"].iter_rows(values_only=True))
    assert {row[0] for row in areas[6:]} == {a["name"] for a in board["children"]}


@pytest.fixture(scope="module")
def browser():
    from browser_testing import CHROMIUM_FLAGS, chromium_executable
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable(), headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


PHONE = {"width": 375, "height": 800}


def _fits(tab, name):
    wide = tab.page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], f"{name}: the page is {wide} px wide at 375 px"


@pytest.mark.sqlite_only  # a browser test: the reads are tested on PostgreSQL above
def test_the_supervisor_drills_from_the_county_to_a_villages_cases_on_a_phone(
    month, serve, browser
):
    """At 375 px: the county's dashboard, a click on the township's bar, a click on the
    village's, then on the number of cases filed: the list is as long as the number, and
    no page scrolls sideways."""
    from browser_testing import CheckedTab
    from onetrip_testing import ADMIN_PASSWORD

    server = serve(month)
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE)
    try:
        tab = CheckedTab(context.new_page(), "oversight-375")
        tab.log_in(server.url, "admin", ADMIN_PASSWORD)
        tab.visit(f"{server.url}/oversight?from=2026-11-01&to=2026-11-30", "county-board")
        _fits(tab, "county board")
        assert tab.page.locator("[data-testid=figure]").count() == 15
        chart = tab.page.locator("[data-testid=compare-filed]")
        assert chart.locator("[data-testid=chart-row]").count() == 2  # the county's own, 洣水镇
        with tab.page.expect_navigation():
            chart.get_by_role("link").first.click()
        tab.check("township-board")
        assert f"scope={TOWNSHIP_ID}" in tab.page.url
        _fits(tab, "township board")
        village_link = tab.page.locator("[data-testid=compare-filed] a", has_text="示例村代办点")
        with tab.page.expect_navigation():
            village_link.click()
        tab.check("village-board")
        assert f"scope={VILLAGE_ID}" in tab.page.url
        filed = tab.page.locator("[data-testid=figure][data-key=filed] a")
        number = int(filed.inner_text())
        with tab.page.expect_navigation():
            filed.click()
        tab.check("village-filed-cases")
        _fits(tab, "cases behind a number")
        assert int(tab.page.locator("[data-testid=drill-total]").inner_text()) == number
        shown = tab.page.locator("[data-testid=drill-row]").count()
        assert shown == min(number, 50) and number > 0
        assert "430424199001011232" not in tab.page.content()
    finally:
        context.close()
    # The same screens at desktop width.
    wide = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900}
    )
    try:
        desk = CheckedTab(wide.new_page(), "oversight-1280")
        desk.log_in(server.url, "admin", ADMIN_PASSWORD)
        desk.visit(f"{server.url}/oversight?from=2026-11-01&to=2026-11-30", "county-board")
        assert desk.page.locator("[data-testid=compare-filed] [data-testid=chart-row]").count() == 2
        red = int(desk.page.locator("[data-testid=figure][data-key=red_now] a").inner_text())
        desk.visit(
            f"{server.url}/oversight/cases?drill=red_now&from=2026-11-01&to=2026-11-30", "red"
        )
        assert int(desk.page.locator("[data-testid=drill-total]").inner_text()) == red
        desk.visit(f"{server.url}/oversight/supervisions", "supervisions")
    finally:
        wide.close()


@pytest.mark.sqlite_only  # a browser test: the reads are tested on PostgreSQL above
def test_a_supervisor_sends_a_notice_the_township_answers_it_on_phones(
    month, township, serve, browser, staff_client
):
    """At 375 px: the county's auditor drills to the township's open cases, finds one the
    township holds, sends a 督办; the township's clerk answers it on its own node; the
    auditor sees it answered."""
    from browser_testing import CheckedTab
    from case_fixtures import STAFF_PASSWORD

    staff_client(month, "auditor")  # provisioned: they log in with the staff password
    staff_client(township, "tclerk")
    county, town = serve(month), serve(township)
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE)
    try:
        tab = CheckedTab(context.new_page(), "supervision-375")
        tab.log_in(county.url, "auditor", STAFF_PASSWORD)
        tab.visit(f"{county.url}/oversight?from=2026-11-01&to=2026-11-30", "auditor-board")
        with tab.page.expect_navigation():
            tab.page.locator("[data-testid=compare-filed] a", has_text="洣水镇").click()
        tab.check("auditor-township-board")
        with tab.page.expect_navigation():
            tab.page.locator("[data-testid=figure][data-key=open_now] a").click()
        tab.check("auditor-open-cases")
        tab.page.fill("[data-testid=drill-q]", f"{TOWNSHIP_ID}-")
        tab.submit("[data-testid=drill-search]", "auditor-township-held")
        _fits(tab, "open cases")
        row = tab.page.locator("[data-testid=drill-row]").first
        case_no = row.locator(".code").inner_text()
        assert case_no.startswith(TOWNSHIP_ID)
        with tab.page.expect_navigation():
            row.locator("[data-testid=supervise-link]").click()
        tab.check("supervise-form")
        _fits(tab, "supervise form")
        tab.page.fill("[data-testid=supervise-message]", "请说明该件为何仍未办结")
        tab.submit("[data-testid=supervise-submit]", "supervision-issued")
        issued = tab.page.locator("[data-testid=supervision-row]")
        assert issued.count() == 1 and case_no in issued.inner_text()
        assert issued.locator("[data-testid=supervision-state]").inner_text() == "待答复"

        clerk = CheckedTab(context.new_page(), "supervision-375-township")
        context.clear_cookies()
        clerk.log_in(town.url, "tclerk", STAFF_PASSWORD)
        clerk.visit(f"{town.url}/oversight/supervisions", "township-received")
        _fits(clerk, "received notices")
        clerk.page.fill("[data-testid=answer-text]", "已补齐材料，今日办结")
        clerk.submit("[data-testid=answer-submit]", "township-answered")
        assert "已答复督办" in clerk.page.content()

        context.clear_cookies()
        tab.log_in(county.url, "auditor", STAFF_PASSWORD)
        tab.visit(f"{county.url}/oversight/supervisions?view=issued&state=answered", "answered")
        answered = tab.page.locator("[data-testid=supervision-row]")
        assert answered.count() == 1 and "已补齐材料，今日办结" in answered.inner_text()
    finally:
        context.close()


def test_the_monthly_report_lists_every_area_below_with_its_figures(month, make_client):
    """月报 for November: a row per area below the county (its own filings, 洣水镇 with
    its villages, each village), each row's figures those of that area for the month."""
    admin = make_client(month)
    answer = admin.get("/api/v1/oversight/monthly.xlsx", params={"month": "2026-11"})
    assert answer.status_code == 200
    book = load_workbook(BytesIO(answer.content), read_only=True)
    head = list(book["主要指标"].iter_rows(values_only=True))
    assert "2026年11月月报" in head[0][0] and head[2][1] == "2026-11-01 至 2026-11-30"
    rows = list(book["下级区域"].iter_rows(values_only=True))[6:]
    filed = {row[0]: row[1] for row in rows}
    assert len(filed) == 4 and {"示例村代办点", "示例二村代办点"} <= set(filed)
    with transaction(month.engine) as session:
        for node_id in (TOWNSHIP_ID, VILLAGE_ID, OTHER_VILLAGE):
            area = area_of(session, node_id)
            assert filed[area.name] == str(_scratch(session, AREAS[node_id])["filed"]), node_id
    bad = admin.get("/api/v1/oversight/monthly.xlsx", params={"month": "2026-13"})
    assert bad.status_code == 422 and bad.json()["field"] == "month"
