"""Review and decision action functions: parallel approval, 一审一核, 即办件, special
procedures, extensions and 告知承诺 verification, on real nodes over real databases.

Accepted cases are set up by appending ``case.filed`` + ``case.accepted`` in the
contract's shape (the intake projection records them), so these tests depend only on
the event contract, not on the intake actions.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date
from typing import Any, get_args

import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID, case_filed_body

from common.calendar.service import add_working_days
from common.cases.access import append_case_event, case_subject, load_case
from common.cases.clock import SECTION_45_SUBKINDS, SPECIAL_KINDS, STARTABLE_SUBKINDS
from common.cases.models import CaseTask, SpecialProcedure
from common.cases.review import service as review
from common.catalog.sample import publish_sample
from common.catalog.service import get_published
from common.db import transaction
from common.errors import Conflict, DomainError, Forbidden, NotFound
from common.ledger.envelope import parse_event
from common.ledger.projection import apply_event, clear_projections, iter_events, snapshot
from common.ledger.verify import verify_node
from common.node import ThisNode
from common.users.roles import Actor, Role

COMPANY = "11430424MB1C5953154000119003001"  # 企业设立登记: 3 departments, licence YYZZ
INVESTMENT = "11430424006813213D4000101002000"  # 企业投资项目核准: 4 departments, 10 days
PHARMACY = "11430424MB1C5953154000119007000"  # 特种设备使用登记: 1 department, 5 days
FOOD = "11430424MB1C5953154000119001001"  # 食品经营许可（新办）: 告知承诺, licence SPJYXKZ
DIBAO = "11430424006813635C4000504001001"  # 最低生活保障审批: 一审一核 at the county
SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county 即办件, licence
TOWNSHIP_2A = "1143042400681808175001016010001"  # 奖励扶助资格初审: township 一审一核
VILLAGE_NOW = "54430424MEB423186J6002007001000"  # 养老保险参保登记（村级代办）: village 即办件

SCJG, GA, SW = "衡东县市场监督管理局", "衡东县公安局", "国家税务总局衡东县税务局"
CLERK = Actor("clerk", COUNTY_ID, Role.COUNTY_WINDOW_CLERK)
_serial = itertools.count(1)


def reviewer(department: str, name: str = "", *, head: bool = True) -> Actor:
    """A department's reviewer, by default the head of the department (who approves
    extensions, 行政许可法 §42)."""
    return Actor(
        name or f"r-{department[-5:]}", COUNTY_ID, Role.DEPARTMENT_REVIEWER, department, head=head
    )


def resident_id(first17: str = "43042419900101123") -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return (
        first17
        + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=False)) % 11]
    )


def accepted_case(
    node: ThisNode,
    code: str,
    *,
    accepted_on: str = "2026-11-02",
    commitment: bool = False,
    state: str = "accepted",
) -> str:
    """File (and accept) a case by appending the contract's events directly."""
    with transaction(node.engine) as session:
        matter = get_published(session, code).to_matter()
        case_no = f"{node.node_id}-{accepted_on.replace('-', '')}-{next(_serial):04d}"
        node.append(
            session,
            case_subject(case_no),
            "case.filed",
            case_filed_body(
                session,
                code,
                case_no,
                origin=node.node_id,
                applicant={
                    "kind": "person",
                    "name": "张三",
                    "id_number": resident_id(),
                    "phone": "13800000000",
                },
                filed_on=accepted_on,
                commitment=commitment,
            ),
        )
        if state == "filed":
            return case_no
        if matter.case_type.value == "1":
            departments = []
        elif node.tier == "township":
            departments = ["乡镇审批"]
        else:
            departments = matter.departments
        deadline = add_working_days(
            session, date.fromisoformat(accepted_on), matter.promised_limit_days
        )
        node.append(
            session,
            case_subject(case_no),
            "case.accepted",
            {
                "accepted_on": accepted_on,
                "window": matter.window.value,
                "limit_days": matter.promised_limit_days,
                "deadline": deadline.isoformat(),
                "accepted_by": "clerk",
                "tasks": [
                    {"task_id": f"{case_no}/review/{n}", "department": d, "lead": n == 1}
                    for n, d in enumerate(departments, start=1)
                ],
            },
        )
    return case_no


