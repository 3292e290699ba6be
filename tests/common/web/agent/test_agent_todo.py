"""The agent's work counter (issue 13, item 12): 我的办件 in the menu counts the village's
cases waiting for an agent here (to hand up or accept, or a result come home to deliver),
and the 待处理 list shows exactly those."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from onetrip_testing import VILLAGE_ID

from common.cases.handoff.service import (
    accept_handoff,
    offer_handoff,
    return_if_decided,
    settle_custody,
)
from common.cases.intake.service import accept_case, file_case
from common.cases.review.service import decide_case
from common.catalog.service import get_published
from common.db import transaction
from common.node import ThisNode
from common.users.roles import Actor, Role


def _file(village: ThisNode, code: str, sha: str, person_id: str) -> str:
    agent = Actor(username="agent1", node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)
    with transaction(village.engine) as session:
        count = len(get_published(session, code).to_matter().materials)
        return file_case(
            session,
            village,
            agent,
            matter_code=code,
            applicant={
                "kind": "person",
                "name": "李大爷",
                "id_number": person_id,
                "phone": "13800000000",
            },
            materials=[{"position": i, "blob_sha256": sha} for i in range(count)],
        ).case_no


def test_the_agents_counter_is_the_todo_list(
    agent_client: TestClient,
    village: ThisNode,
    published: ThisNode,
    county_clerk: Actor,
    stored_pdf: str,
    kit: Any,
) -> None:
    agent = Actor(username="agent1", node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)
    to_hand_up = _file(village, kit.PENSION, stored_pdf, kit.PERSON_ID)
    handed_up = _file(village, kit.FOOD_LICENCE, stored_pdf, kit.PERSON_ID)
    home = _file(village, kit.SOLE_TRADER, stored_pdf, kit.PERSON_ID)
    with transaction(village.engine) as session:
        offer_handoff(session, village, agent, handed_up)
        offer_handoff(session, village, agent, home)
    # The county decides the 个体工商户 case on the spot; the result comes home to deliver.
    with transaction(published.engine) as session:
        accept_handoff(session, published, county_clerk, home)
        accept_case(session, published, county_clerk, home)
        decide_case(session, published, county_clerk, home, "approved", None)
        return_if_decided(session, published, home)
    with transaction(village.engine) as session:
        assert settle_custody(session, village, home) == "accepted"

    page = agent_client.get("/agent/matters").text
    counter = re.search(r'data-path="/agent/cases" data-count="(\d+)"', page)
    assert counter and counter.group(1) == "2"
    todo = agent_client.get("/agent/cases?scope=todo").text
    rows = re.findall(r'data-testid="case-row" data-case-no="([^"]+)"', todo)
    assert sorted(rows) == sorted([to_hand_up, home])
    assert 'data-testid="scope-todo"' in todo and "待处理（2）" in todo
    # Everything the village filed is still under 本代办点全部.
    every = agent_client.get("/agent/cases?scope=all").text
    assert every.count('data-testid="case-row"') == 3 and handed_up in every
