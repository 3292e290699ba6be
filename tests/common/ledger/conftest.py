"""Ledger fixtures: a county node with a real history of every kind of record.

``history_node`` is the root after: the registry (a township, a village, one more
village added and revoked), the sample catalogue published in its two batches and one
matter withdrawn, a year's calendar, users provisioned at every tier with a password
change, a role change and a disable/enable, and — once the case intake code exists —
cases filed, accepted and decided.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID, make_root, register_member
from sqlalchemy import select

from common.authority.events import POLICY, Rule
from common.bootstrap import open_node
from common.calendar import YearSchedule
from common.calendar.service import import_year_schedule
from common.catalog.sample import load_sample_matters, publish_sample
from common.catalog.service import withdraw_matter
from common.db import transaction
from common.identity.keys import NodeKey
from common.identity.service import revoke_node
from common.node import ThisNode
from common.users.roles import Actor, Role
from common.users.service import change_password, change_role, provision_user, set_user_active

EXTRA_VILLAGE_ID = "430424100202"


@pytest.fixture(autouse=True)
def test_record_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chain tests write a record kind with no domain meaning (``test:…`` /
    ``test.noted``); like any record kind it must declare its authority rule."""
    monkeypatch.setitem(
        POLICY,
        "test",
        {"test.noted": Rule("any_node", "任何已登记节点", lambda session, event: None)},
    )


SCHEDULE_2027 = YearSchedule(
    2027,
    holidays=(
        date(2027, 1, 1),
        date(2027, 2, 8),
        date(2027, 2, 9),
        date(2027, 5, 3),
        date(2027, 10, 1),
    ),
    workdays=(date(2027, 1, 30), date(2027, 9, 26)),
    source="国务院办公厅关于2027年部分节假日安排的通知（测试数据）",
)
PEOPLE = [
    # node, username, display name, role, department
    (COUNTY_ID, "clerk", "王窗口", Role.COUNTY_WINDOW_CLERK, None),
    (COUNTY_ID, "scjg", "李审批", Role.DEPARTMENT_REVIEWER, "衡东县市场监督管理局"),
    (COUNTY_ID, "auditor", "赵审计", Role.AUDITOR, None),
    (TOWNSHIP_ID, "tclerk", "陈镇窗口", Role.TOWNSHIP_CLERK, None),
    (TOWNSHIP_ID, "tapprover", "刘镇审批", Role.TOWNSHIP_APPROVER, None),
    (VILLAGE_ID, "agent", "李村代", Role.VILLAGE_AGENT, None),
]
PASSWORD = "Hengdong-2027!"


def intake_ready() -> bool:
    """True once the intake helper's action functions are in the tree."""
    return importlib.util.find_spec("common.cases.intake.service") is not None


def publish_sample_catalogue(node: ThisNode, actor: Actor) -> None:
    with transaction(node.engine) as session:
        publish_sample(session, node, actor)


def build_history(node: ThisNode, admin: Actor) -> dict[str, NodeKey]:
    """Every kind of root-written record, each in its own transaction as requests do;
    returns the member nodes' keys (for writing as them over the root's database)."""
    keys = {
        TOWNSHIP_ID: register_member(node, TOWNSHIP_ID, "洣水镇便民服务中心"),
        VILLAGE_ID: register_member(node, VILLAGE_ID, "示例村代办点"),
    }
    publish_sample_catalogue(node, admin)
    matters, _ = load_sample_matters()
    with transaction(node.engine) as session:
        withdraw_matter(session, node, admin, matters[-1].implementation_code, "事项已调整（测试）")
    with transaction(node.engine) as session:
        import_year_schedule(session, node, admin, SCHEDULE_2027, SCHEDULE_2027.source)
    for node_id, username, display_name, role, department in PEOPLE:
        with transaction(node.engine) as session:
            provision_user(
                session,
                node,
                admin,
                node_id=node_id,
                username=username,
                display_name=display_name,
                role=role,
                department=department,
                password=PASSWORD,
            )
    register_member(node, EXTRA_VILLAGE_ID, "另一村代办点")
    with transaction(node.engine) as session:
        change_password(
            session, node, admin, node_id=COUNTY_ID, username="clerk", password="Chuangkou-2027!"
        )
    with transaction(node.engine) as session:
        change_role(
            session, node, admin, node_id=COUNTY_ID, username="auditor", role=Role.COUNTY_ADMIN
        )
    with transaction(node.engine) as session:
        set_user_active(
            session, node, admin, node_id=TOWNSHIP_ID, username="tapprover", active=False
        )
    with transaction(node.engine) as session:
        revoke_node(session, node, admin, EXTRA_VILLAGE_ID, "代办点撤并（测试）")
    with transaction(node.engine) as session:
        set_user_active(
            session, node, admin, node_id=TOWNSHIP_ID, username="tapprover", active=True
        )
    with transaction(node.engine) as session:
        change_password(
            session, node, admin, node_id=COUNTY_ID, username="clerk", password="Chuangkou-2028!"
        )
    return keys


