"""Cases put in every state through the action functions, on one published network.

Shared by the tests that walk the roles and states of a case (importable as
``case_states``: tests/ is on pytest's pythonpath): ``published_network`` builds the
county with the sample catalogue published, 洣水镇 and one of its villages over the
county's database and one stored PDF; ``filed``, ``noticed``, ``accepted``, ... put a
fresh case of a matter in a state on a node and return its context (the case, its lead
department, open tasks, missing materials). Building the network imports the
catalogue, the slow part: make it once per module.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from onetrip_testing import (
    PG_URL_ENV,
    TOWNSHIP_ID,
    VILLAGE_ID,
    case_filed_body,
    make_root,
    register_member,
)
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from common.blobs.service import store_blob
from common.calendar.service import add_working_days
from common.cases.access import case_subject, today_on
from common.cases.intake import service as intake
from common.cases.intake.filing import next_case_no
from common.cases.models import Case, CaseMaterial, CaseTask
from common.cases.review import service as review
from common.catalog.sample import load_sample_matters, publish_sample
from common.db import transaction
from common.ledger.models import Event
from common.node import ThisNode
from common.ratings import service as ratings
from common.users.roles import Actor, Role

C_PROMISE = (
    "11430424MB1C5953154000119001001"  # 食品经营许可（新办）: county 承诺件, 告知承诺, licence
)
C_NOW = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county 即办件, licence
COMPANY = "11430424MB1C5953154000119003001"  # 企业设立登记: three departments in parallel
T_PROMISE = "11430424006817011Q5001004010002"  # 最低生活保障申请审核: 洣水镇 承诺件
T_NOW = "11430424006817011Q5002017003000"  # 光荣牌悬挂: 洣水镇 即办件
T_LICENCE = "1143042400681832125000108013000"  # 乡村建设规划许可: township 承诺件 with a licence
V_NOW = "54430424MEB423186J6002007001000"  # 养老保险参保登记（村级代办）: village 即办件
V_PROMISE = "54430424MEB425712F6002008014000"  # 农村村民建房申请村级审查: village 承诺件
MARKET, POLICE = "衡东县市场监督管理局", "衡东县公安局"
OTHER_DEPT = "衡东县教育局"  # has no task on any case used here
FILING_AGENT = Role.VILLAGE_AGENT.value  # the username of the agent who files at the village
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
APPLICANT = {
    "kind": "person",
    "name": "张三",
    "id_number": "430424198001011238",
    "phone": "13800000000",
}


# -- one published network ----------------------------------------------------------------


@contextlib.contextmanager
def _database() -> Iterator[str | None]:
    """As tests/conftest.py ``db_url``, at module scope: SQLite, or a fresh PG database."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        yield None
        return
    name = f"onetrip_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


@contextlib.contextmanager
def published_network(directory: Path) -> Iterator[SimpleNamespace]:
    """The county with the sample catalogue published, 洣水镇 and a village over its
    database (as conftest ``township``/``village``), and one stored PDF."""
    with _database() as url:
        root = make_root(directory, url)
        try:
            system = Actor.node_system(root.node_id)
            with transaction(root.engine) as session:
                publish_sample(session, root, system)
                pdf = store_blob(session, root, PDF, "申请书.pdf").sha256
            nodes = {"county": root}
            for tier, node_id, name in (
                ("township", TOWNSHIP_ID, "洣水镇便民服务中心"),
                ("village", VILLAGE_ID, "示例村代办点"),
            ):
                key = register_member(root, node_id, name)
                settings = root.settings.model_copy(update={"node_id": node_id, "tier": tier})
                nodes[tier] = replace(root, settings=settings, key=key)
            yield SimpleNamespace(
                nodes=nodes,
                pdf=pdf,
                shared={},
                materials={m.implementation_code: m.materials for m in load_sample_matters()[0]},
            )
        finally:
            root.engine.dispose()


