"""Intake action functions, continued: trips (跑动次数), delivery (送达), the reads
(lists, window queues, the masked case view) and a rebuild of the projection."""

from __future__ import annotations

import json

import pytest

from common.cases.access import today_on
from common.cases.intake import service as intake
from common.cases.models import CaseVisit
from common.cases.review.service import decide_case
from common.db import transaction
from common.errors import Conflict, DomainError, Forbidden
from common.ledger.envelope import parse_event
from common.ledger.projection import apply_event, clear_projections, iter_events, snapshot

# -- trips and delivery --------------------------------------------------------------


def test_trips_count_only_the_applicants_own_visits(village, actors, k):
    agent = actors["agent"]
    case_no = k.file(
        village,
        agent,
        k.VILLAGE_PENSION,
        visit={"who": "applicant", "place": "示例村代办点", "purpose": "提交申请"},
    )
    assert (k.case(village, case_no).visits, k.case(village, case_no).over_visit_limit) == (
        1,
        False,
    )
    journey = k.do(
        village,
        intake.record_visit,
        agent,
        case_no,
        who="agent",
        place="洣水镇便民服务中心",
        purpose="代为递交材料",
    )
    assert (journey.seq, journey.counts) == (2, False)
    assert k.case(village, case_no).visits == 1
    again = k.do(
        village,
        intake.record_visit,
        agent,
        case_no,
        who="applicant",
        place="示例村代办点",
        purpose="补交户口簿",
    )
    case = k.case(village, case_no)
    assert (again.seq, again.counts, case.visits, case.over_visit_limit) == (3, True, 2, True)
    assert case.over_limit_reason == "跑动次数超过承诺的1次：第2次到现场（原因：补交户口簿）"
    with pytest.raises(Forbidden):
        k.do(
            village,
            intake.record_visit,
            actors["auditor"],
            case_no,
            who="applicant",
            place="x",
            purpose="y",
        )
    with pytest.raises(DomainError) as who:
        k.do(village, intake.record_visit, agent, case_no, who="neighbour", place="x", purpose="y")
    assert who.value.field == "visit.who"


def test_an_in_person_filing_of_a_zero_visit_matter_is_over_the_limit(village, actors, k):
    case_no = k.file(
        village,
        actors["agent"],
        k.VILLAGE_ELDERLY,
        visit={"who": "applicant", "place": "示例村代办点", "purpose": "提交申请"},
    )
    case = k.case(village, case_no)
    assert (case.visits, case.over_visit_limit) == (1, True)
    assert case.over_limit_reason == "跑动次数超过承诺的0次：第1次到现场（原因：提交申请）"
    agent_only = k.file(
        village,
        actors["agent"],
        k.VILLAGE_ELDERLY,
        visit={"who": "agent", "place": "申请人家中", "purpose": "上门收件"},
    )
    assert (k.case(village, agent_only).visits, k.case(village, agent_only).over_visit_limit) == (
        0,
        False,
    )


def _decided(node, actor, k, stored_pdf, **fields):
    case_no = k.file(
        node,
        actor,
        fields.pop("matter", k.SOLE_TRADER),
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(3)],
        **fields,
    )
    k.do(node, intake.accept_case, actor, case_no)
    k.do(node, decide_case, actor, case_no, "approved", None)
    return case_no


def test_window_pickup_on_another_day_is_a_trip(published, actors, k, stored_pdf):
    clerk = actors["clerk"]
    case_no = _decided(published, clerk, k, stored_pdf)  # filed with nobody recorded in person
    with pytest.raises(DomainError) as courier:
        k.do(published, intake.deliver_case, clerk, case_no, "courier")
    assert courier.value.field == "tracking_no"
    with pytest.raises(Forbidden):
        k.do(published, intake.deliver_case, clerk, case_no, "agent")
    case = k.do(published, intake.deliver_case, clerk, case_no, "window")
    assert (case.state, case.delivery_method, case.delivered_on, case.visits) == (
        "delivered",
        "window",
        today_on(published),
        1,
    )
    with transaction(published.engine) as session:
        visit = session.get(CaseVisit, (case_no, 1))
    assert (visit.who, visit.purpose, visit.counts) == ("applicant", "领取办理结果", True)
    with pytest.raises(Conflict) as closed:
        k.do(published, intake.deliver_case, clerk, case_no, "electronic")
    assert closed.value.code == "case.illegal_transition"