@pytest.fixture(scope="session")
def history_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The history built once per test process (password hashing makes it take seconds);
    each SQLite test gets its own copy of the data directory."""
    data_dir = tmp_path_factory.mktemp("history") / "county"
    node = make_root(data_dir, None)
    keys = build_history(node, Actor(username="admin", node_id=COUNTY_ID, role=Role.COUNTY_ADMIN))
    if intake_ready():
        add_cases(node, keys)
    node.engine.dispose()  # checkpoints the WAL: the directory is complete on disk
    return data_dir


def copy_history(template: Path, target: Path) -> ThisNode:
    shutil.copytree(template, target)
    return open_node(target)


@pytest.fixture
def history_node(
    request: pytest.FixtureRequest, tmp_path: Path, db_url: str | None
) -> Iterator[ThisNode]:
    if db_url is None:
        node = copy_history(request.getfixturevalue("history_template"), tmp_path / "county")
    else:  # PostgreSQL: one fresh database per test, so build the history in it
        node = make_root(tmp_path / "county", db_url)
        keys = build_history(
            node, Actor(username="admin", node_id=COUNTY_ID, role=Role.COUNTY_ADMIN)
        )
        if intake_ready():
            add_cases(node, keys)
    yield node
    node.engine.dispose()


FOOD_LICENCE = (
    "11430424MB1C5953154000119001001"  # 食品经营许可（新办）: county 承诺件, one department
)
SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county 即办件
VILLAGE_PENSION = "54430424MEB423186J6002007001000"  # village 即办件
MARKET_DEPT = "衡东县市场监督管理局"
PDF_BYTES = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PERSON_ID = "430424198001011238"
CLERK = Actor(username="clerk", node_id=COUNTY_ID, role=Role.COUNTY_WINDOW_CLERK)
REVIEWER = Actor(
    username="scjg", node_id=COUNTY_ID, role=Role.DEPARTMENT_REVIEWER, department=MARKET_DEPT
)
AGENT = Actor(username="agent", node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)


def applicant(name: str = "张三") -> dict[str, Any]:
    return {"kind": "person", "name": name, "id_number": PERSON_ID, "phone": "13800000000"}


def store_pdf(node: ThisNode) -> str:
    from common.blobs.service import store_blob

    with transaction(node.engine) as session:
        return store_blob(session, node, PDF_BYTES, "申请书.pdf").sha256


def mandatory_materials(node: ThisNode, code: str, sha256: str) -> list[dict[str, Any]]:
    """One uploaded file for each required material of the matter."""
    from common.catalog.service import get_published

    with transaction(node.engine) as session:
        matter = get_published(session, code).to_matter()
    return [
        {"position": i, "blob_sha256": sha256}
        for i, m in enumerate(matter.materials)
        if m.mandatory
    ]


def member_view(root: ThisNode, key: NodeKey, tier: str) -> ThisNode:
    """Another node (its id and key) over the root's database."""
    return replace(
        root,
        key=key,
        settings=root.settings.model_copy(update={"node_id": key.node_id, "tier": tier}),
    )


