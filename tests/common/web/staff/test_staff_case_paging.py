"""The cases of the area a page at a time (issue 13, item 13): 50 a page with 上一页/下一页,
the number and the total; every case on exactly one page, overdue first across pages, the
closed ones last; searched by the applicant's name, the whole identity number (a masked
one finds nothing, and the page never shows it unmasked), the case number and the filing
dates, next to the filters; a department still sees only the cases it has tasks in."""

from __future__ import annotations

import re

from common.cases.intake import service as intake

# The staff's order of clock statuses, as /staff/cases has always had it.
URGENCY = {"red": 0, "yellow": 1, "normal": 2, "paused": 3, "not_started": 4, "ended": 6}


def listed(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="case-row" data-case-no="([^"]+)" data-status="([^"]+)"', html)


def numbers(html: str) -> list[str]:
    return [n for n, _ in listed(html)]


def test_every_case_on_exactly_one_page_overdue_first(published, actors, browser, k, today):
    clerk = actors["clerk"]
    today("2026-11-02")  # not accepted within five working days: deemed accepted, overdue
    early = [k.file(published, clerk, applicant=k.applicant(name=f"早{i:02d}")) for i in range(40)]
    today("2026-11-19")
    late = [k.file(published, clerk, applicant=k.applicant(name=f"晚{i:02d}")) for i in range(80)]
    withdrawn = late[:2]
    for case_no in withdrawn:
        k.do(published, intake.withdraw_case, clerk, case_no, "申请人撤回")
    today("2026-11-20")

    auditor = browser(published, "auditor")
    pages = [auditor.get(f"/staff/cases?page={n}") for n in (1, 2, 3)]
    assert [p.status_code for p in pages] == [200, 200, 200]
    rows = [row for p in pages for row in listed(p.text)]
    assert [len(listed(p.text)) for p in pages] == [50, 50, 20]
    assert sorted(n for n, _ in rows) == sorted(early + late)  # each exactly once
    # Overdue first across the pages, the withdrawn ones last of all.
    assert {n for n, _ in rows[:40]} == set(early)
    assert all(status == "red" for _, status in rows[:40])
    assert {n for n, _ in rows[-2:]} == set(withdrawn)
    ranks = [URGENCY["ended" if n in withdrawn else s] for n, s in rows]
    assert ranks == sorted(ranks)

    first, middle, last = (p.text for p in pages)
    assert "第 1 / 3 页，共 120 件" in first and 'data-testid="pager-next"' in first
    assert 'data-testid="pager-prev"' not in first
    assert 'href="/staff/cases?page=1"' in middle and 'href="/staff/cases?page=3"' in middle
    assert "上一页" in last and 'data-testid="pager-next"' not in last
    # A page past the end is the last page; filters travel with the pager's links.
    assert numbers(auditor.get("/staff/cases?page=9").text) == numbers(last)
    filtered = auditor.get("/staff/cases?state=filed&name=晚").text
    assert "共 78 件" in filtered and "/staff/cases?state=filed&amp;name=%E6%99%9A&amp;page=2" in (
        filtered
    )


def test_search_by_name_identity_number_case_number_and_dates(published, actors, browser, k, today):
    clerk = actors["clerk"]
    today("2026-11-02")
    wang = k.file(published, clerk, applicant=k.applicant(name="王小明", id_number=k.PERSON_ID))
    today("2026-11-09")
    li = k.file(published, clerk, applicant=k.applicant(name="李四", id_number=k.OTHER_PERSON_ID))
    today("2026-11-16")
    wang2 = k.file(published, clerk, applicant=k.applicant(name="王大明", id_number=k.PERSON_ID))
    today("2026-11-20")
    auditor = browser(published, "auditor")

    def found(query: str) -> set[str]:
        page = auditor.get(f"/staff/cases?{query}")
        assert page.status_code == 200
        assert k.PERSON_ID not in page.text and k.OTHER_PERSON_ID not in page.text
        return set(numbers(page.text))

    assert found("name=明") == {wang, wang2}
    assert found("name=王小") == {wang}
    assert found(f"id_number={k.PERSON_ID}") == {wang, wang2}
    assert found(f"id_number={k.PERSON_ID.lower()}") == {wang, wang2}  # a check digit x
    masked = k.PERSON_ID[:4] + "*" * 10 + k.PERSON_ID[-4:]
    assert found(f"id_number={masked}") == set()
    assert found(f"id_number={k.PERSON_ID[:-1]}") == set()  # not the whole number
    assert f">{masked}</span>" in auditor.get(f"/staff/cases?id_number={k.PERSON_ID}").text
    assert found(f"number={li[-9:]}") == {li}
    assert found("filed_from=2026-11-05&filed_to=2026-11-16") == {li, wang2}
    assert found("filed_from=2026-11-10") == {wang2}
    assert found("filed_to=2026-11-02") == {wang}
    assert found("filed_from=not-a-date") == {wang, li, wang2}  # ignored, not refused
    assert found("name=明&filed_from=2026-11-10&state=filed") == {wang2}
    assert found("name=%25") == set()  # a wildcard is a character like any other


def test_a_department_searches_only_its_cases(published, actors, browser, k, stored_pdf, today):
    clerk = actors["clerk"]
    today("2026-11-10")
    every = [{"position": i, "blob_sha256": stored_pdf} for i in range(5)]
    company = k.file(published, clerk, k.COMPANY, materials=every)  # police has a task on it
    k.do(published, intake.accept_case, clerk, company)
    food = k.file(published, clerk)  # the same applicant, no police task
    police = browser(published, "police")
    assert numbers(police.get("/staff/cases").text) == [company]
    assert numbers(police.get("/staff/cases?name=张三").text) == [company]
    assert numbers(police.get("/staff/cases?name=无此人").text) == []
    assert numbers(police.get(f"/staff/cases?id_number={k.PERSON_ID}").text) == [company]
    assert numbers(police.get(f"/staff/cases?number={food}").text) == []
    assert "共 1 件" in police.get("/staff/cases").text