def test_an_immediate_case_handed_over_during_the_filing_visit_is_one_trip(
    published, actors, k, stored_pdf
):
    case_no = _decided(
        published,
        actors["clerk"],
        k,
        stored_pdf,
        visit={"who": "applicant", "place": "县政务服务中心", "purpose": "申请并当场领取"},
    )
    case = k.do(published, intake.deliver_case, actors["clerk"], case_no, "window")
    assert (case.visits, case.over_visit_limit) == (1, False)
    courier = _decided(published, actors["clerk"], k, stored_pdf)
    case = k.do(
        published, intake.deliver_case, actors["clerk"], courier, "courier", "SF1234567890", "张三"
    )
    assert (case.delivery_method, case.tracking_no, case.visits) == ("courier", "SF1234567890", 0)


def test_agent_delivery_only_at_the_origin_village(village, actors, k, stored_pdf):
    case_no = k.file(
        village,
        actors["agent"],
        k.VILLAGE_PENSION,
        materials=[{"position": 0, "blob_sha256": stored_pdf}],
    )
    k.do(village, intake.accept_case, actors["agent"], case_no)
    k.do(village, decide_case, actors["agent"], case_no, "approved", None)
    case = k.do(village, intake.deliver_case, actors["agent"], case_no, "agent")
    assert (case.state, case.delivery_method, case.visits) == ("delivered", "agent", 0)


# -- reads and rebuild ---------------------------------------------------------------


def test_lists_queues_and_the_view_mask_the_identity_number(
    published, township, actors, k, stored_pdf
):
    first = k.file(published, actors["clerk"])
    second = k.file(published, actors["clerk"], k.SOLE_TRADER)
    accepted = k.file(
        published,
        actors["clerk"],
        commitment=True,
        materials=[{"position": 0, "blob_sha256": stored_pdf}],
    )
    k.do(published, intake.accept_case, actors["clerk"], accepted)
    at_township = k.file(township, actors["tclerk"], k.MINIMUM_LIVING)
    with transaction(published.engine) as session:
        queue = [c.case_no for c in intake.window_queue(session, published, "business")]
        assert queue == [first, second]  # oldest first; accepted and other nodes' cases left out
        assert [c.case_no for c in intake.list_cases(session, state="accepted")] == [accepted]
        assert [c.case_no for c in intake.list_cases(session, origin=township.node_id)] == [
            at_township
        ]
        view = intake.get_case_view(session, first, today_on(published))
    assert k.PERSON_ID not in json.dumps(view, ensure_ascii=False)
    assert (
        view["applicant"]["id_masked"]
        == view["applicant_id_masked"]
        == k.PERSON_ID[:4] + "*" * 10 + k.PERSON_ID[-4:]
    )
    assert (view["state_label"], view["clock"]["status"]) == ("已申请", "not_started")


def test_projection_rebuild_gives_identical_rows(published, village, actors, k, stored_pdf):
    clerk = actors["clerk"]
    _decided(
        published,
        clerk,
        k,
        stored_pdf,
        visit={"who": "applicant", "place": "县中心", "purpose": "申请"},
    )
    noticed = k.file(published, clerk, k.SOLE_TRADER)
    k.do(
        published,
        intake.request_supplement,
        clerk,
        noticed,
        [
            "申请人居民身份证",
            "个体工商户登记（备案）申请书",
            "经营场所使用证明（产权证明或租赁协议）",
        ],
    )
    k.do(
        published,
        intake.receive_supplement,
        clerk,
        noticed,
        [{"position": 0, "blob_sha256": stored_pdf}],
    )
    k.do(
        published,
        intake.request_supplement,
        clerk,
        noticed,
        ["申请人居民身份证", "经营场所使用证明（产权证明或租赁协议）"],
    )
    k.do(published, intake.refuse_case, clerk, k.file(published, clerk), "不符合受理条件")
    v = k.file(
        village,
        actors["agent"],
        k.VILLAGE_PENSION,
        visit={"who": "applicant", "place": "村", "purpose": "申请"},
    )
    k.do(
        village,
        intake.record_visit,
        actors["agent"],
        v,
        who="applicant",
        place="村",
        purpose="再来一次",
    )
    k.do(village, intake.withdraw_case, actors["agent"], v, "不办了")
    with transaction(published.engine) as session:
        before = snapshot(session)
        clear_projections(session)
        for raw in iter_events(session):
            apply_event(session, parse_event(published.network_id, raw))
        assert snapshot(session) == before
        session.rollback()