def add_cases(node: ThisNode, keys: dict[str, NodeKey]) -> None:
    """Cases at the county through accept, opinion, decision (a licence), delivery; a
    refusal, a withdrawal, a one-time notice with supplement; and a village 即办件."""
    from common.cases.intake import service as intake
    from common.cases.models import CaseMaterial
    from common.cases.review import service as review

    sha = store_pdf(node)
    food = mandatory_materials(node, FOOD_LICENCE, sha)
    trader = mandatory_materials(node, SOLE_TRADER, sha)

    def act(function: Any, *args: Any, **kwargs: Any) -> Any:
        with transaction(node.engine) as session:
            result = function(session, *args, **kwargs)
            return getattr(result, "case_no", result)

    visit = {"who": "applicant", "place": "县政务服务中心综合窗口", "purpose": "提交申请"}
    licensed = act(
        intake.file_case,
        node,
        CLERK,
        matter_code=FOOD_LICENCE,
        applicant=applicant(),
        materials=food,
        visit=visit,
    )
    act(intake.accept_case, node, CLERK, licensed)
    act(review.record_opinion, node, REVIEWER, licensed, f"{licensed}/review/1", "agree", None)
    act(review.decide_case, node, REVIEWER, licensed, "approved", None)
    act(intake.deliver_case, node, CLERK, licensed, "courier", tracking_no="SF1234567890")

    on_the_spot = act(
        intake.file_case,
        node,
        CLERK,
        matter_code=SOLE_TRADER,
        applicant=applicant("李四"),
        materials=trader,
        visit=visit,
    )
    act(intake.accept_case, node, CLERK, on_the_spot)
    act(review.decide_case, node, CLERK, on_the_spot, "approved", None)
    act(intake.deliver_case, node, CLERK, on_the_spot, "window")

    refused = act(
        intake.file_case,
        node,
        CLERK,
        matter_code=FOOD_LICENCE,
        applicant=applicant("王五"),
        materials=food,
    )
    act(intake.refuse_case, node, CLERK, refused, "不属于本机关职权范围")
    withdrawn = act(
        intake.file_case,
        node,
        CLERK,
        matter_code=SOLE_TRADER,
        applicant=applicant(),
        materials=trader,
    )
    act(intake.withdraw_case, node, CLERK, withdrawn, "申请人主动撤回")
    noticed = act(
        intake.file_case,
        node,
        CLERK,
        matter_code=FOOD_LICENCE,
        applicant=applicant("赵六"),
        materials=food[:1],
    )
    with transaction(node.engine) as session:
        missing = list(
            session.execute(
                select(CaseMaterial.name)
                .where(
                    CaseMaterial.case_no == noticed,
                    CaseMaterial.mandatory.is_(True),
                    CaseMaterial.provided.is_(False),
                )
                .order_by(CaseMaterial.position)
            ).scalars()
        )
    act(intake.request_supplement, node, CLERK, noticed, missing)
    act(
        intake.record_visit,
        node,
        CLERK,
        noticed,
        who="applicant",
        place="县政务服务中心综合窗口",
        purpose="补交材料",
    )
    act(intake.receive_supplement, node, CLERK, noticed, food[1:])
    act(intake.accept_case, node, CLERK, noticed)

    village = member_view(node, keys[VILLAGE_ID], "village")
    pension = act(
        intake.file_case,
        village,
        AGENT,
        matter_code=VILLAGE_PENSION,
        applicant=applicant(),
        materials=mandatory_materials(node, VILLAGE_PENSION, sha),
        visit={"who": "applicant", "place": "示例村代办点", "purpose": "提交申请"},
    )
    act(intake.accept_case, village, AGENT, pension)
    act(review.decide_case, village, AGENT, pension, "approved", None)
    act(intake.deliver_case, village, AGENT, pension, "agent")


@pytest.fixture
def ledger_kit() -> SimpleNamespace:
    """The constants and helpers above, for test modules (they cannot import a conftest)."""
    return SimpleNamespace(
        FOOD_LICENCE=FOOD_LICENCE,
        SOLE_TRADER=SOLE_TRADER,
        MARKET_DEPT=MARKET_DEPT,
        EXTRA_VILLAGE_ID=EXTRA_VILLAGE_ID,
        CLERK=CLERK,
        REVIEWER=REVIEWER,
        SCHEDULE_2027=SCHEDULE_2027,
        applicant=applicant,
        store_pdf=store_pdf,
        mandatory_materials=mandatory_materials,
        copy_history=copy_history,
        intake_ready=intake_ready,
    )
