"""The lead department's case page (issue 13, item 7): it lists every department's
opinion (department, opinion, comment, who, when), says whose opinion the decision
still waits for, and offers 作出决定 only once all have answered — with the opinions
next to the form that asks for reasons to override an objection. Another department's
page still shows only its own task."""

from __future__ import annotations

import re
from typing import Any

import pytest
from web_testing import post_form

from common.cases.intake import service as intake
from common.cases.review import service as review

OBJECTION = "经营场所存在消防安全隐患"
TASK_ROW = re.compile(r'data-testid="task-row" data-task-id="([^"]+)"')


@pytest.fixture
def company_case(published, actors, k, stored_pdf) -> str:
    """企业设立登记 accepted at the county: 市场监管 leads, 公安 and 税务 review in parallel."""
    case_no = k.file(
        published,
        actors["clerk"],
        k.COMPANY,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(5)],
    )
    k.do(published, intake.accept_case, actors["clerk"], case_no)
    return case_no


def rows(html: str) -> list[str]:
    return [task_id.rsplit("/", 1)[1] for task_id in TASK_ROW.findall(html)]


def opinion(published: Any, k: Any, staff_actor: Any, user: str, case_no: str, n: int, *args: Any):  # type: ignore[no-untyped-def]
    return k.do(published, review.record_opinion, staff_actor(user), case_no, f"review/{n}", *args)


def test_the_lead_reads_every_opinion_and_decides_after_the_last(
    published, company_case, browser, staff_actor, k, case_of
) -> None:
    case_no, page = company_case, f"/staff/cases/{company_case}"
    scjg = browser(published, "scjg")
    opinion(published, k, staff_actor, "scjg", case_no, 1, "agree", "材料齐全")
    opinion(published, k, staff_actor, "police", case_no, 2, "disagree", OBJECTION)

    before = scjg.get(page)
    assert before.status_code == 200
    assert rows(before.text) == ["1", "2", "3"]  # every department's task
    assert OBJECTION in before.text and "不同意" in before.text
    police_row = before.text.split(f'data-task-id="{case_no}/review/2"', 1)[1].split("</tr>")[0]
    assert "衡东县公安局" in police_row and "police" in police_row and "年" in police_row
    # The tax bureau has not answered: no decision yet, and the page says whom it waits for.
    assert 'data-testid="decide-button"' not in before.text
    waits = re.search(r'data-testid="decision-waits">([^<]*)<', before.text)
    assert waits and "国家税务总局衡东县税务局" in waits.group(1)
    assert "衡东县公安局" not in waits.group(1)
    # Only its own task takes an opinion form: the others are read, not worked.
    assert f'value="{case_no}/review/2"' not in before.text
    refused = post_form(scjg, f"{page}/decide", {"decision": "approved"}, page=page)
    assert refused.status_code == 409 and "尚未提出审查意见" in refused.text
    assert case_of(case_no).state == "accepted"

    opinion(published, k, staff_actor, "tax", case_no, 3, "agree", None)
    after = scjg.get(page).text
    assert 'data-testid="decide-button"' in after and 'data-testid="decision-waits"' not in after
    table = after.split('data-testid="decide-opinions"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'data-department="([^"]+)" data-opinion="(\w*)"', table) == [
        ("衡东县市场监督管理局", "agree"),
        ("衡东县公安局", "disagree"),
        ("国家税务总局衡东县税务局", "agree"),
    ]
    assert OBJECTION in table and "police" in table
    # Overriding the objection needs the reason the form asks for.
    bare = post_form(scjg, f"{page}/decide", {"decision": "approved"}, page=page)
    assert bare.status_code == 400 and "不采纳不同意见的理由" in bare.text
    decided = post_form(
        scjg, f"{page}/decide", {"decision": "approved", "reason": "已当场整改到位"}, page=page
    )
    assert decided.status_code == 303
    assert case_of(case_no).state == "approved"


def test_another_department_still_sees_only_its_own_opinion(
    published, company_case, browser, staff_actor, k
) -> None:
    case_no, page = company_case, f"/staff/cases/{company_case}"
    opinion(published, k, staff_actor, "scjg", case_no, 1, "agree", "材料齐全")
    opinion(published, k, staff_actor, "police", case_no, 2, "disagree", OBJECTION)

    tax = browser(published, "tax").get(page)
    assert tax.status_code == 200 and rows(tax.text) == ["3"]
    assert OBJECTION not in tax.text and "材料齐全" not in tax.text
    assert 'data-testid="decision-waits"' not in tax.text  # not its decision to wait for
    police = browser(published, "police").get(page)
    assert rows(police.text) == ["2"] and OBJECTION in police.text
    assert "材料齐全" not in police.text
