"""/admin/calendar: the year-by-year status with the Monday-Friday warning, importing
a year's schedule (every problem listed, nothing published), correcting one day."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlmodel import Session
from web_testing import post_form

from common.calendar.models import PublishedYear
from common.web import pages_admin

NOTICE = "国务院办公厅关于2027年部分节假日安排的通知（测试数据）"
SCHEDULE_2027 = """date,kind,name
2027-01-01,休,元旦
2027-01-02,休,元旦
2027-01-03,休,元旦
2027-02-05,休,春节
2027-02-08,休,春节
2027-02-20,班,春节调休上班
"""


@pytest.fixture(autouse=True)
def _mid_december(monkeypatch):
    # The warnings depend on today's year; pin it so the suite does not age.
    monkeypatch.setattr(pages_admin, "local_today", lambda tz=None: date(2026, 12, 15))


def _year_state(html: str, year: int) -> str:
    match = re.search(rf'data-testid="calendar-year" data-year="{year}" data-state="(\w+)"', html)
    assert match, f"no row for {year}"
    return match.group(1)


def _upload(client, text: str, source: str = NOTICE, name: str = "2027.csv"):
    return post_form(
        client,
        "/admin/calendar/import",
        {"source": source},
        page="/admin/calendar",
        files={"file": (name, text.encode("utf-8"), "text/csv")},
    )


def _published(node) -> PublishedYear | None:
    with Session(node.engine) as session:
        return session.get(PublishedYear, 2027)


def test_importing_a_year_clears_the_fallback_warning(root_node, admin_web):
    page = admin_web.get("/admin/calendar")
    assert page.status_code == 200 and "<title>工作日历" in page.text
    assert "2027年节假日安排尚未导入" in page.text
    assert (_year_state(page.text, 2027), _year_state(page.text, 2026)) == ("fallback", "seeded")

    answer = _upload(admin_web, SCHEDULE_2027)
    assert answer.status_code == 303, answer.text
    page = admin_web.get("/admin/calendar")
    assert "已发布2027年节假日安排：放假5天，调休上班1天" in page.text
    assert _year_state(page.text, 2027) == "published" and NOTICE in page.text
    assert 'data-testid="calendar-warning"' not in page.text
    row = _published(root_node)
    assert row is not None and row.source == NOTICE and len(json.loads(row.holidays)) == 5


def test_a_schedule_with_problems_lists_them_all_and_publishes_nothing(root_node, admin_web):
    bad = SCHEDULE_2027 + "2027-03-01,班,周一不能调休\n2028-01-01,休,元旦\n"
    answer = _upload(admin_web, bad, source="")
    assert answer.status_code == 422
    locations = re.findall(r'<tr data-testid="calendar-problem"><td>([^<]+)</td>', answer.text)
    assert locations == ["第8行", "第9行", "source"]
    assert '<p class="field-error" id="d-source">' in answer.text
    assert _published(root_node) is None

    wrong_type = _upload(admin_web, SCHEDULE_2027, name="2027.xlsx")
    assert wrong_type.status_code == 400 and 'id="d-file"' in wrong_type.text
    assert _published(root_node) is None


def test_one_day_is_added_to_a_published_year(root_node, admin_web):
    _upload(admin_web, SCHEDULE_2027)
    answer = post_form(
        admin_web,
        "/admin/calendar/day",
        {"day": "2027-02-09", "kind": "holiday", "name": "春节", "day_source": NOTICE + "（更正）"},
        page="/admin/calendar",
    )
    assert answer.status_code == 303, answer.text
    row = _published(root_node)
    assert row is not None and "2027-02-09" in json.loads(row.holidays)
    assert len(json.loads(row.holidays)) == 6 and json.loads(row.names)["2027-02-09"] == "春节"

    no_source = post_form(
        admin_web,
        "/admin/calendar/day",
        {"day": "2027-02-10", "kind": "holiday", "name": "", "day_source": ""},
        page="/admin/calendar",
    )
    assert no_source.status_code == 400 and 'id="d-day_source"' in no_source.text
    weekday_workday = post_form(
        admin_web,
        "/admin/calendar/day",
        {"day": "2027-03-01", "kind": "workday", "day_source": NOTICE},
        page="/admin/calendar",
    )
    assert weekday_workday.status_code == 400 and "不是周六或周日" in weekday_workday.text
    uncovered = post_form(
        admin_web,
        "/admin/calendar/day",
        {"day": "2028-01-03", "kind": "holiday", "day_source": NOTICE},
        page="/admin/calendar",
    )
    assert uncovered.status_code == 400 and "2028年尚无节假日安排" in uncovered.text
    assert len(json.loads(_published(root_node).holidays)) == 6


def test_a_day_added_to_a_seeded_year_keeps_the_seeded_holidays(root_node, admin_web):
    answer = post_form(
        admin_web,
        "/admin/calendar/day",
        {
            "day": "2026-12-31",
            "kind": "holiday",
            "name": "临时放假",
            "day_source": "县政府通知（测试）",
        },
        page="/admin/calendar",
    )
    assert answer.status_code == 303, answer.text
    with Session(root_node.engine) as session:
        row = session.get(PublishedYear, 2026)
    holidays = json.loads(row.holidays)
    # 国庆节 and 春节 of the seed are still there, and the new day.
    assert {"2026-10-01", "2026-02-17", "2026-12-31"} <= set(holidays)
    assert "2026-02-14" in json.loads(row.workdays)  # 春节调休上班 (a Saturday)
    page = admin_web.get("/admin/calendar")
    assert _year_state(page.text, 2026) == "published"
