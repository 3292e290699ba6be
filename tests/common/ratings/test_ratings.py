"""好差评: five levels after delivery, one rating per case, rectification of bad ratings
with a working-day deadline, and the call-back a real-name bad rating needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID
from sqlalchemy import select

from common.calendar.service import add_working_days
from common.cases.access import case_subject, today_on
from common.cases.models import Case
from common.catalog.sample import load_sample_matters
from common.catalog.service import catalogue_version, get_published, import_drafts, publish_batch
from common.db import transaction
from common.errors import Conflict, DomainError, Forbidden, NotFound
from common.ledger.models import Event
from common.ledger.projection import snapshot
from common.ledger.rebuild import rebuild_projections
from common.node import ThisNode
from common.ratings.models import Rating, Rectification
from common.ratings.service import (
    RECTIFICATION_DAYS,
    close_rectification,
    rate_case,
    record_callback,
    rectifications_due,
)
from common.users.roles import Actor, Role

# 最低生活保障审批 (衡东县民政局): no licence, so a case is just events.
MATTER = "11430424006813635C4000504001001"
LEAD = "衡东县民政局"
CLERK = Actor(username="clerk", node_id=COUNTY_ID, role=Role.COUNTY_WINDOW_CLERK)
REVIEWER = Actor(
    username="minzheng", node_id=COUNTY_ID, role=Role.DEPARTMENT_REVIEWER, department=LEAD
)
OTHER_REVIEWER = Actor(
    username="shichang",
    node_id=COUNTY_ID,
    role=Role.DEPARTMENT_REVIEWER,
    department="衡东县市场监督管理局",
)
ADMIN = Actor(username="admin", node_id=COUNTY_ID, role=Role.COUNTY_ADMIN)


@pytest.fixture
def published(root_node: ThisNode) -> ThisNode:
    matters, batches = load_sample_matters()
    system = Actor.node_system(root_node.node_id)
    with transaction(root_node.engine) as session:
        import_drafts(
            session, root_node, system, [m for m in matters if m.implementation_code == MATTER]
        )
        publish_batch(
            session,
            root_node,
            system,
            name="测试批次",
            published_on=batches[0].published_on,
            codes=[MATTER],
        )
    return root_node


@pytest.fixture
def case(published: ThisNode) -> Callable[..., str]:
    """case(delivered=True) -> a case number, built from events in the contract's shape."""
    counter = iter(range(1, 10_000))

    def build(delivered: bool = True) -> str:
        case_no = f"{COUNTY_ID}-20260105-{next(counter):04d}"
        subject, today = case_subject(case_no), today_on(published)
        with transaction(published.engine) as session:
            matter = get_published(session, MATTER).to_matter()
            published.append(
                session,
                subject,
                "case.filed",
                {
                    "case_no": case_no,
                    "matter": {
                        "code": MATTER,
                        "name": matter.name,
                        "catalogue_version": catalogue_version(session),
                        "case_type": matter.case_type.value,
                        "handling_level": "county",
                        "window": matter.window.value,
                        "lead_department": LEAD,
                        "departments": [LEAD],
                        "required_visits": 1,
                        "limit_days": matter.promised_limit_days,
                        "commitment_allowed": False,
                    },
                    "applicant": {
                        "kind": "person",
                        "name": "张三",
                        "id_number": "430424199001011232",
                        "phone": None,
                    },
                    "agent": None,
                    "materials": [],
                    "commitment": False,
                    "filed_on": today,
                    "visit": None,
                    "origin_node": COUNTY_ID,
                },
            )
            published.append(
                session,
                subject,
                "case.accepted",
                {
                    "accepted_on": today,
                    "window": matter.window.value,
                    "limit_days": 20,
                    "deadline": today,
                    "accepted_by": "clerk",
                    "tasks": [],
                },
            )
            published.append(
                session,
                subject,
                "case.decided",
                {
                    "decision": "approved",
                    "reason": "",
                    "decided_on": today,
                    "decided_by": "minzheng",
                    "licence_id": None,
                    "verification": None,
                },
            )
            if delivered:
                published.append(
                    session,
                    subject,
                    "case.delivered",
                    {
                        "method": "window",
                        "tracking_no": None,
                        "receiver": "张三",
                        "delivered_on": today,
                    },
                )
        return case_no

    return build


def rate(
    node: ThisNode, case_no: str, level: int, *, real_name: bool = False, actor: Actor = CLERK
) -> None:
    with transaction(node.engine) as session:
        rate_case(session, node, actor, case_no, level, "窗口服务", real_name)


