"""Calendar HTTP API on a real root node: public arithmetic with the 2027 fallback,
publishing a year by file or JSON body, and refusals that name every problem."""

from __future__ import annotations

import json
from datetime import date

import pytest

import common.calendar.router as calendar_router
from common.db import transaction
from common.users.service import provision_user

MID_DECEMBER = date(2026, 12, 15)
NO_2027 = "2027年节假日安排尚未导入，期限按周一至周五计算"


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    # Warnings depend on today's year; pin it so the suite does not age.
    monkeypatch.setattr(calendar_router, "local_today", lambda tz=None: MID_DECEMBER)


@pytest.fixture
def client(root_node, make_client):
    return make_client(root_node)


@pytest.fixture
def public(root_node, make_client):
    return make_client(root_node, username=None)


def _upload_csv(client, text, source=None, filename="2027.csv"):
    data = {"source": source} if source else {}
    return client.post(
        "/api/v1/calendar/years",
        data=data,
        files={"file": (filename, text.encode("utf-8"), "text/csv")},
    )


def test_status_and_deadlines_are_public_and_report_the_2027_fallback(public):
    status = public.get("/api/v1/calendar/status").json()
    assert status["warnings"] == [NO_2027] and status["version"] == 0
    assert status["covered_years"] == list(range(2004, 2027))
    added = public.get("/api/v1/calendar/add", params={"start": "2026-12-15", "days": 20}).json()
    assert added["deadline"] == "2027-01-12" and added["fallback_years"] == [2027]
    assert "2027年" in added["warning"]
    between = public.get(
        "/api/v1/calendar/between", params={"start": "2026-12-15", "end": "2027-01-12"}
    ).json()
    assert (between["working_days"], between["fallback_years"]) == (20, [2027])
    backwards = public.get(
        "/api/v1/calendar/between", params={"start": "2026-02-24", "end": "2026-02-13"}
    ).json()
    assert (backwards["working_days"], backwards["warning"]) == (-2, None)


def test_publishing_a_csv_file_moves_the_deadline_and_clears_the_warning(
    client, public, schedule_2027_csv, notice_2027
):
    response = _upload_csv(client, schedule_2027_csv, notice_2027)
    assert response.status_code == 201, response.text
    assert response.json() | {"event_id": None} == {
        "year": 2027,
        "version": 1,
        "event_id": None,
        "holidays": 27,
        "workdays": 4,
        "source": notice_2027,
    }
    added = public.get("/api/v1/calendar/add", params={"start": "2026-12-15", "days": 20}).json()
    assert (added["deadline"], added["fallback_years"], added["warning"]) == (
        "2027-01-13",
        [],
        None,
    )
    status = public.get("/api/v1/calendar/status").json()
    assert status["warnings"] == [] and status["published_years"] == [2027]
    days = public.get(
        "/api/v1/calendar/days", params={"from": "2027-01-29", "to": "2027-01-31"}
    ).json()
    assert [(d["date"], d["is_working_day"], d["name"]) for d in days["days"]] == [
        ("2027-01-29", True, None),
        ("2027-01-30", True, "春节调休上班"),
        ("2027-01-31", False, None),
    ]
    assert {d["source"] for d in days["days"]} == {notice_2027}


def test_publishing_a_json_body_and_refusing_an_identical_one(client, notice_2027):
    document = {
        "year": 2027,
        "source": notice_2027,
        "holidays": [{"date": "2027-01-01", "name": "元旦"}, "2027-01-02", "2027-01-03"],
        "workdays": [],
    }
    first = client.post("/api/v1/calendar/years", json=document)
    assert first.status_code == 201 and first.json()["version"] == 1
    again = client.post("/api/v1/calendar/years", json=document)
    assert again.status_code == 409 and again.json()["code"] == "calendar.unchanged"
    as_file = client.post(
        "/api/v1/calendar/years",
        files={
            "file": (
                "2027.json",
                json.dumps(document | {"source": "更正"}).encode(),
                "application/json",
            )
        },
    )
    assert as_file.status_code == 201 and as_file.json()["version"] == 2


