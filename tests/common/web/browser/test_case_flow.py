"""The whole flow in real browsers against the demo network's node processes.

A village agent files a county matter (企业设立登记, three departments in parallel) in
the browser of the village node and hands it to the township; the township clerk
takes it and passes it up in the township node's browser; the county window accepts
it, three department reviewers give their opinions and the lead department decides
in the county node's browser; the licence comes home by sync and the agent delivers
it; the public verification page checks the licence from its QR payload. Every page
visited is checked (status, console errors, title, labels) and photographed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_testing import ARTIFACTS, CheckedTab
from demo_testing import start_demo

from simulation.demo_data import COMPANY, COUNTY_ID, DEMO_PASSWORD, NODES_BY_ID, PENSION

pytestmark = pytest.mark.sqlite_only  # the demo's nodes keep their own SQLite files

VILLAGE = "430424100201"
TOWNSHIP = "430424100000"  # 洣水镇
APPLICANT = "91430424MA4T8K2L0E"  # a sample unified social credit code (GB 32100 check right)
SYNC_WAIT = 60  # seconds for sync between processes on a loaded two-core machine


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    run = start_demo(tmp_path_factory.mktemp("demo"))
    try:
        yield {node_id: node.url(run.base_port) for node_id, node in NODES_BY_ID.items()}
    finally:
        (ARTIFACTS / "demo-output.txt").parent.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "demo-output.txt").write_text(run.output, encoding="utf-8")
        run.kill_leftovers()


def _scan(tmp_path: Path) -> str:
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.7\n% browser test scan\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    return str(path)


def _until(tab: CheckedTab, url: str, name: str, ready: Callable[[], bool]) -> None:
    """Reload ``url`` until ``ready()``: sync between the node processes takes a moment."""
    deadline = time.monotonic() + SYNC_WAIT
    while True:
        tab.visit(url, name)
        if ready():
            return
        assert time.monotonic() < deadline, f"{name}: not there after {SYNC_WAIT} s"
        time.sleep(1)


def _file_company_case(agent: CheckedTab, village: str, scan: str) -> str:
    agent.log_in(village, "agent", DEMO_PASSWORD)
    agent.visit(f"{village}/agent/matters", "matters")
    agent.page.fill("[data-testid=matter-search-input]", "企业设立登记")
    agent.submit("[data-testid=matter-search-button]", "matters-found")
    row = agent.page.locator(f"[data-testid=matter-row][data-code='{COMPANY}']")
    with agent.page.expect_navigation():
        row.locator("[data-testid=guide-link]").click()
    agent.check("guide")
    assert "营业执照" in agent.page.inner_text("main")
    with agent.page.expect_navigation():
        agent.page.click("[data-testid=start-filing]")
    agent.check("intake-form")
    page = agent.page
    page.select_option(
        "select[name=applicant_kind]", "enterprise"
    )  # 企业设立登记 serves enterprises
    page.fill("[data-testid=applicant-name]", "衡东县示例农产品有限公司")
    page.fill("[data-testid=applicant-id]", APPLICANT)
    page.fill("[data-testid=applicant-phone]", "13807340000")
    materials = page.locator("[data-testid^=material-]")
    for index in range(materials.count()):
        page.check(f"input[name=m{index}_ok]")
        page.set_input_files(f"input[name=m{index}_file]", scan)
    page.select_option("select[name=handoff_to]", TOWNSHIP)
    agent.submit("[data-testid=submit-handoff]", "filed-and-handed-to-township")
    case_no = page.inner_text("[data-testid=case-no]").strip()
    assert "洣水镇" in page.inner_text("main")  # 转交中（待洣水镇…接收）
    return case_no


def _take_in_inbox(tab: CheckedTab, url: str, case_no: str) -> None:
    item = tab.page.locator("[data-testid=inbox-item]", has_text=case_no)
    _until(tab, f"{url}/staff/inbox", "inbox", lambda: item.count() == 1)
    with tab.page.expect_navigation():
        item.locator("[data-testid=inbox-accept-button]").click()
    tab.check("inbox-accepted")


def test_a_county_case_filed_in_the_village_browser_comes_back_as_a_licence(
    demo: dict[str, str], new_tab: Callable[[str], CheckedTab], tmp_path: Path
) -> None:
    village, township, county = demo[VILLAGE], demo[TOWNSHIP], demo[COUNTY_ID]

    agent = new_tab("village-agent")
    case_no = _file_company_case(agent, village, _scan(tmp_path))

    # The township centre takes the offer and passes the county matter up.
    clerk = new_tab("township-clerk")
    clerk.log_in(township, "clerk", DEMO_PASSWORD)
    _take_in_inbox(clerk, township, case_no)
    clerk.submit("[data-testid=escalate-button]", "escalated-to-county")
    assert "待" in clerk.page.inner_text("main") or "移交" in clerk.page.inner_text("main")

    # The county window takes it and accepts it: three parallel review tasks open.
    window = new_tab("county-window")
    window.log_in(county, "window", DEMO_PASSWORD)
    _take_in_inbox(window, county, case_no)
    window.submit("[data-testid=accept-button]", "accepted")
    assert window.page.get_attribute("[data-testid=case-state]", "data-state") == "accepted"

    # Each department sees only its own task and agrees; the lead decides.
    for username in ("police", "tax", "market"):
        reviewer = new_tab(f"reviewer-{username}")
        reviewer.log_in(county, username, DEMO_PASSWORD)
        reviewer.visit(f"{county}/staff/tasks", "tasks")
        task = reviewer.page.locator("[data-testid=task-row]", has_text=case_no)
        assert task.count() == 1, f"{username} should see exactly its own task"
        with reviewer.page.expect_navigation():
            task.locator("[data-testid=task-link]").click()
        reviewer.check("case-for-review")
        reviewer.page.locator("[data-testid=opinion-agree]").first.check()
        reviewer.submit("[data-testid=opinion-button]", "opinion-given")
    reviewer.page.check("[data-testid=decision-approved]")
    reviewer.submit("[data-testid=decide-button]", "decided")
    licence_id = reviewer.page.inner_text("[data-testid=licence-id]").strip()
    assert licence_id.startswith("1.2.156.3005.2.")

    # The result comes home by sync; the agent delivers the licence and records a rating.
    case_url = f"{village}/agent/cases/{case_no}"
    _until(
        agent,
        case_url,
        "case-home",
        lambda: agent.page.locator("[data-testid=deliver-button]").count() == 1,
    )
    assert licence_id in agent.page.inner_text("[data-testid=licence]")
    agent.submit("[data-testid=deliver-button]", "delivered")
    assert agent.page.get_attribute("[data-testid=case-state]", "data-state") == "delivered"
    agent.page.check("[data-testid=rating-5]")
    agent.submit("[data-testid=rate-button]", "rated")

    # The township saw the case pass; the public verifies the licence from its QR payload.
    clerk.visit(f"{township}/staff/cases?number={case_no}", "township-cases")
    assert case_no in clerk.page.inner_text("main")
    qr = agent.page.request.get(f"{village}/api/v1/licences/{licence_id}/qr")
    assert qr.status == 200
    payload = qr.json()["payload"]
    public = new_tab("public")
    public.visit(f"{county}/verify?p={payload}", "verify-licence")
    result = public.page.locator("[data-testid=verify-result]")
    assert result.get_attribute("data-valid") == "true"
    assert licence_id in result.inner_text()
    assert APPLICANT not in public.page.content()  # the holder's code is masked
    pdf = agent.page.request.get(f"{village}/api/v1/licences/{licence_id}.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    (ARTIFACTS / "licence.pdf").write_bytes(pdf.body())  # kept for people to look at


def test_main_pages_of_every_role_open_cleanly(
    demo: dict[str, str], new_tab: Callable[[str], CheckedTab]
) -> None:
    county, township, village = demo[COUNTY_ID], demo[TOWNSHIP], demo[VILLAGE]
    public = new_tab("public")
    for path, name in (
        ("/portal", "portal"),
        ("/guides", "guides"),
        (f"/guides/{COMPANY}", "guide"),
        ("/progress", "progress"),
        ("/verify", "verify"),
    ):
        public.visit(county + path, name)
    admin = new_tab("county-admin")
    admin.log_in(county, "admin", DEMO_PASSWORD)
    for path in (
        "/admin/health",
        "/admin/catalogue",
        "/admin/calendar",
        "/admin/nodes",
        "/admin/users",
        "/staff/cases",
    ):
        admin.visit(county + path, path.strip("/").replace("/", "-"))
    assert admin.page.locator("[data-testid=case-row]").count() >= 1
    approver = new_tab("township-approver")
    approver.log_in(township, "approver", DEMO_PASSWORD)
    for path in ("/staff/tasks", "/staff/cases"):
        approver.visit(township + path, path.strip("/").replace("/", "-"))
    agent = new_tab("village-agent-pages")
    agent.log_in(village, "agent", DEMO_PASSWORD)
    agent.visit(f"{village}/agent/cases", "my-cases")
    assert agent.page.locator("[data-testid=sync-banner]").count() == 1


def test_the_identity_number_is_checked_as_it_is_typed(
    demo: dict[str, str], new_tab: Callable[[str], CheckedTab]
) -> None:
    agent = new_tab("village-agent-typing")
    agent.log_in(demo[VILLAGE], "agent", DEMO_PASSWORD)
    agent.visit(f"{demo[VILLAGE]}/agent/file/{PENSION}", "intake-person")
    message = agent.page.locator("[data-testid=id-check-message]")
    agent.page.fill("[data-testid=applicant-id]", "430424195607201017")  # last character wrong
    agent.page.locator("[data-testid=applicant-id]").blur()
    assert "校验位" in message.inner_text()
    assert agent.page.get_attribute("[data-testid=applicant-id]", "aria-invalid") == "true"
    agent.page.fill("[data-testid=applicant-id]", "430424195607201016")
    agent.page.locator("[data-testid=applicant-id]").blur()
    assert message.is_hidden()