def test_good_and_neutral_ratings_are_recorded_without_a_task(published, case) -> None:
    for level, label in ((1, "非常满意"), (2, "满意"), (3, "基本满意")):
        case_no = case()
        rate(published, case_no, level)
        with transaction(published.engine) as session:
            rating = session.get(Rating, case_no)
            assert (rating.level, rating.label, rating.comment, rating.rated_on) == (
                level,
                label,
                "窗口服务",
                today_on(published),
            )
            row = session.get(Case, case_no)
            head = (
                session.execute(
                    select(Event.sseq)
                    .where(Event.subject == case_subject(case_no))
                    .order_by(Event.sseq.desc())
                )
                .scalars()
                .first()
            )
            assert (row.rating, row.version, row.state) == (level, head, "delivered")
            assert (
                session.execute(
                    select(Rectification).where(Rectification.case_no == case_no)
                ).first()
                is None
            )
    with transaction(published.engine) as session:
        with pytest.raises(DomainError) as err:
            rate_case(session, published, CLERK, case(), 6, "", False)
        assert (err.value.code, err.value.field) == ("rating.level", "level")


def test_a_bad_rating_opens_a_rectification_due_in_working_days(published, case) -> None:
    case_no = case()
    rate(published, case_no, 5)
    with transaction(published.engine) as session:
        task = session.get(Rectification, f"{case_no}/rectification/1")
        rated_on = date.fromisoformat(today_on(published))
        assert task.due_on == add_working_days(session, rated_on, RECTIFICATION_DAYS).isoformat()
        assert (task.state, task.callback_required, task.opened_on) == (
            "open",
            False,
            rated_on.isoformat(),
        )
        assert task.responsible_node == COUNTY_ID  # decided at the county, which works it too
        assert date.fromisoformat(task.due_on) - rated_on >= timedelta(days=RECTIFICATION_DAYS)
        assert session.get(Rating, case_no).label == "非常不满意"


def test_the_rectification_deadline_follows_the_node_setting(published, case) -> None:
    node = replace(
        published, settings=published.settings.model_copy(update={"rectification_days": 5})
    )
    case_no = case()
    rate(node, case_no, 4)
    with transaction(published.engine) as session:
        task = session.get(Rectification, f"{case_no}/rectification/1")
        assert (
            task.due_on
            == add_working_days(session, date.fromisoformat(task.opened_on), 5).isoformat()
        )


def test_a_real_name_bad_rating_needs_its_call_back_before_closing(published, case) -> None:
    case_no = case()
    rate(published, case_no, 4, real_name=True)
    task_id = f"{case_no}/rectification/1"
    with transaction(published.engine) as session:
        with pytest.raises(Conflict) as err:
            close_rectification(session, published, REVIEWER, task_id, "已整改")
        assert err.value.code == "rating.callback_required"
        with pytest.raises(Forbidden):
            record_callback(session, published, OTHER_REVIEWER, task_id, "已回访")
        with pytest.raises(Forbidden):
            record_callback(session, published, CLERK, task_id, "已回访")
        with pytest.raises(DomainError) as err:
            record_callback(session, published, REVIEWER, task_id, " ")
        assert err.value.field == "note"
        record_callback(session, published, REVIEWER, task_id, "电话回访，群众认可整改方案")
        with pytest.raises(Conflict):
            record_callback(session, published, REVIEWER, task_id, "再次回访")
        close_rectification(session, published, ADMIN, task_id, "已对窗口人员开展服务规范培训")
        with pytest.raises(Conflict) as err:
            close_rectification(session, published, ADMIN, task_id, "再次办结")
        assert err.value.code == "rectification.closed"
    with transaction(published.engine) as session:
        task = session.get(Rectification, task_id)
        assert (task.state, task.callback_done, task.callback_by, task.closed_by) == (
            "closed",
            True,
            "minzheng",
            "admin",
        )
        assert task.callback_note == "电话回访，群众认可整改方案" and task.closed_on == today_on(
            published
        )


def test_an_anonymous_bad_rating_is_closed_without_a_call_back(published, case) -> None:
    case_no = case()
    rate(published, case_no, 4)
    task_id = f"{case_no}/rectification/1"
    with transaction(published.engine) as session:
        with pytest.raises(Conflict) as err:
            record_callback(session, published, REVIEWER, task_id, "已回访")
        assert err.value.code == "rectification.anonymous"
        close_rectification(session, published, REVIEWER, task_id, "已整改")
        with pytest.raises(NotFound):
            close_rectification(session, published, REVIEWER, "no/such/task", "已整改")


