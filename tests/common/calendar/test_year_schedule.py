"""Parsing official year schedules from CSV and JSON."""

from datetime import date, timedelta

import pytest
from chinese_calendar import constants

from common.calendar import (
    ScheduleError,
    WorkingCalendar,
    YearSchedule,
    parse_year_schedule_csv,
    parse_year_schedule_json,
)

D = date


def problems_of(call, *args, **kwargs):
    with pytest.raises(ScheduleError) as info:
        call(*args, **kwargs)
    return [(p.code, p.location) for p in info.value.problems]


def test_csv_real_2026_schedule_round_trips_into_the_same_calendar():
    lines = ["date,kind,name"]
    lines += [f"{d},holiday,{n}" for d, n in sorted(constants.holidays.items()) if d.year == 2026]
    lines += [f"{d},workday,{n}" for d, n in sorted(constants.workdays.items()) if d.year == 2026]
    schedule = parse_year_schedule_csv("\n".join(lines), source="国务院办公厅2026年节假日安排")
    assert schedule.year == 2026 and D(2026, 2, 14) in schedule.workdays
    assert schedule.names[D(2026, 2, 17)] == "Spring Festival"
    rebuilt = WorkingCalendar().with_schedule(schedule)
    official = WorkingCalendar.from_chinese_calendar(years=[2026])
    days = [D(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    assert [rebuilt.is_working_day(d) for d in days] == [official.is_working_day(d) for d in days]
    assert rebuilt.source_for(2026) == "国务院办公厅2026年节假日安排"


def test_csv_chinese_header_bom_slashes_and_weekend_holiday():
    text = "\ufeff日期,类型,名称\n2027/1/1,休,元旦\n\n2027-01-02,休,元旦\n2027-02-06,班,春节\n"
    schedule = parse_year_schedule_csv(text)
    # 2 January 2027 is a Saturday: listing it as a holiday is harmless and kept.
    assert schedule.holidays == (D(2027, 1, 1), D(2027, 1, 2))
    assert schedule.workdays == (D(2027, 2, 6),)
    assert schedule.source == "csv"


def test_csv_reports_every_problem_with_its_line():
    text = (
        "date,kind\n"
        "2027-01-01,holiday\n"  # line 2: fine, fixes the year
        "2027-02-30,holiday\n"  # line 3: no such date
        "2026-12-31,holiday\n"  # line 4: other year
        "2027-01-01,休\n"  # line 5: listed twice
        "2027-02-03,workday\n"  # line 6: a Wednesday cannot be a make-up day
        "2027-02-07,rest\n"  # line 7: unknown kind
    )
    assert problems_of(parse_year_schedule_csv, text) == [
        ("schedule.date", "第3行"),
        ("schedule.outside_year", "第4行"),
        ("schedule.duplicate", "第5行"),
        ("schedule.workday_not_weekend", "第6行"),
        ("schedule.kind", "第7行"),
    ]


def test_csv_error_message_is_chinese_and_names_the_row():
    with pytest.raises(ScheduleError) as info:
        parse_year_schedule_csv("date,kind\n2027-02-03,班\n")
    assert info.value.code == "schedule.workday_not_weekend"
    assert info.value.location == "第2行" and "不是周六或周日" in info.value.message


def test_csv_given_year_and_missing_header_and_empty():
    assert problems_of(parse_year_schedule_csv, "date,kind\n2026-10-01,休\n", year=2027) == [
        ("schedule.outside_year", "第2行")
    ]
    assert problems_of(parse_year_schedule_csv, "day,what\n") == [("schedule.header", "第1行")]
    assert problems_of(parse_year_schedule_csv, "date,kind\n") == [("schedule.empty", "全部")]


def test_json_schedule():
    schedule = parse_year_schedule_json(
        {
            "year": 2027,
            "holidays": [{"date": "2027-01-01", "name": "元旦"}, "2027-02-08"],
            "workdays": [{"date": "2027-02-06"}],
        }
    )
    assert schedule == YearSchedule(
        2027, (D(2027, 1, 1), D(2027, 2, 8)), (D(2027, 2, 6),), "json", {D(2027, 1, 1): "元旦"}
    )
    assert parse_year_schedule_json('{"year": 2027, "holidays": ["2027-01-01"]}').year == 2027


def test_json_problems_name_the_field():
    obj = {
        "year": 2027,
        "holidays": [{"date": "2027-01-01"}, {"date": "2027-13-01"}],
        "workdays": [{"date": "2027-01-01"}, "2028-01-01"],
    }
    assert problems_of(parse_year_schedule_json, obj) == [
        ("schedule.date", "holidays[1].date"),
        ("schedule.duplicate", "workdays[0].date"),
        ("schedule.outside_year", "workdays[1]"),
    ]
    assert problems_of(parse_year_schedule_json, {"holidays": []}) == [("schedule.year", "year")]
    assert problems_of(parse_year_schedule_json, {"year": 2027, "workdays": "2027-02-06"}) == [
        ("schedule.format", "workdays")
    ]
    assert problems_of(parse_year_schedule_json, "{not json") == [("schedule.format", "第1行")]