def act(node: ThisNode, action: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one action in its own transaction (as a request would)."""
    with transaction(node.engine) as session:
        return action(session, node, *args, **kwargs)


def case_of(node: ThisNode, case_no: str) -> Any:
    with transaction(node.engine) as session:
        return load_case(session, case_no)


def tasks_of(node: ThisNode, actor: Actor, state: str = "open") -> list[CaseTask]:
    with transaction(node.engine) as session:
        return review.tasks_for(session, actor, state=state)


def on_day(monkeypatch: pytest.MonkeyPatch, day: str) -> None:
    monkeypatch.setattr(review, "today_on", lambda node: day)


@pytest.fixture
def county(root_node: ThisNode, tree: dict) -> ThisNode:
    system = Actor.node_system(root_node.node_id)
    with transaction(root_node.engine) as session:
        publish_sample(session, root_node, system)
    return root_node


def member_node(county: ThisNode, tree: dict, node_id: str, tier: str) -> ThisNode:
    settings = county.settings.model_copy(update={"node_id": node_id, "tier": tier})
    return replace(county, settings=settings, key=tree[node_id])


# -- parallel approval ---------------------------------------------------------------


def test_parallel_approval_with_three_departments(county: ThisNode):
    case_no = accepted_case(county, COMPANY)
    lead, police, tax = reviewer(SCJG), reviewer(GA), reviewer(SW)
    for actor in (lead, police, tax):
        mine = tasks_of(county, actor)
        assert [t.department for t in mine] == [actor.department]  # only its own task
    assert tasks_of(county, reviewer("衡东县民政局")) == []
    police_task = tasks_of(county, police)[0].task_id

    with pytest.raises(Conflict) as pending:
        act(county, review.decide_case, lead, case_no, "approved", None)
    assert pending.value.code == "case.opinions_pending" and GA in pending.value.message
    with pytest.raises(Forbidden) as other:
        act(county, review.record_opinion, tax, case_no, police_task, "agree", None)
    assert (other.value.code, other.value.field) == ("case.not_your_department", "task_id")
    with pytest.raises(Forbidden) as clerk:
        act(county, review.record_opinion, CLERK, case_no, police_task, "agree", None)
    assert clerk.value.code == "auth.role"

    act(county, review.record_opinion, lead, case_no, "review/1", "agree", "材料齐全")
    act(county, review.record_opinion, police, case_no, police_task, "agree", None)
    with pytest.raises(Conflict) as still:
        act(county, review.decide_case, lead, case_no, "approved", None)
    assert SW in still.value.message and GA not in still.value.message
    act(county, review.record_opinion, tax, case_no, f"{case_no}/review/3", "agree", None)
    with pytest.raises(Forbidden) as not_lead:
        act(county, review.decide_case, police, case_no, "approved", None)
    assert not_lead.value.code == "case.not_lead_department"

    event = act(county, review.decide_case, lead, case_no, "approved", None)
    case = case_of(county, case_no)
    assert (case.state, case.decision, case.decided_on) == (
        "approved",
        "approved",
        event.body["decided_on"],
    )
    assert case.licence_id and case.licence_id.startswith("1.2.156.3005.2.YYZZ.")
    assert event.body["licence_id"] == case.licence_id and event.body["verification"] is None
    assert tasks_of(county, police) == []
    assert [t.opinion for t in tasks_of(county, police, "done")] == ["agree"]
    with pytest.raises(Conflict) as late:
        act(county, review.record_opinion, lead, case_no, "review/1", "agree", None)
    assert late.value.code == "case.illegal_transition"


def test_a_disagreement_needs_a_comment_and_overruling_it_a_reason(county: ThisNode):
    case_no = accepted_case(county, COMPANY)
    with pytest.raises(DomainError) as bare:
        act(county, review.record_opinion, reviewer(GA), case_no, "review/2", "disagree", " ")
    assert (bare.value.code, bare.value.field) == ("case.comment_required", "comment")
    with pytest.raises(DomainError) as bad:
        act(county, review.record_opinion, reviewer(GA), case_no, "review/2", "maybe", None)
    assert bad.value.field == "opinion"
    act(
        county,
        review.record_opinion,
        reviewer(GA),
        case_no,
        "review/2",
        "disagree",
        "经营场所存在安全隐患",
    )
    with pytest.raises(Conflict) as twice:
        act(county, review.record_opinion, reviewer(GA), case_no, "review/2", "agree", None)
    assert twice.value.code == "case.task_done"
    for task, dept in (("review/1", SCJG), ("review/3", SW)):
        act(county, review.record_opinion, reviewer(dept), case_no, task, "agree", None)
    with pytest.raises(DomainError) as reason:
        act(county, review.decide_case, reviewer(SCJG), case_no, "approved", "")
    assert reason.value.field == "reason"
    act(
        county,
        review.decide_case,
        reviewer(SCJG),
        case_no,
        "rejected",
        "公安部门意见：场所不符合要求",
    )
    case = case_of(county, case_no)
    assert (case.state, case.licence_id, case.decision_reason) == (
        "rejected",
        None,
        "公安部门意见：场所不符合要求",
    )


def test_unknown_tasks_and_cases_are_not_found(county: ThisNode):
    case_no = accepted_case(county, COMPANY)
    with pytest.raises(NotFound) as task:
        act(county, review.record_opinion, reviewer(SCJG), case_no, "review/9", "agree", None)
    assert task.value.field == "task_id"
    with pytest.raises(NotFound) as case:
        act(
            county,
            review.decide_case,
            reviewer(SCJG),
            "430424000000-20260101-9999",
            "approved",
            None,
        )
    assert case.value.code == "case.not_found"


# -- 一审一核 and 即办件 --------------------------------------------------------------------


def test_one_review_one_approval_needs_two_people_at_the_county(county: ThisNode):
    case_no = accepted_case(county, DIBAO)
    first, second = reviewer("衡东县民政局", "shen"), reviewer("衡东县民政局", "he")
    act(county, review.record_opinion, first, case_no, "review/1", "agree", "家庭收入低于低保标准")
    with pytest.raises(Forbidden) as same:
        act(county, review.decide_case, first, case_no, "approved", None)
    assert (same.value.code, same.value.field) == ("case.same_reviewer", "decided_by")
    with pytest.raises(DomainError) as reason:
        act(county, review.decide_case, second, case_no, "rejected", None)
    assert (reason.value.code, reason.value.field) == ("case.reason_required", "reason")
    act(county, review.decide_case, second, case_no, "approved", None)
    case = case_of(county, case_no)
    assert (case.state, case.licence_id) == ("approved", None)  # no licence for this matter


def test_one_review_one_approval_at_a_township(county: ThisNode, tree: dict):
    township = member_node(county, tree, TOWNSHIP_ID, "township")
    clerk = Actor("tclerk", TOWNSHIP_ID, Role.TOWNSHIP_CLERK)
    approver = Actor("approver", TOWNSHIP_ID, Role.TOWNSHIP_APPROVER)
    case_no = accepted_case(township, TOWNSHIP_2A)
    assert [t.department for t in tasks_of(township, clerk)] == ["乡镇审批"]
    assert tasks_of(county, reviewer(SCJG)) == []  # a county department never sees it
    with pytest.raises(Forbidden):
        act(
            township,
            review.record_opinion,
            reviewer("衡东县霞流镇人民政府"),
            case_no,
            "review/1",
            "agree",
            None,
        )
    act(township, review.record_opinion, clerk, case_no, "review/1", "agree", "符合条件")
    with pytest.raises(Forbidden) as clerk_decides:
        act(township, review.decide_case, clerk, case_no, "approved", None)
    assert clerk_decides.value.code == "auth.role"
    act(township, review.decide_case, approver, case_no, "approved", None)
    assert case_of(township, case_no).state == "approved"

    other = accepted_case(township, TOWNSHIP_2A)
    act(township, review.record_opinion, approver, other, "review/1", "agree", None)
    with pytest.raises(Forbidden) as same:
        act(township, review.decide_case, approver, other, "approved", None)
    assert same.value.code == "case.same_reviewer"
    with pytest.raises(Forbidden) as custody:  # the county does not hold the township's case
        act(county, review.decide_case, reviewer(SCJG), other, "approved", None)
    assert custody.value.code == "case.not_custodian"


def test_an_immediate_case_is_decided_on_the_spot_by_the_window(county: ThisNode):
    case_no = accepted_case(county, SOLE_TRADER)
    with pytest.raises(Forbidden):
        act(county, review.decide_case, reviewer(SCJG), case_no, "approved", None)
    with pytest.raises(Forbidden):
        act(
            county,
            review.decide_case,
            Actor("agent", COUNTY_ID, Role.VILLAGE_AGENT),
            case_no,
            "approved",
            None,
        )
    act(county, review.decide_case, CLERK, case_no, "approved", None)
    case = case_of(county, case_no)
    assert case.state == "approved" and case.licence_id.startswith("1.2.156.3005.2.GTGSHYYZZ.")


def test_a_village_agent_decides_only_a_village_immediate_case(county: ThisNode, tree: dict):
    village = member_node(county, tree, VILLAGE_ID, "village")
    agent = Actor("agent", VILLAGE_ID, Role.VILLAGE_AGENT)
    case_no = accepted_case(village, VILLAGE_NOW)
    act(village, review.decide_case, agent, case_no, "approved", None)
    assert case_of(village, case_no).state == "approved"
    county_matter = accepted_case(village, SOLE_TRADER)  # a county matter held at a village
    with pytest.raises(Conflict) as level:
        act(village, review.decide_case, agent, county_matter, "approved", None)
    assert level.value.code == "case.wrong_level"
    with pytest.raises(Forbidden) as township_clerk:
        act(
            village,
            review.decide_case,
            Actor("t", VILLAGE_ID, Role.TOWNSHIP_CLERK),
            accepted_case(village, VILLAGE_NOW),
            "approved",
            None,
        )
    assert township_clerk.value.code == "auth.role"


# -- special procedures and extensions -------------------------------------------------


def test_a_special_procedure_pauses_the_clock_and_moves_the_deadline(county: ThisNode, monkeypatch):
    case_no = accepted_case(county, INVESTMENT, accepted_on="2026-11-02")  # Monday, 10 days
    lead = reviewer("衡东县发展和改革局")
    assert case_of(county, case_no).deadline == "2026-11-16"
    on_day(monkeypatch, "2026-11-04")
    with pytest.raises(DomainError) as mismatch:
        act(county, review.start_special_procedure, lead, case_no, 1, "hearing", "听证")
    assert mismatch.value.field == "subkind"
    with pytest.raises(DomainError) as no_reason:
        act(county, review.start_special_procedure, lead, case_no, 2, "hearing", "")
    assert no_reason.value.field == "reason"
    with pytest.raises(Forbidden):
        act(county, review.start_special_procedure, reviewer(SCJG), case_no, 2, "hearing", "听证")
    # Any department taking part may start one, not only the lead.
    event = act(
        county,
        review.start_special_procedure,
        reviewer("衡东县自然资源局"),
        case_no,
        2,
        "expert_review",
        "组织专家评审用地方案",
    )
    assert event.body == {
        "seq": 1,
        "kind": 2,
        "subkind": "expert_review",
        "reason": "组织专家评审用地方案",
        "started_on": "2026-11-04",
    }
    assert case_of(county, case_no).state == "special"
    with pytest.raises(Conflict) as second:
        act(county, review.start_special_procedure, lead, case_no, 2, "test", "检测")
    assert second.value.code == "case.special_open"
    with pytest.raises(Conflict) as paused:
        act(county, review.record_opinion, lead, case_no, "review/1", "agree", None)
    assert paused.value.code == "case.illegal_transition"
    with transaction(county.engine) as session:
        view = review.case_clock(session, case_no, "2026-11-10")
    assert (view.status, view.days_used, view.days_left) == ("paused", 2, 8)

    on_day(monkeypatch, "2026-11-11")
    ended = act(county, review.end_special_procedure, lead, case_no, 1, "专家评审通过")
    assert (ended.body["paused_days"], ended.body["deadline"]) == (5, "2026-11-23")
    case = case_of(county, case_no)
    assert (case.state, case.deadline) == ("accepted", "2026-11-23")
    with transaction(county.engine) as session:
        view = review.case_clock(session, case_no, date(2026, 11, 12))
        row = session.get(SpecialProcedure, (case_no, 1))
        assert (row.ended_on, row.result, row.paused_days) == ("2026-11-11", "专家评审通过", 5)
    assert (view.status, view.days_used, view.days_left, view.paused_days) == ("normal", 3, 7, 5)
    with pytest.raises(Conflict) as again:
        act(county, review.end_special_procedure, lead, case_no, 1, "重复")
    assert again.value.code == "case.special_ended"
    with pytest.raises(NotFound) as missing:
        act(county, review.end_special_procedure, lead, case_no, 7, "无")
    assert missing.value.field == "seq"


def test_extension_limits_for_one_and_several_departments(county: ThisNode, monkeypatch):
    on_day(monkeypatch, "2026-11-05")
    single = accepted_case(county, PHARMACY)  # 5 days from 2026-11-02
    with pytest.raises(DomainError) as too_long:
        act(county, review.approve_extension, reviewer(SCJG), single, 11, "现场核查")
    assert (too_long.value.code, too_long.value.field) == ("case.extension_too_long", "days")
    with pytest.raises(Forbidden):
        act(county, review.approve_extension, reviewer(GA), single, 5, "现场核查")
    before = case_of(county, single).deadline
    event = act(county, review.approve_extension, reviewer(SCJG), single, 6, "需现场核查经营场所")
    case = case_of(county, single)
    assert (case.extension_days, event.body["on"]) == (6, "2026-11-05")
    with transaction(county.engine) as session:
        assert case.deadline == add_working_days(session, date.fromisoformat(before), 6).isoformat()
    with pytest.raises(DomainError):
        act(county, review.approve_extension, reviewer(SCJG), single, 5, "再次延长")  # 6 + 5 > 10
    act(county, review.approve_extension, reviewer(SCJG), single, 4, "再次延长")
    assert case_of(county, single).extension_days == 10

    joint = accepted_case(county, INVESTMENT)
    lead = reviewer("衡东县发展和改革局")
    with pytest.raises(DomainError):
        act(county, review.approve_extension, lead, joint, 16, "联合审查")
    act(county, review.start_special_procedure, lead, joint, 1, "extension", "申请延长审批期限")
    act(county, review.approve_extension, lead, joint, 15, "联合审查")  # allowed while requested
    with transaction(county.engine) as session:
        assert session.get(SpecialProcedure, (joint, 1)).extension_days == 15
        assert (
            review.case_clock(session, joint, "2026-11-06").status == "normal"
        )  # a request does not pause
    ended = act(county, review.end_special_procedure, lead, joint, 1, "准予延长15个工作日")
    assert ended.body["paused_days"] == 0

    with pytest.raises(DomainError) as immediate:
        act(
            county,
            review.approve_extension,
            reviewer(SCJG),
            accepted_case(county, SOLE_TRADER),
            1,
            "x",
        )
    assert immediate.value.code == "case.extension_not_applicable"
    with pytest.raises(DomainError) as zero:
        act(
            county,
            review.approve_extension,
            reviewer(SCJG),
            accepted_case(county, PHARMACY),
            0,
            "x",
        )
    assert zero.value.field == "days"


# -- 告知承诺 verification ---------------------------------------------------------------


def test_a_failed_commitment_verification_revokes_the_licence(county: ThisNode, monkeypatch):
    case_no = accepted_case(county, FOOD, commitment=True)
    lead = reviewer(SCJG)
    act(county, review.record_opinion, lead, case_no, "review/1", "agree", "按承诺先行审批")
    on_day(monkeypatch, "2026-11-27")
    decided = act(county, review.decide_case, lead, case_no, "approved", None)
    licence_id = decided.body["licence_id"]
    assert licence_id.startswith("1.2.156.3005.2.SPJYXKZ.")
    verification = decided.body["verification"]
    with transaction(county.engine) as session:
        due = add_working_days(session, date(2026, 11, 27), review.VERIFICATION_DAYS).isoformat()
    assert verification == {
        "task_id": f"{case_no}/verification/1",
        "department": SCJG,
        "due_on": due,
    }
    assert [(t.kind, t.due_on) for t in tasks_of(county, lead)] == [("verification", due)]

    with pytest.raises(Forbidden):
        act(county, review.record_verification, reviewer(GA), case_no, None, False, "不符")
    with pytest.raises(DomainError) as no_comment:
        act(county, review.record_verification, lead, case_no, None, False, "")
    assert no_comment.value.field == "comment"
    event = act(
        county,
        review.record_verification,
        lead,
        case_no,
        "verification/1",
        False,
        "现场核查：未按承诺提交健康证明",
    )
    assert event.body["revoked_licence"] == licence_id
    case = case_of(county, case_no)
    assert (case.state, case.result_revoked, case.licence_id) == ("approved", True, licence_id)
    from common.licences.service import get_licence

    with transaction(county.engine) as session:
        assert get_licence(session, licence_id).state == "revoked"
        task = session.get(CaseTask, f"{case_no}/verification/1")
        assert (task.state, task.opinion, task.done_by) == ("done", "failed", lead.username)
    with pytest.raises(Conflict) as twice:
        act(county, review.record_verification, lead, case_no, None, True, None)
    assert twice.value.code == "case.task_done"


def test_a_passed_verification_keeps_the_result_and_the_period_is_configurable(county: ThisNode):
    case_no = accepted_case(county, FOOD, commitment=True)
    act(county, review.record_opinion, reviewer(SCJG), case_no, "review/1", "agree", None)
    decided = act(
        county, review.decide_case, reviewer(SCJG), case_no, "approved", None, verification_days=5
    )
    with transaction(county.engine) as session:
        due = add_working_days(
            session, date.fromisoformat(decided.body["decided_on"]), 5
        ).isoformat()
    assert decided.body["verification"]["due_on"] == due
    act(county, review.record_verification, reviewer(SCJG), case_no, None, True, None)
    case = case_of(county, case_no)
    assert (case.result_revoked, case.state) == (False, "approved")
    plain = accepted_case(county, FOOD)  # filed without commitment: no verification task
    act(county, review.record_opinion, reviewer(SCJG), plain, "review/1", "agree", None)
    assert (
        act(county, review.decide_case, reviewer(SCJG), plain, "approved", None).body[
            "verification"
        ]
        is None
    )


# -- illegal moves and rebuild ---------------------------------------------------------


def test_illegal_transitions_are_refused_with_409(county: ThisNode):
    filed = accepted_case(county, PHARMACY, state="filed")
    lead = reviewer(SCJG)
    for action, args in (
        (review.decide_case, ("approved", None)),
        (review.approve_extension, (5, "x")),
        (review.start_special_procedure, (2, "test", "检测")),
    ):
        with pytest.raises(Conflict) as refused:
            act(county, action, lead, filed, *args)
        assert (refused.value.code, refused.value.status_code, refused.value.field) == (
            "case.illegal_transition",
            409,
            "state",
        )
    running = accepted_case(county, PHARMACY)
    with pytest.raises(Conflict):
        act(county, review.record_verification, lead, running, None, True, None)
    act(county, review.record_opinion, lead, running, "review/1", "agree", None)
    act(county, review.decide_case, lead, running, "rejected", "不符合设置规划")
    for action, args in (
        (review.decide_case, ("approved", None)),
        (review.approve_extension, (1, "x")),
        (review.start_special_procedure, (2, "test", "检测")),
    ):
        with pytest.raises(Conflict):
            act(county, action, lead, running, *args)
    with pytest.raises(Conflict):  # only an approval is verified
        act(county, review.record_verification, lead, running, None, True, None)


def test_the_review_projection_rebuilds_identically(county: ThisNode, monkeypatch):
    case_no = accepted_case(county, INVESTMENT)
    lead = reviewer("衡东县发展和改革局")
    on_day(monkeypatch, "2026-11-04")
    act(county, review.start_special_procedure, lead, case_no, 2, "hearing", "听证")
    on_day(monkeypatch, "2026-11-09")
    act(county, review.end_special_procedure, lead, case_no, 1, "听证结束")
    act(county, review.approve_extension, lead, case_no, 3, "补充论证")
    for n, dept in enumerate(
        [
            "衡东县发展和改革局",
            "衡东县自然资源局",
            "衡阳市生态环境局衡东分局",
            "衡东县住房和城乡建设局",
        ],
        1,
    ):
        act(county, review.record_opinion, reviewer(dept), case_no, f"review/{n}", "agree", None)
    act(county, review.decide_case, lead, case_no, "approved", None)
    food = accepted_case(county, FOOD, commitment=True)
    act(county, review.record_opinion, reviewer(SCJG), food, "review/1", "agree", None)
    act(county, review.decide_case, reviewer(SCJG), food, "approved", None)
    act(county, review.record_verification, reviewer(SCJG), food, None, False, "核查不通过")
    with transaction(county.engine) as session:
        before = snapshot(session)
        clear_projections(session)
        for raw in list(iter_events(session)):
            apply_event(session, parse_event(county.network_id, raw))
        assert snapshot(session) == before
    case = case_of(county, case_no)
    assert (case.extension_days, case.deadline, case.state) == (3, "2026-11-24", "approved")


# -- only the law's special procedures (issue 13) --------------------------------------
# §45 leaves out of the limit exactly 听证、招标、拍卖、检验、检测、检疫、鉴定、专家评审;
# 现场勘查 (§34 on-site verification) and "other" count. Events of those two already in a
# ledger (signed by older software) still project, rebuild and verify.

LAND_LEAD = reviewer("衡东县发展和改革局")  # INVESTMENT's lead department (10 working days)


def test_the_special_procedure_kinds_are_exactly_the_law_s():
    labels = [SPECIAL_KINDS[code].label for code in SECTION_45_SUBKINDS]
    assert labels == ["听证", "招标", "拍卖", "检验", "检测", "检疫", "鉴定", "专家评审"]
    assert {SPECIAL_KINDS[code].basis for code in SECTION_45_SUBKINDS} == {
        "《中华人民共和国行政许可法》第四十五条"
    }
    assert list(review.OFFERED_SUBKINDS) == ["extension", *SECTION_45_SUBKINDS]
    assert not {"inspection", "other"} & set(STARTABLE_SUBKINDS)
    # The type the review router's request model takes says the same.
    assert get_args(review.SpecialSubkind) == STARTABLE_SUBKINDS


@pytest.mark.parametrize("subkind", ["inspection", "other"])
def test_a_retired_kind_is_refused_naming_the_field(county: ThisNode, monkeypatch, subkind):
    case_no = accepted_case(county, INVESTMENT)
    on_day(monkeypatch, "2026-11-04")
    with pytest.raises(DomainError) as refused:
        act(county, review.start_special_procedure, LAND_LEAD, case_no, 2, subkind, "现场勘查")
    error = refused.value
    assert (error.code, error.field, error.status_code) == (
        "case.subkind_not_statutory",
        "subkind",
        400,
    )
    assert "第四十五条" in error.message and "计入办理时限" in error.message
    with transaction(county.engine) as session:  # nothing written
        assert load_case(session, case_no).state == "accepted"
        assert session.get(SpecialProcedure, (case_no, 1)) is None


@pytest.mark.parametrize("subkind", SECTION_45_SUBKINDS)
def test_each_of_the_eight_kinds_of_section_45_pauses_the_clock(
    county: ThisNode, monkeypatch, subkind
):
    case_no = accepted_case(county, INVESTMENT, accepted_on="2026-11-02")  # deadline 11-16
    on_day(monkeypatch, "2026-11-04")
    act(county, review.start_special_procedure, LAND_LEAD, case_no, 2, subkind, "依法组织")
    with transaction(county.engine) as session:
        view = review.case_clock(session, case_no, "2026-11-10")
    assert (view.status, view.days_used) == ("paused", 2)
    on_day(monkeypatch, "2026-11-11")
    ended = act(county, review.end_special_procedure, LAND_LEAD, case_no, 1, "已完成")
    assert (ended.body["paused_days"], ended.body["deadline"]) == (5, "2026-11-23")


def _started_by_old_software(node: ThisNode, case_no: str, subkind: str, on: str) -> None:
    """The event an older node wrote for a 现场勘查 / other procedure (signed, immutable)."""
    body = {"seq": 1, "kind": 2, "subkind": subkind, "reason": "现场勘查", "started_on": on}
    with transaction(node.engine) as session:
        append_case_event(session, node, load_case(session, case_no), "case.special_started", body)


def test_an_open_retired_kind_in_the_ledger_no_longer_stops_the_clock(
    county: ThisNode, monkeypatch
):
    case_no = accepted_case(county, INVESTMENT, accepted_on="2026-11-02")
    _started_by_old_software(county, case_no, "inspection", "2026-11-04")
    assert case_of(county, case_no).state == "special"  # it still projects
    with transaction(county.engine) as session:
        view = review.case_clock(session, case_no, "2026-11-10")
    assert (view.status, view.days_used, view.paused_days) == ("normal", 6, 0)
    on_day(monkeypatch, "2026-11-11")
    ended = act(county, review.end_special_procedure, LAND_LEAD, case_no, 1, "勘查完毕")
    assert (ended.body["paused_days"], ended.body["deadline"]) == (0, "2026-11-16")
    assert case_of(county, case_no).deadline == "2026-11-16"


def test_retired_kind_events_in_a_ledger_rebuild_and_verify(county: ThisNode):
    ended_before = accepted_case(county, INVESTMENT, accepted_on="2026-11-02")
    _started_by_old_software(county, ended_before, "other", "2026-11-04")
    ended = {
        "seq": 1,
        "ended_on": "2026-11-11",
        "result": "完成",
        "paused_days": 5,  # what older software recorded
        "deadline": "2026-11-23",
    }
    with transaction(county.engine) as session:
        case = load_case(session, ended_before)
        append_case_event(session, county, case, "case.special_ended", ended)
    still_open = accepted_case(county, PHARMACY, accepted_on="2026-11-02")
    _started_by_old_software(county, still_open, "inspection", "2026-11-03")
    with transaction(county.engine) as session:
        before = snapshot(session)
        clear_projections(session)
        for raw in list(iter_events(session)):
            apply_event(session, parse_event(county.network_id, raw))
        assert snapshot(session) == before
    with transaction(county.engine) as session:
        report = verify_node(session, county)
        assert report.ok, report.summary()
        # What was signed stands: the recorded days and the moved deadline agree.
        view = review.case_clock(session, ended_before, "2026-11-12")
    assert (view.paused_days, view.deadline) == (5, date(2026, 11, 23))


def test_only_the_head_of_the_organ_approves_an_extension(county: ThisNode, monkeypatch):
    """行政许可法 §42: 经本行政机关负责人批准. The lead department's reviewer who is not its
    head is refused; its head approves."""
    on_day(monkeypatch, "2026-11-05")
    case_no = accepted_case(county, PHARMACY)
    with pytest.raises(DomainError) as refused:
        act(
            county,
            review.approve_extension,
            reviewer(SCJG, "clerk-reviewer", head=False),
            case_no,
            2,
            "现场核查",
        )
    assert (refused.value.code, refused.value.field) == ("case.not_organ_head", "role")
    event = act(county, review.approve_extension, reviewer(SCJG), case_no, 2, "现场核查")
    assert event.body["days"] == 2
