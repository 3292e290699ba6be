"""Calendar service on a real migrated node: seed, 2027 fallback, publishing a year,
refusals that write nothing, and a projection rebuild that gives the same rows."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from common.calendar import service
from common.calendar.models import CalendarDay, PublishedYear
from common.calendar.projection import CALENDAR_SUBJECT, YEAR_PUBLISHED
from common.db import transaction
from common.errors import Conflict, Forbidden
from common.ledger.envelope import parse_event
from common.ledger.models import Event
from common.ledger.projection import apply_event, clear_projections, iter_events, snapshot
from common.users.roles import Actor, Role

D = date.fromisoformat
MID_DECEMBER = D("2026-12-15")


def _publish(node, actor, schedule, source=None):
    with transaction(node.engine) as session:
        return service.import_year_schedule(
            session, node, actor, schedule, source or schedule.source
        )


def _status(node, today=MID_DECEMBER):
    with Session(node.engine) as session:
        return service.calendar_status(session, today)


def _calendar_events(node) -> int:
    with Session(node.engine) as session:
        return session.execute(
            select(func.count()).select_from(Event).where(Event.subject == CALENDAR_SUBJECT)
        ).scalar_one()


def test_seed_covers_the_package_years_with_names_and_is_idempotent(root_node):
    with transaction(root_node.engine) as session:
        assert service.seed_calendar_days(session) == 0  # init already seeded
        days = session.execute(select(func.count()).select_from(CalendarDay)).scalar_one()
        assert days == (D("2026-12-31") - D("2004-01-01")).days + 1
        spring = session.get(CalendarDay, D("2026-02-17"))
        make_up = session.get(CalendarDay, D("2026-02-14"))
        assert (spring.is_working_day, spring.name, spring.source) == (
            False,
            "春节",
            "chinesecalendar",
        )
        assert (make_up.is_working_day, make_up.name) == (True, "春节调休上班")
        assert session.get(CalendarDay, D("2026-03-09")).name is None
    status = _status(root_node)
    assert status["covered_years"] == list(range(2004, 2027))
    assert (status["published_years"], status["version"]) == ([], 0)


def test_deadline_into_2027_falls_back_to_monday_friday_and_says_so(root_node):
    with Session(root_node.engine) as session:
        assert service.add_working_days(session, MID_DECEMBER, 20) == D("2027-01-12")
        assert service.working_days_between(session, MID_DECEMBER, D("2027-01-12")) == 20
        assert service.is_working_day(session, D("2027-01-01"))  # unknown, so Friday counts
        report = service.deadline_report(session, MID_DECEMBER, 20)
        assert report["fallback_years"] == [2027]
        assert "2027年" in report["warning"] and "周一至周五" in report["warning"]
        inside_2026 = service.deadline_report(session, D("2026-02-13"), 2)
        assert (inside_2026["deadline"], inside_2026["warning"]) == ("2026-02-24", None)
    assert _status(root_node)["warnings"] == ["2027年节假日安排尚未导入，期限按周一至周五计算"]
    # Next year is only checked once deadlines can reach it (the year's last 120 days).
    assert _status(root_node, D("2026-03-01"))["warnings"] == []
    assert _status(root_node, D("2026-09-02"))["warnings"] == []
    assert _status(root_node, D("2026-09-03"))["warnings"] == [
        "2027年节假日安排尚未导入，期限按周一至周五计算"
    ]
    assert _status(root_node, D("2027-03-01"))["warnings"] == [
        "2027年节假日安排尚未导入，期限按周一至周五计算"
    ]
    assert len(_status(root_node, D("2027-12-01"))["warnings"]) == 2


def test_publishing_2027_moves_deadlines_and_clears_the_warning(root_node, admin, schedule_2027):
    event = _publish(root_node, admin, schedule_2027)
    assert (event.author, event.subject, event.kind) == (
        root_node.node_id,
        "calendar",
        YEAR_PUBLISHED,
    )
    assert event.envelope["sseq"] == 1
    assert event.body["year"] == 2027 and event.body["names"]["2027-01-01"] == "元旦"
    assert event.body["workdays"] == ["2027-01-30", "2027-02-20", "2027-09-26", "2027-10-09"]

    with Session(root_node.engine) as session:
        assert service.add_working_days(session, MID_DECEMBER, 20) == D("2027-01-13")
        assert service.add_working_days(session, D("2027-02-01"), 10) == D("2027-02-22")
        assert service.is_working_day(session, D("2027-01-30"))  # make-up Saturday
        assert service.deadline_report(session, MID_DECEMBER, 20)["warning"] is None
        calendar = service.working_calendar(session)
        assert calendar.source_for(2027) == schedule_2027.source
        assert calendar.source_for(2026) == "chinesecalendar"
    status = _status(root_node)
    assert status["warnings"] == []
    assert (status["published_years"], status["version"]) == ([2027], 1)
    assert status["covered_years"][-1] == 2027


def test_identical_reimport_is_refused_and_a_correction_replaces_the_year(
    root_node, admin, schedule_2027
):
    _publish(root_node, admin, schedule_2027)
    with pytest.raises(Conflict) as refused:
        _publish(root_node, admin, schedule_2027)
    assert refused.value.code == "calendar.unchanged"
    assert _calendar_events(root_node) == 1

    corrected = type(schedule_2027)(
        2027,
        (*schedule_2027.holidays, D("2027-02-04")),
        schedule_2027.workdays,
        schedule_2027.source,
        {**schedule_2027.names, D("2027-02-04"): "春节"},
    )
    _publish(root_node, admin, corrected)
    with Session(root_node.engine) as session:
        row = session.get(PublishedYear, 2027)
        assert row.version == 2 and "2027-02-04" in json.loads(row.holidays)
        assert session.execute(select(func.count()).select_from(PublishedYear)).scalar_one() == 1
        assert not service.is_working_day(session, D("2027-02-04"))


BAD_CSV = """date,kind,name
2027-01-01,休,元旦
2027-02-30,休,春节
2027-02-05,放假,春节
2027-02-03,班,调休
2027-01-01,休,元旦
"""


def test_bad_schedule_lists_every_problem_and_writes_nothing(root_node, admin):
    with (
        pytest.raises(service.ScheduleRejected) as rejected,
        transaction(root_node.engine) as session,
    ):
        schedule = service.read_year_schedule(BAD_CSV.encode(), "csv", source=None)
        service.import_year_schedule(session, root_node, admin, schedule, schedule.source)
    problems = {(p.code, p.location) for p in rejected.value.problems}
    assert problems == {
        ("schedule.date", "第3行"),
        ("schedule.kind", "第4行"),
        ("schedule.workday_not_weekend", "第5行"),
        ("schedule.duplicate", "第6行"),
        ("calendar.source", "source"),
    }
    body = rejected.value.as_dict()
    assert body["code"] == "calendar.schedule_invalid" and len(body["problems"]) == 5
    assert rejected.value.status_code == 422
    assert _status(root_node)["version"] == 0 and _calendar_events(root_node) == 0


def test_read_year_schedule_takes_source_from_json_and_reads_gbk_csv(
    notice_2027, schedule_2027_csv
):
    document = {
        "year": 2027,
        "source": notice_2027,
        "holidays": [{"date": "2027-01-01", "name": "元旦"}],
        "workdays": [],
    }
    from_json = service.read_year_schedule(
        json.dumps(document, ensure_ascii=False).encode(), "json"
    )
    assert from_json.source == notice_2027 and from_json.names == {D("2027-01-01"): "元旦"}
    from_excel = service.read_year_schedule(schedule_2027_csv.encode("gbk"), "csv", notice_2027)
    assert from_excel.names[D("2027-02-05")] == "春节"
    with pytest.raises(service.ScheduleRejected) as rejected:
        service.read_year_schedule(b'{"year": 2027, "holidays": [', "json", notice_2027)
    assert rejected.value.problems[0].code == "schedule.format"


@pytest.mark.parametrize("role", [Role.VILLAGE_AGENT, Role.COUNTY_WINDOW_CLERK, Role.AUDITOR])
def test_only_a_county_administrator_may_publish(root_node, schedule_2027, role):
    clerk = Actor(username="clerk", node_id=root_node.node_id, role=role)
    with pytest.raises(Forbidden) as refused:
        _publish(root_node, clerk, schedule_2027)
    assert refused.value.code == "auth.role"
    assert _calendar_events(root_node) == 0


def test_only_the_root_node_may_publish(township_view, admin, schedule_2027):
    for actor in (admin, Actor.node_system(township_view.node_id)):
        with pytest.raises(Forbidden) as refused:
            _publish(township_view, actor, schedule_2027)
        assert refused.value.code == "calendar.not_root"
    assert _calendar_events(township_view) == 0


def test_rebuilding_the_projection_gives_the_same_rows(root_node, admin, schedule_2027):
    _publish(root_node, admin, schedule_2027)
    _publish(root_node, admin, schedule_2027, source="国务院办公厅通知（更正）")
    schedule_2028 = type(schedule_2027)(2028, (D("2028-01-01"),), (), "2028年通知（测试数据）")
    _publish(root_node, admin, schedule_2028)
    with transaction(root_node.engine) as session:
        before = snapshot(session)
        deadline = service.add_working_days(session, MID_DECEMBER, 20)
        clear_projections(session)
        assert session.execute(select(func.count()).select_from(PublishedYear)).scalar_one() == 0
        for raw in list(iter_events(session)):
            apply_event(session, parse_event(root_node.network_id, raw))
        after = snapshot(session)
        assert after["published_years"] == before["published_years"]
        assert [row[:2] for row in after["published_years"]] == [(2027, 2), (2028, 3)]
        assert after == before
        assert service.add_working_days(session, MID_DECEMBER, 20) == deadline


def test_the_cached_calendar_follows_new_records_and_rollbacks(root_node, admin, schedule_2027):
    with Session(root_node.engine) as session:
        first, second = service.working_calendar(session), service.working_calendar(session)
        assert first is not second  # each caller gets its own fallback record
        first.is_working_day(D("2027-03-01"))
        assert second.uncovered_years_touched == set()
    with pytest.raises(RuntimeError), transaction(root_node.engine) as session:
        service.import_year_schedule(session, root_node, admin, schedule_2027, "通知")
        assert service.working_calendar(session).is_covered(2027)  # sees its own write
        raise RuntimeError("abandon the import")
    with Session(root_node.engine) as session:
        assert not service.working_calendar(session).is_covered(2027)


def test_an_unusable_signed_record_is_ignored_loudly_not_fatally(root_node):
    with transaction(root_node.engine) as session:
        # Root-signed but malformed: a make-up "workday" on a Wednesday.
        root_node.append(
            session,
            CALENDAR_SUBJECT,
            YEAR_PUBLISHED,
            {
                "year": 2027,
                "holidays": ["2027-01-01"],
                "workdays": ["2027-01-06"],
                "names": {},
                "source": "有误的记录",
            },
        )
    status = _status(root_node)
    assert "2027年已发布的节假日安排记录无效，已忽略，请重新导入" in status["warnings"]
    assert "2027年节假日安排尚未导入，期限按周一至周五计算" in status["warnings"]
    with Session(root_node.engine) as session:
        assert service.add_working_days(session, MID_DECEMBER, 20) == D("2027-01-12")


def test_days_listing_names_sources_and_coverage(root_node, admin, schedule_2027):
    with Session(root_node.engine) as session:
        listing = service.calendar_days(session, D("2026-12-31"), D("2027-01-04"))
        assert [day["is_working_day"] for day in listing["days"]] == [
            True,
            True,
            False,
            False,
            True,
        ]
        assert listing["days"][1] == {
            "date": "2027-01-01",
            "weekday": 5,
            "is_working_day": True,
            "name": None,
            "covered": False,
            "source": None,
        }
        assert listing["fallback_years"] == [2027]
    _publish(root_node, admin, schedule_2027)
    with Session(root_node.engine) as session:
        listing = service.calendar_days(session, D("2026-12-31"), D("2027-01-04"))
        new_year = listing["days"][1]
        assert (new_year["is_working_day"], new_year["name"], new_year["source"]) == (
            False,
            "元旦",
            schedule_2027.source,
        )
        assert listing["days"][0]["source"] == "chinesecalendar" and listing["warning"] is None
