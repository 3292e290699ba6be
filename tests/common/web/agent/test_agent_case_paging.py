"""The agent's 我的办件 a page at a time (issue 13, item 13): 50 a page, newest first (the
待处理 list oldest first), every case on exactly one page; searched by the applicant's
name, the whole identity number (a masked one finds nothing), the case number and the
filing dates, within the chosen scope."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from onetrip_testing import VILLAGE_ID

from common.cases.intake.service import file_case
from common.db import transaction
from common.node import ThisNode
from common.users.roles import Actor, Role


def rows(html: str) -> list[str]:
    return re.findall(r'data-testid="case-row" data-case-no="([^"]+)"', html)


def _file(village: ThisNode, code: str, name: str, person_id: str, agent: str = "agent1") -> str:
    actor = Actor(username=agent, node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)
    applicant = {"kind": "person", "name": name, "id_number": person_id, "phone": "13800000000"}
    with transaction(village.engine) as session:
        return file_case(
            session, village, actor, matter_code=code, applicant=applicant, materials=[]
        ).case_no


def test_every_case_on_exactly_one_page(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    filed = [_file(village, kit.PENSION, f"村民{i:03d}", kit.PERSON_ID) for i in range(120)]
    others = [_file(village, kit.PENSION, "别人的", kit.PERSON_ID, agent="agent2") for _ in "ab"]
    for scope, expected in (("mine", filed), ("all", filed + others), ("todo", filed + others)):
        pages = [agent_client.get(f"/agent/cases?scope={scope}&page={n}") for n in (1, 2, 3)]
        assert [p.status_code for p in pages] == [200, 200, 200]
        seen = [no for p in pages for no in rows(p.text)]
        assert sorted(seen) == sorted(expected), scope  # each exactly once
        assert seen == (expected if scope == "todo" else expected[::-1])  # in filing order
        assert f"第 1 / 3 页，共 {len(expected)} 件" in pages[0].text
        assert f'href="/agent/cases?scope={scope}&amp;page=2"' in pages[0].text
        assert "上一页" in pages[2].text and 'data-testid="pager-next"' not in pages[2].text
    # The 待处理 counter counts every case waiting, no longer cut at 300 or any number.
    assert "待处理（122）" in agent_client.get("/agent/cases").text


def test_search_by_name_identity_number_case_number_and_dates(
    agent_client: TestClient, village: ThisNode, kit: Any, monkeypatch: Any
) -> None:
    from datetime import date

    from common.cases import access
    from common.cases.intake import filing

    other_id = kit.resident_id("43042419920815004")
    day = {"today": date(2026, 11, 2)}
    for module in (access, filing):
        monkeypatch.setattr(module, "local_today", lambda tz=None: day["today"])
    wang = _file(village, kit.PENSION, "王小明", kit.PERSON_ID)
    day["today"] = date(2026, 11, 9)
    li = _file(village, kit.ELDERLY, "李四", other_id)
    day["today"] = date(2026, 11, 16)
    wang2 = _file(village, kit.PENSION, "王大明", kit.PERSON_ID)

    def found(query: str, scope: str = "mine") -> set[str]:
        page = agent_client.get(f"/agent/cases?scope={scope}&{query}")
        assert page.status_code == 200
        assert kit.PERSON_ID not in page.text and other_id not in page.text
        return set(rows(page.text))

    assert found("") == {wang, li, wang2}
    assert found("name=明") == {wang, wang2}
    assert found("name=李", scope="todo") == {li}
    assert found(f"id_number={kit.PERSON_ID}") == {wang, wang2}
    masked = kit.PERSON_ID[:4] + "*" * 10 + kit.PERSON_ID[-4:]
    assert found(f"id_number={masked}") == set()
    assert found(f"number={li[-10:]}") == {li}
    assert found("filed_from=2026-11-05&filed_to=2026-11-15") == {li}
    assert found("filed_from=2026-11-09", scope="all") == {li, wang2}
    assert "没有符合条件的办件" in agent_client.get("/agent/cases?name=无此人").text
