"""Who may read a case (common.authority.reading): every endpoint that returns data of
one case answers a department with no part in the case exactly as the case view does,
and lets a department with a task on it read.

One 企业设立登记 case (three departments in parallel, 市场监管 leads) taken through
filing with a stored file, acceptance, every opinion, approval (a licence), delivery
and a rating, so that every endpoint below has something to return.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from onetrip_testing import COUNTY_ID

from common.api.deps import get_current_user
from common.authority.reading import require_licence_reader
from common.blobs.service import store_blob
from common.cases.intake import service as intake
from common.cases.review import service as review
from common.db import transaction
from common.errors import Forbidden
from common.licences.models import Licence
from common.node import ThisNode
from common.ratings.service import rate_case
from common.users.roles import Actor, Role

MARKET, POLICE = "衡东县市场监督管理局", "衡东县公安局"  # the lead, and a department with a task
OTHER = "衡东县教育局"  # no part in the case

# Every GET that returns data of one case: (what it shows, path template).
CASE_ENDPOINTS = [
    ("case view", "/api/v1/cases/{case_no}"),
    ("custody chain", "/api/v1/cases/{case_no}/custody"),
    ("clock", "/api/v1/cases/{case_no}/clock"),
    ("special procedures", "/api/v1/cases/{case_no}/special-procedures"),
    ("rating", "/api/v1/cases/{case_no}/rating"),
    ("case document", "/api/v1/cases/{case_no}/documents/acceptance.pdf"),
    ("material file", "/api/v1/blobs/{sha256}"),
    ("licence", "/api/v1/licences/{licence_id}"),
    ("licence QR payload", "/api/v1/licences/{licence_id}/qr"),
    ("licence PDF", "/api/v1/licences/{licence_id}.pdf"),
]


def reviewer(department: str) -> Actor:
    return Actor(
        username=f"r-{department}",
        node_id=COUNTY_ID,
        role=Role.DEPARTMENT_REVIEWER,
        department=department,
    )


@pytest.fixture
def decided(published: ThisNode, actors: dict[str, Actor], k: SimpleNamespace) -> dict[str, str]:
    clerk = actors["clerk"]
    with transaction(published.engine) as session:
        sha = store_blob(session, published, k.PDF_BYTES, "设立登记材料.pdf").sha256
    case_no = k.file(
        published,
        clerk,
        k.COMPANY,
        materials=[{"position": n, "blob_sha256": sha} for n in range(5)],
    )
    k.do(published, intake.accept_case, clerk, case_no)
    for n, department in enumerate((MARKET, POLICE, "国家税务总局衡东县税务局"), 1):
        k.do(
            published,
            review.record_opinion,
            reviewer(department),
            case_no,
            f"review/{n}",
            "agree",
            None,
        )
    licence_id = k.do(
        published, review.decide_case, reviewer(MARKET), case_no, "approved", None
    ).body["licence_id"]
    k.do(published, intake.deliver_case, clerk, case_no, "electronic")
    k.do(published, rate_case, clerk, case_no, 1)
    return {"case_no": case_no, "sha256": sha, "licence_id": licence_id}


def client_of(make_client: Callable[..., Any], node: ThisNode, who: Actor) -> Any:
    client = make_client(node, username=None)
    client.app.dependency_overrides[get_current_user] = lambda: who
    return client


def test_every_case_endpoint_refuses_another_department_as_the_case_view_does(
    published: ThisNode,
    decided: dict[str, str],
    make_client: Callable[..., Any],
    actors: dict[str, Actor],
) -> None:
    outsider = client_of(make_client, published, reviewer(OTHER))
    view = outsider.get(CASE_ENDPOINTS[0][1].format(**decided))
    assert (view.status_code, view.json()["code"], view.json()["field"]) == (
        403,
        "case.not_your_department",
        "case_no",
    )
    for name, path in CASE_ENDPOINTS:
        answer = outsider.get(path.format(**decided))
        assert (answer.status_code, answer.json().get("code")) == (403, view.json()["code"]), (
            name,
            answer.text,
        )
        assert decided["licence_id"] not in answer.text and "设立登记" not in answer.text, name
    for who in (reviewer(POLICE), actors["clerk"]):
        reader = client_of(make_client, published, who)
        for name, path in CASE_ENDPOINTS:
            assert reader.get(path.format(**decided)).status_code == 200, (who.username, name)


def test_a_department_sees_only_its_own_tasks_and_the_lead_reads_before_acceptance(
    published: ThisNode,
    decided: dict[str, str],
    make_client: Callable[..., Any],
    actors: dict[str, Actor],
    k: SimpleNamespace,
) -> None:
    police = client_of(make_client, published, reviewer(POLICE)).get(
        f"/api/v1/cases/{decided['case_no']}"
    )
    assert [t["department"] for t in police.json()["tasks"]] == [POLICE]
    filed = k.file(published, actors["clerk"], k.COMPANY)  # no task yet
    lead = client_of(make_client, published, reviewer(MARKET)).get(f"/api/v1/cases/{filed}")
    assert (lead.status_code, lead.json()["tasks"]) == (200, [])
    refused = client_of(make_client, published, reviewer(POLICE)).get(
        f"/api/v1/cases/{filed}/clock"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "case.not_your_department")


def test_a_file_of_no_case_and_a_licence_of_another_body(
    published: ThisNode, make_client: Callable[..., Any], stored_pdf: str, actors: dict[str, Actor]
) -> None:
    path = f"/api/v1/blobs/{stored_pdf}"  # held here, a material of no case
    refused = client_of(make_client, published, reviewer(MARKET)).get(path)
    assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (
        403,
        "case.not_your_department",
        "sha256",
    )
    assert client_of(make_client, published, actors["clerk"]).get(path).status_code == 200
    # A licence with no case held here: its issuing body reads it, nobody else's department.
    licence = Licence(
        licence_id="x",
        type_code="T",
        serial="1",
        name="证",
        holder_kind="person",
        holder_name="张三",
        holder_id="x",
        holder_id_masked="x",
        issuer_node=COUNTY_ID,
        issuer_body=MARKET,
        issuer_uscc="x",
        valid_from="2026-01-01",
        data="{}",
        issued_event_id="x",
        case_no=None,
    )
    with transaction(published.engine) as session:
        require_licence_reader(session, published, reviewer(MARKET), licence)
        with pytest.raises(Forbidden) as other:
            require_licence_reader(session, published, reviewer(POLICE), licence)
    assert (other.value.code, other.value.field) == ("case.not_your_department", "licence_id")


def test_the_case_list_shows_a_department_what_it_may_open(
    published: ThisNode,
    make_client: Callable[..., Any],
    actors: dict[str, Actor],
    k: SimpleNamespace,
) -> None:
    """A filed county case has no tasks yet: its lead department may open it, so it is listed."""
    case_no = k.file(published, actors["clerk"], k.COMPANY)
    for department, shown in ((MARKET, True), (POLICE, False), (OTHER, False)):
        client = client_of(make_client, published, reviewer(department))
        listed = {c["case_no"] for c in client.get("/api/v1/cases").json()}
        opened = client.get(f"/api/v1/cases/{case_no}").status_code
        assert ((case_no in listed), opened == 200) == (shown, shown), department