def run(node: ThisNode, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with transaction(node.engine) as session:
        return action(session, node, *args, **kwargs)


def footprint(node: ThisNode, case_no: str | None) -> tuple[int, int | None, int]:
    """(events in the ledger, the case's version, cases) — what a refusal must not move."""
    with transaction(node.engine) as session:
        events = session.execute(select(func.count()).select_from(Event)).scalar_one()
        version = session.get(Case, case_no).version if case_no else None
        cases = session.execute(select(func.count()).select_from(Case)).scalar_one()
    return events, version, cases


# -- putting a case in a state, through the action functions ---------------------------


def clerk(node: ThisNode) -> Actor:
    """Who files and accepts on the tier; at a village the agent ``FILING_AGENT`` (the
    role matrix's key for the role), so that "only the filing agent withdraws" lets a
    test's agent of that name withdraw."""
    return {
        "village": Actor(FILING_AGENT, node.node_id, Role.VILLAGE_AGENT),
        "township": Actor("prep-clerk", node.node_id, Role.TOWNSHIP_CLERK),
        "county": Actor("prep-clerk", node.node_id, Role.COUNTY_WINDOW_CLERK),
    }[node.tier]


def reviewer(node: ThisNode, department: str) -> Actor:
    if node.tier == "township":
        return Actor("prep-reviewer", node.node_id, Role.TOWNSHIP_CLERK)
    return Actor("prep-reviewer", node.node_id, Role.DEPARTMENT_REVIEWER, department)


def decider(node: ThisNode, case: Case) -> Actor:
    if case.case_type == "1":
        return clerk(node)
    if node.tier == "township":
        return Actor("prep-approver", node.node_id, Role.TOWNSHIP_APPROVER)
    return Actor("prep-decider", node.node_id, Role.DEPARTMENT_REVIEWER, case.lead_department)


def ctx_of(node: ThisNode, case_no: str, **extra: Any) -> dict[str, Any]:
    with transaction(node.engine) as session:
        case = session.get(Case, case_no)
        tasks = (
            session.execute(
                select(CaseTask).where(CaseTask.case_no == case_no, CaseTask.state == "open")
            )
            .scalars()
            .all()
        )
        missing = (
            session.execute(
                select(CaseMaterial.name).where(
                    CaseMaterial.case_no == case_no,
                    CaseMaterial.mandatory.is_(True),
                    CaseMaterial.provided.is_(False),
                )
            )
            .scalars()
            .all()
        )
    return {
        "case_no": case_no,
        "case": case,
        "dept": case.lead_department,
        "missing": list(missing),
        "tasks": list(tasks),
        "task_id": tasks[0].task_id if tasks else None,
        **extra,
    }


def filed(
    net: SimpleNamespace, node: ThisNode, code: str, *, complete: bool = True
) -> dict[str, Any]:
    materials = (
        [
            {"position": i, "blob_sha256": net.pdf}
            for i, m in enumerate(net.materials[code])
            if m.mandatory
        ]
        if complete
        else []
    )
    case = run(
        node,
        intake.file_case,
        clerk(node),
        matter_code=code,
        applicant=APPLICANT,
        materials=materials,
    )
    return ctx_of(node, case.case_no, code=code)


def noticed(net: SimpleNamespace, node: ThisNode, code: str) -> dict[str, Any]:
    ctx = filed(net, node, code, complete=False)
    run(node, intake.request_supplement, clerk(node), ctx["case_no"], ctx["missing"])
    return {
        **ctx,
        "materials": [
            {"position": i, "blob_sha256": net.pdf}
            for i, m in enumerate(net.materials[code])
            if m.mandatory
        ],
    }


def accepted(net: SimpleNamespace, node: ThisNode, code: str) -> dict[str, Any]:
    ctx = filed(net, node, code)
    run(node, intake.accept_case, clerk(node), ctx["case_no"])
    return ctx_of(node, ctx["case_no"])


def reviewed(net: SimpleNamespace, node: ThisNode, code: str) -> dict[str, Any]:
    ctx = accepted(net, node, code)
    for task in ctx["tasks"]:
        run(
            node,
            review.record_opinion,
            reviewer(node, task.department),
            ctx["case_no"],
            task.task_id,
            "agree",
            "同意",
        )
    return ctx_of(node, ctx["case_no"])


def decided(net: SimpleNamespace, node: ThisNode, code: str) -> dict[str, Any]:
    ctx = reviewed(net, node, code)
    run(node, review.decide_case, decider(node, ctx["case"]), ctx["case_no"], "approved", None)
    return ctx_of(node, ctx["case_no"])


def special(net: SimpleNamespace, node: ThisNode, code: str) -> dict[str, Any]:
    ctx = accepted(net, node, code)
    run(
        node,
        review.start_special_procedure,
        reviewer(node, ctx["dept"]),
        ctx["case_no"],
        2,
        "test",
        "检验检测",
    )
    return ctx_of(node, ctx["case_no"])


def delivered(net: SimpleNamespace, node: ThisNode, code: str) -> dict[str, Any]:
    ctx = decided(net, node, code)
    run(node, intake.deliver_case, clerk(node), ctx["case_no"], "electronic")
    return ctx_of(node, ctx["case_no"])


def rated_badly(
    net: SimpleNamespace, node: ThisNode, code: str, *, real_name: bool
) -> dict[str, Any]:
    ctx = delivered(net, node, code)
    run(
        node,
        ratings.rate_case,
        clerk(node),
        ctx["case_no"],
        5 if real_name else 4,
        "办事太慢",
        real_name,
    )
    return {
        **ctx_of(node, ctx["case_no"]),
        "rectification": ratings.rectification_task_id(ctx["case_no"]),
    }


def committed(net: SimpleNamespace, node: ThisNode, code: str) -> dict[str, Any]:
    """An approved 告知承诺 case (verification task open). The sample catalogue has no
    township matter that allows 告知承诺, so there ``case.filed`` is appended in the
    contract's shape; the rest goes through the action functions."""
    if node.tier == "county":  # mandatory materials left out are promised, so it can be accepted
        case_no = run(
            node,
            intake.file_case,
            clerk(node),
            matter_code=code,
            applicant=APPLICANT,
            materials=[],
            commitment=True,
        ).case_no
    else:
        with transaction(node.engine) as session:
            case_no = next_case_no(session, node, today_on(node))
            node.append(
                session,
                case_subject(case_no),
                "case.filed",
                case_filed_body(
                    session,
                    code,
                    case_no,
                    origin=node.node_id,
                    applicant=APPLICANT,
                    filed_on=today_on(node),
                    commitment=True,
                    commitment_allowed=True,
                ),
            )
    run(node, intake.accept_case, clerk(node), case_no)
    ctx = ctx_of(node, case_no)
    for task in ctx["tasks"]:
        run(
            node,
            review.record_opinion,
            reviewer(node, task.department),
            case_no,
            task.task_id,
            "agree",
            "同意",
        )
    run(node, review.decide_case, decider(node, ctx["case"]), case_no, "approved", None)
    return ctx_of(node, case_no)


def accepted_above_level(net: SimpleNamespace, node: ThisNode, code: str) -> dict[str, Any]:
    """A county 即办件 filed at the village and accepted there. accept_case refuses that
    (case.handoff_required), so ``case.accepted`` is appended directly: the state a
    village agent must still not be able to decide from."""
    ctx = filed(net, node, code)
    with transaction(node.engine) as session:
        case = session.get(Case, ctx["case_no"])
        on = today_on(node)
        node.append(
            session,
            case_subject(case.case_no),
            "case.accepted",
            {
                "accepted_on": on,
                "window": case.window,
                "limit_days": case.limit_days,
                "deadline": add_working_days(
                    session, date.fromisoformat(on), case.limit_days
                ).isoformat(),
                "accepted_by": FILING_AGENT,
                "tasks": [],
            },
        )
    return ctx_of(node, ctx["case_no"])