def test_a_bad_file_is_refused_with_every_problem_located_and_nothing_written(client, public):
    bad = "date,kind,name\n2027-01-01,休,元旦\n2027-13-01,休,?\n2027-01-06,班,调休\n"
    response = _upload_csv(client, bad)  # and no source
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "calendar.schedule_invalid" and body["field"] == "第3行"
    assert [(p["location"], p["code"]) for p in body["problems"]] == [
        ("第3行", "schedule.date"),
        ("第4行", "schedule.workday_not_weekend"),
        ("source", "calendar.source"),
    ]
    assert all(p["message"] for p in body["problems"])
    json_errors = client.post(
        "/api/v1/calendar/years",
        json={
            "year": 2027,
            "source": "通知",
            "holidays": ["2027-01-01", "2028-01-01"],
            "workdays": ["2027-01-06"],
        },
    )
    assert json_errors.status_code == 422
    assert [p["location"] for p in json_errors.json()["problems"]] == ["holidays[1]", "workdays[0]"]
    status = public.get("/api/v1/calendar/status").json()
    assert status["version"] == 0 and status["published_years"] == []


@pytest.mark.parametrize(
    ("filename", "content", "status", "code"),
    [
        ("2027.xlsx", b"PK\x03\x04", 400, "calendar.file_type"),
        (
            "2027.csv",
            b"date,kind\n" + b"2027-01-01,holiday\n" * 5000,
            413,
            "calendar.file_too_large",
        ),
        ("2027.csv", b"   ", 400, "calendar.file_missing"),
    ],
)
def test_unusable_uploads_are_refused(client, filename, content, status, code):
    response = client.post(
        "/api/v1/calendar/years",
        data={"source": "通知"},
        files={"file": (filename, content, "application/octet-stream")},
    )
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_publishing_needs_a_county_administrator(
    root_node, make_client, public, schedule_2027_csv, notice_2027
):
    assert _upload_csv(public, schedule_2027_csv, notice_2027).status_code == 401
    assert _upload_csv(public, "garbage").status_code == 401  # who asks is checked first
    with transaction(root_node.engine) as session:
        provision_user(
            session,
            root_node,
            _system(root_node),
            node_id=root_node.node_id,
            username="window1",
            display_name="综合窗口一号",
            role="county_window_clerk",
            password="Window-Clerk-2026!",
        )
    clerk = make_client(root_node, username="window1")
    refused = _upload_csv(clerk, schedule_2027_csv, notice_2027)
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.role")
    assert _upload_csv(clerk, "garbage").status_code == 403
    assert public.get("/api/v1/calendar/status").json()["version"] == 0


def _system(node):
    from common.users.roles import Actor

    return Actor.node_system(node.node_id)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"from": "2026-01-01", "to": "2027-02-05"}, 400, "to"),  # 402 days
        ({"from": "2026-02-01", "to": "2026-01-01"}, 400, "to"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, 422, "from"),
        ({"to": "2026-03-01"}, 422, "from"),
    ],
)
def test_days_range_is_checked(public, params, status, field):
    response = public.get("/api/v1/calendar/days", params=params)
    assert (response.status_code, response.json()["field"]) == (status, field)


def test_days_lists_up_to_400_days(public):
    response = public.get(
        "/api/v1/calendar/days", params={"from": "2026-01-01", "to": "2027-02-04"}
    )
    days = response.json()["days"]
    assert len(days) == 400 and days[0]["name"] == "元旦" and days[0]["source"] == "chinesecalendar"
    assert response.json()["fallback_years"] == [2027]


def test_negative_day_counts_are_refused(public):
    response = public.get("/api/v1/calendar/add", params={"start": "2026-12-15", "days": -1})
    assert response.status_code == 422 and response.json()["field"] == "days"