def test_rating_before_delivery_a_second_rating_and_wrong_raters_are_refused(
    published, case, tree
) -> None:
    not_delivered, delivered = case(delivered=False), case()
    auditor = Actor(username="shenji", node_id=COUNTY_ID, role=Role.AUDITOR)
    settings = published.settings.model_copy(update={"node_id": TOWNSHIP_ID, "tier": "township"})
    township = replace(published, settings=settings, key=tree[TOWNSHIP_ID])
    township_clerk = Actor(username="xiangzhen", node_id=TOWNSHIP_ID, role=Role.TOWNSHIP_CLERK)
    with transaction(published.engine) as session:
        with pytest.raises(Conflict) as err:
            rate_case(session, published, CLERK, not_delivered, 1, "", False)
        assert (err.value.status_code, err.value.code) == (409, "case.illegal_transition")
        with pytest.raises(Conflict) as err:  # a bad one too: the state is checked first
            rate_case(session, published, CLERK, not_delivered, 5, "", True)
        assert (err.value.status_code, err.value.code) == (409, "case.illegal_transition")
        with pytest.raises(Forbidden):
            rate_case(session, published, auditor, delivered, 1, "", False)
        with pytest.raises(Forbidden) as err:
            rate_case(session, township, township_clerk, delivered, 1, "", False)
        assert err.value.code == "case.not_custodian"
        with pytest.raises(Forbidden) as err:
            rate_case(session, township, township_clerk, delivered, 4, "", False)
        assert err.value.code == "case.not_custodian"
    rate(published, delivered, 2)
    with transaction(published.engine) as session:
        with pytest.raises(Conflict) as err:
            rate_case(session, published, CLERK, delivered, 5, "", True)
        assert (err.value.status_code, err.value.code) == (409, "rating.exists")


def test_rectifications_due_and_rebuild(published, case) -> None:
    first, second = case(), case()
    rate(published, first, 5)
    rate(published, second, 4, real_name=True)
    with transaction(published.engine) as session:
        due_on = date.fromisoformat(session.get(Rectification, f"{first}/rectification/1").due_on)
        assert rectifications_due(session, due_on - timedelta(days=1)) == []
        assert [t.case_no for t in rectifications_due(session, due_on)] == [first, second]
        close_rectification(session, published, REVIEWER, f"{first}/rectification/1", "已整改")
        record_callback(session, published, REVIEWER, f"{second}/rectification/1", "已回访")
    with transaction(published.engine) as session:
        assert [t.case_no for t in rectifications_due(session, due_on.isoformat())] == [second]
        before = snapshot(session)
        rebuild_projections(session)
        assert snapshot(session) == before


def test_ratings_api(published, case, make_client, admin) -> None:
    from common.users.service import provision_user

    with transaction(published.engine) as session:
        for username, role, department in (
            ("clerk", Role.COUNTY_WINDOW_CLERK, None),
            ("minzheng", Role.DEPARTMENT_REVIEWER, LEAD),
            ("shichang", Role.DEPARTMENT_REVIEWER, "衡东县市场监督管理局"),
        ):
            provision_user(
                session,
                published,
                admin,
                node_id=COUNTY_ID,
                username=username,
                display_name=username,
                role=role,
                department=department,
                password="mima-2026-ok",
            )
    clerk, reviewer = make_client(published, "clerk"), make_client(published, "minzheng")
    case_no, early = case(), case(delivered=False)
    assert clerk.post(f"/api/v1/cases/{early}/rating", json={"level": 1}).status_code == 409
    assert clerk.post(f"/api/v1/cases/{case_no}/rating", json={"level": 6}).status_code == 422
    answer = clerk.post(
        f"/api/v1/cases/{case_no}/rating",
        json={"level": 5, "comment": "等待太久", "real_name": True},
    )
    assert answer.status_code == 201, answer.text
    rating = answer.json()
    assert (rating["label"], rating["bad"], rating["rectification"]["callback_required"]) == (
        "非常不满意",
        True,
        True,
    )
    assert rating["rectification"]["responsible_node"] == COUNTY_ID
    task_id = rating["rectification"]["task_id"]
    assert (
        clerk.post(f"/api/v1/cases/{case_no}/rating", json={"level": 1}).json()["code"]
        == "rating.exists"
    )

    assert [t["task_id"] for t in reviewer.get("/api/v1/rectifications?state=open").json()] == [
        task_id
    ]
    assert make_client(published, "shichang").get("/api/v1/rectifications").json() == []
    refused = reviewer.post(
        "/api/v1/rectifications/close", json={"task_id": task_id, "result": "已整改"}
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "rating.callback_required")
    done = reviewer.post(
        "/api/v1/rectifications/callback", json={"task_id": task_id, "note": "已电话回访"}
    )
    assert done.status_code == 200 and done.json()["callback_done"] is True
    closed = reviewer.post(
        "/api/v1/rectifications/close", json={"task_id": task_id, "result": "已整改"}
    )
    assert closed.json()["state"] == "closed"
    assert reviewer.get("/api/v1/rectifications?state=open").json() == []
    assert clerk.get(f"/api/v1/cases/{case_no}/rating").json()["rectification"]["state"] == "closed"
    missing = reviewer.post(
        "/api/v1/rectifications/close", json={"task_id": "x/rectification/1", "result": "已整改"}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "rectification.not_found")
