"""Fixtures for the public portal: the sample catalogue published on the root, an
anonymous browser, a filed case and an issued licence (built with the same action
functions as the API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from onetrip_testing import COUNTY_ID

from common.db import transaction
from common.node import ThisNode
from common.users.roles import Actor, Role

FOOD_LICENCE = "11430424MB1C5953154000119001001"  # 食品经营许可（新办）: 承诺件, 6 materials
SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: 即办件, licence GTGSHYYZZ
RESIDENT_ID = "430424199001011232"
CLERK = Actor(username="clerk", node_id=COUNTY_ID, role=Role.COUNTY_WINDOW_CLERK)
PDF_BYTES = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def browser(published: ThisNode, make_client: Callable[..., TestClient]) -> TestClient:
    """A resident's browser: nobody logged in."""
    return make_client(published, username=None)


def _applicant(name: str = "张三丰") -> dict[str, Any]:
    return {"kind": "person", "name": name, "id_number": RESIDENT_ID, "phone": "13800000000"}


@pytest.fixture
def filed_case(published: ThisNode) -> str:
    """A 食品经营许可 case filed at the county window (not yet accepted): its number."""
    from common.cases.intake.service import file_case

    with transaction(published.engine) as session:
        return file_case(
            session,
            published,
            CLERK,
            matter_code=FOOD_LICENCE,
            applicant=_applicant(),
            materials=[],
        ).case_no


@pytest.fixture
def licence(published: ThisNode) -> str:
    """A 个体工商户营业执照 issued on a 即办件 accepted with every material: its identifier."""
    from common.blobs.service import store_blob
    from common.cases.intake.service import accept_case, file_case
    from common.catalog.service import get_published
    from common.licences.service import issue_licence

    with transaction(published.engine) as session:
        sha = store_blob(session, published, PDF_BYTES, "材料.pdf").sha256
        count = len(get_published(session, SOLE_TRADER).to_matter().materials)
        case = file_case(
            session,
            published,
            CLERK,
            matter_code=SOLE_TRADER,
            applicant=_applicant(),
            materials=[{"position": i, "blob_sha256": sha} for i in range(count)],
        )
        case = accept_case(session, published, CLERK, case.case_no)
        return issue_licence(session, published, CLERK, case)


@pytest.fixture
def qr_payload(published: ThisNode, licence: str) -> str:
    from common.licences.service import licence_qr_payload

    with transaction(published.engine) as session:
        return licence_qr_payload(session, licence)
