"""Fixtures for tests that work with cases (a pytest plugin loaded by tests/conftest.py):
nodes of each tier over the root's database (the published sample catalogue is the
root conftest's ``published``), staff of each role, identity numbers and files.

Shared by the case, licence, rating, document and screen tests; fixture names say what
they are. Actors are built directly for service tests (actions check roles, not the users
table); ``staff_client`` provisions a user so that the API can log them in.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID

from common.db import transaction
from common.identifiers.uscc import uscc_check_char
from common.node import ThisNode
from common.users.roles import HEAD_ROLES, Actor, Role

# Sample-catalogue matters the intake tests use (implementation codes).
FOOD_LICENCE = (
    "11430424MB1C5953154000119001001"  # 食品经营许可（新办）: county 承诺件, 告知承诺 allowed
)
SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county 即办件
COMPANY = "11430424MB1C5953154000119003001"  # 企业设立登记: county, three departments in parallel
MINIMUM_LIVING = "11430424006817011Q5001004010002"  # 最低生活保障申请审核: township 承诺件 (洣水镇)
VILLAGE_PENSION = (
    "54430424MEB423186J6002007001000"  # 城乡居民基本养老保险参保登记（村级代办）: village 即办件
)
VILLAGE_ELDERLY = "54430424MEB423186J6432004015000"  # 高龄津贴申请代办: village 即办件, 0 visits
LAND_TRANSFER = (
    "N2430424MFA182409L6002013010000"  # 土地经营权流转合同备案: village, persons and enterprises
)

MARKET_DEPT = "衡东县市场监督管理局"


def resident_id(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


PERSON_ID = resident_id("43042419800101123")
OTHER_PERSON_ID = resident_id("43042419920815004")
N_USCC = "N2430424MFA182409L"  # a letter-led code (village collective), from the sample catalogue
Y_USCC = uscc("Y1430424MA4L12345")


def member_node(root: ThisNode, node_id: str, tier: str, key: Any) -> ThisNode:
    settings = root.settings.model_copy(update={"node_id": node_id, "tier": tier})
    return replace(root, settings=settings, key=key)


@pytest.fixture
def township(published: ThisNode, tree: dict) -> ThisNode:
    """洣水镇 as a node over the root's database (its own key and id)."""
    return member_node(published, TOWNSHIP_ID, "township", tree[TOWNSHIP_ID])


@pytest.fixture
def village(published: ThisNode, tree: dict) -> ThisNode:
    """The sample village as a node over the root's database."""
    return member_node(published, VILLAGE_ID, "village", tree[VILLAGE_ID])


STAFF = {
    "clerk": (COUNTY_ID, Role.COUNTY_WINDOW_CLERK, None),
    "clerk2": (COUNTY_ID, Role.COUNTY_WINDOW_CLERK, None),
    "reviewer": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, MARKET_DEPT),
    "auditor": (COUNTY_ID, Role.AUDITOR, None),
    "tclerk": (TOWNSHIP_ID, Role.TOWNSHIP_CLERK, None),
    "tapprover": (TOWNSHIP_ID, Role.TOWNSHIP_APPROVER, None),
    "agent": (VILLAGE_ID, Role.VILLAGE_AGENT, None),
    "agent2": (VILLAGE_ID, Role.VILLAGE_AGENT, None),
}
STAFF_PASSWORD = "hengdong-staff-2026"
# In these small networks every department reviewer and township approver heads their
# organ (本行政机关负责人: they approve extensions, 行政许可法 §42).
HEADS = frozenset(name for name, (_, role, _) in STAFF.items() if role.value in HEAD_ROLES)


@pytest.fixture
def actors() -> dict[str, Actor]:
    """Actors by username (no users rows: enough for the action functions)."""
    actors = {
        name: Actor(username=name, node_id=node_id, role=role, department=dept, head=name in HEADS)
        for name, (node_id, role, dept) in STAFF.items()
    }
    actors["admin"] = Actor(username="admin", node_id=COUNTY_ID, role=Role.COUNTY_ADMIN)
    return actors


@pytest.fixture
def staff_client(published: ThisNode, tree: dict, admin: Actor, make_client: Any) -> Any:
    """staff_client(node, username) -> an API client logged in as that member of STAFF,
    provisioned on the root the first time it is asked for (hashing is slow)."""
    from common.users.service import provision_user

    provisioned: set[str] = set()

    def login(node: ThisNode, username: str) -> Any:
        if username not in provisioned and username != "admin":
            node_id, role, dept = STAFF[username]
            with transaction(published.engine) as session:
                provision_user(
                    session,
                    published,
                    admin,
                    node_id=node_id,
                    username=username,
                    display_name=f"测试{username}",
                    role=role,
                    department=dept,
                    password=STAFF_PASSWORD,
                    head=username in HEADS,
                )
            provisioned.add(username)
        return make_client(node, username)

    return login


# Smallest files that pass the magic-byte checks.
PDF_BYTES = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def stored_pdf(published: ThisNode) -> str:
    """The hash of a PDF held by the (shared) blob store."""
    from common.blobs.service import store_blob

    with transaction(published.engine) as session:
        return store_blob(session, published, PDF_BYTES, "申请书.pdf").sha256


def file_case(node: ThisNode, actor: Actor, matter: str = FOOD_LICENCE, **fields: Any) -> str:
    """File one case in its own transaction; the case number."""
    from common.cases.intake.service import file_case as file

    fields.setdefault("applicant", applicant())
    fields.setdefault("materials", [])
    with transaction(node.engine) as session:
        return file(session, node, actor, matter_code=matter, **fields).case_no


def run(node: ThisNode, action: Any, *args: Any, **kwargs: Any) -> Any:
    """``action(session, node, *args, **kwargs)`` in its own transaction."""
    with transaction(node.engine) as session:
        return action(session, node, *args, **kwargs)


def case_row(node: ThisNode, case_no: str) -> Any:
    from common.cases.models import Case

    with transaction(node.engine) as session:
        return session.get(Case, case_no)


def applicant(
    kind: str = "person", id_number: str = PERSON_ID, name: str = "张三", **extra: Any
) -> dict[str, Any]:
    return {"kind": kind, "name": name, "id_number": id_number, "phone": "13800000000", **extra}


@pytest.fixture
def k() -> SimpleNamespace:
    """The constants and helpers above, for test modules (they cannot import a conftest)."""
    return SimpleNamespace(
        FOOD_LICENCE=FOOD_LICENCE,
        SOLE_TRADER=SOLE_TRADER,
        COMPANY=COMPANY,
        MINIMUM_LIVING=MINIMUM_LIVING,
        VILLAGE_PENSION=VILLAGE_PENSION,
        VILLAGE_ELDERLY=VILLAGE_ELDERLY,
        LAND_TRANSFER=LAND_TRANSFER,
        MARKET_DEPT=MARKET_DEPT,
        PERSON_ID=PERSON_ID,
        OTHER_PERSON_ID=OTHER_PERSON_ID,
        N_USCC=N_USCC,
        Y_USCC=Y_USCC,
        PDF_BYTES=PDF_BYTES,
        PNG_BYTES=PNG_BYTES,
        STAFF_PASSWORD=STAFF_PASSWORD,
        applicant=applicant,
        resident_id=resident_id,
        uscc=uscc,
        file=file_case,
        do=run,
        case=case_row,
    )
