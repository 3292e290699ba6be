"""The case lists' pages (``area_case_page``, ``agent_case_page``): the staff's order kept
across pages, including the page where the open cases end and the closed ones begin, and
the search conditions of ``CaseSearch``."""

from __future__ import annotations

from datetime import date

from common.cases.intake import service as intake
from common.cases.queries import CaseSearch, agent_case_page, area_case_page
from common.cases.review.service import clocks_of
from common.db import transaction


def test_pages_keep_the_order_across_the_open_and_closed_boundary(published, actors, k):
    clerk = actors["clerk"]
    filed = [k.file(published, clerk, applicant=k.applicant(name=f"甲{i}")) for i in range(7)]
    for case_no in filed[1:4]:  # closed: they sort after every open case
        k.do(published, intake.withdraw_case, clerk, case_no, "撤回")
    today = date(2026, 12, 31)  # the open ones have long been overdue (§32 deemed accepted)
    with transaction(published.engine) as session:
        pages = [
            area_case_page(session, published, today=today, page=n, per_page=3) for n in (1, 2, 3)
        ]
        whole = area_case_page(session, published, today=today, per_page=100)
        clocks = clocks_of(session, whole.cases, today)
    seen = [c.case_no for p in pages for c in p.cases]
    assert seen == [c.case_no for c in whole.cases] and sorted(seen) == sorted(filed)
    assert [p.total for p in pages] == [7, 7, 7] and pages[0].pages == 3
    assert set(seen[:4]) == {filed[0], *filed[4:]} and set(seen[4:]) == set(filed[1:4])
    assert all(clocks[no].status == "red" for no in seen[:4])


def test_case_search_conditions(village, actors, k):
    agent = actors["agent"]
    one = k.file(village, agent, k.VILLAGE_PENSION, applicant=k.applicant(name="赵_一"))
    two = k.file(
        village,
        agent,
        k.VILLAGE_PENSION,
        applicant=k.applicant(name="赵二", id_number=k.OTHER_PERSON_ID),
    )

    def found(**text: str) -> set[str]:
        search = CaseSearch.from_text(**text)
        with transaction(village.engine) as session:
            page = agent_case_page(session, village, agent.username, scope="all", search=search)
        return {c.case_no for c in page.cases}

    assert found() == {one, two}
    assert found(name="赵") == {one, two} and found(name="_") == {one}
    assert found(id_number=f" {k.OTHER_PERSON_ID} ") == {two}
    assert found(id_number=k.OTHER_PERSON_ID[:6] + "*" * 8 + k.OTHER_PERSON_ID[-4:]) == set()
    assert found(number=two) == {two}
    filed_on = k.case(village, one).filed_on
    assert found(filed_from=filed_on, filed_to=filed_on) == {one, two}
    assert found(filed_to="2000-01-01") == set() and found(filed_from="31/12/2026") == {one, two}
