"""Which tasks of a case view a reader sees (``reading.visible_tasks``, issue 13 item 7):
the lead department every department's, since it decides on them; any other department
its own only; staff who are not confined to a department all of them."""

from __future__ import annotations

from typing import Any

from onetrip_testing import COUNTY_ID

from common.authority.reading import visible_tasks
from common.users.roles import Actor, Role

MARKET, POLICE, TAX = "衡东县市场监督管理局", "衡东县公安局", "国家税务总局衡东县税务局"
CASE = f"{COUNTY_ID}-20261204-0001"


def task(n: int, department: str, *, lead: bool = False, kind: str = "review") -> dict[str, Any]:
    done = n == 2
    return {
        "task_id": f"{CASE}/{kind}/{n}",
        "kind": kind,
        "department": department,
        "lead": lead,
        "state": "done" if done else "open",
        "opinion": "disagree" if done else None,
        "comment": "经营场所存在消防安全隐患" if done else None,
        "done_by": "police" if done else None,
        "opened_on": "2026-12-01",
        "due_on": None,
        "done_on": "2026-12-03" if done else None,
    }


TASKS = [task(1, MARKET, lead=True), task(2, POLICE), task(3, TAX)]


def reviewer(department: str | None) -> Actor:
    return Actor("r", COUNTY_ID, Role.DEPARTMENT_REVIEWER, department)


def departments(actor: Actor, tasks: list[dict[str, Any]] = TASKS) -> list[str]:
    return [t["department"] for t in visible_tasks(actor, tasks)]


def test_the_lead_department_sees_every_department_and_its_opinion() -> None:
    seen = visible_tasks(reviewer(MARKET), TASKS)
    assert seen == TASKS
    police = next(t for t in seen if t["department"] == POLICE)
    assert (police["opinion"], police["comment"], police["done_by"], police["done_on"]) == (
        "disagree",
        "经营场所存在消防安全隐患",
        "police",
        "2026-12-03",
    )


def test_another_department_sees_only_its_own() -> None:
    assert departments(reviewer(POLICE)) == [POLICE]
    assert departments(reviewer(TAX)) == [TAX]
    assert departments(reviewer("衡东县教育局")) == []
    assert departments(reviewer(None)) == []  # a reviewer without a department: nothing


def test_a_lead_is_the_department_of_the_lead_task_not_any_task_of_its_own() -> None:
    # Police's verification task does not make it the lead.
    tasks = [*TASKS, task(1, POLICE, kind="verification")]
    assert departments(reviewer(POLICE), tasks) == [POLICE, POLICE]
    # A case whose lead task is another department's: the market is not the lead there.
    led_by_police = [task(1, POLICE, lead=True), task(2, MARKET)]
    assert departments(reviewer(MARKET), led_by_police) == [MARKET]
    assert departments(reviewer(POLICE), led_by_police) == [POLICE, MARKET]


def test_staff_not_confined_to_a_department_see_every_task() -> None:
    for role in (Role.COUNTY_WINDOW_CLERK, Role.COUNTY_ADMIN, Role.AUDITOR):
        assert visible_tasks(Actor("u", COUNTY_ID, role), TASKS) == TASKS
    assert visible_tasks(Actor.node_system(COUNTY_ID), TASKS) == TASKS
