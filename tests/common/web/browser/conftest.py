"""Fixtures of the browser tests: one Chromium per module, tabs of a given width, and a small
network with realistic work on it (the county, 洣水镇 and its sample village served over the
root's database, a user of every role, cases in every work list).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from browser_testing import CHROMIUM_FLAGS, chromium_executable
from case_fixtures import applicant, resident_id, uscc
from onetrip_testing import ADMIN_PASSWORD, COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID

from common.cases.handoff import service as handoff
from common.cases.intake import service as intake
from common.db import transaction
from common.node import ThisNode
from common.users.roles import HEAD_ROLES, Actor, Role


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(), headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_tab(browser: Any) -> Iterator[Any]:
    from browser_testing import CheckedTab

    contexts: list[Any] = []

    def make(who: str) -> CheckedTab:
        context = browser.new_context(
            locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900}
        )
        contexts.append(context)
        return CheckedTab(context.new_page(), who)

    yield make
    for context in contexts:
        context.close()


# -- a network with work on it ---------------------------------------------------------------

PASSWORD = "hengdong-phone-2026"
MARKET = "衡东县市场监督管理局"
COMPANY = "11430424MB1C5953154000119003001"  # 企业设立登记: three departments in parallel
FOOD_LICENCE = "11430424MB1C5953154000119001001"  # 食品经营许可（新办）
HOUSE_TRANSFER = (
    "11430424MB1C5742104000708002001"  # 国有建设用地使用权及房屋所有权转移登记（存量房买卖）
)
NAME_CHANGE = (
    "11430424MB1C5742104000708004001"  # 不动产变更登记（权利人姓名、名称或者身份证明变更）
)
INVOICE_LIMIT = (
    "11430424MB1C4H7Q914000122002002"  # 增值税专用发票（增值税税控系统）最高开票限额审批
)
MINIMUM_LIVING = "11430424006817011Q5001004010002"  # 最低生活保障申请审核: township
PENSION = "54430424MEB423186J6002007001000"  # 城乡居民基本养老保险参保登记（村级代办）
ELDERLY = "54430424MEB423186J6432004015000"  # 高龄津贴申请代办: village 即办件

# username -> (node, role, department)
USERS: dict[str, tuple[str, Role, str | None]] = {
    "agent": (VILLAGE_ID, Role.VILLAGE_AGENT, None),
    "tclerk": (TOWNSHIP_ID, Role.TOWNSHIP_CLERK, None),
    "tapprover": (TOWNSHIP_ID, Role.TOWNSHIP_APPROVER, None),
    "clerk": (COUNTY_ID, Role.COUNTY_WINDOW_CLERK, None),
    "scjg": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, MARKET),
    "auditor": (COUNTY_ID, Role.AUDITOR, None),
}


@dataclass
class Network:
    county: ThisNode
    township: ThisNode
    village: ThisNode
    cases: dict[str, str]  # what each case is for -> its number
    urls: dict[str, str]  # node id -> the base URL of its served app

    def url_of(self, username: str) -> str:
        return self.urls[COUNTY_ID if username == "admin" else USERS[username][0]]

    @staticmethod
    def password_of(username: str) -> str:
        return ADMIN_PASSWORD if username == "admin" else PASSWORD


def actor(username: str) -> Actor:
    node_id, role, department = USERS[username]
    return Actor(
        username=username,
        node_id=node_id,
        role=role,
        department=department,
        head=role.value in HEAD_ROLES,
    )


def provision(county: ThisNode, admin: Actor) -> None:
    from common.users.service import provision_user

    with transaction(county.engine) as session:
        for username, (node_id, role, department) in USERS.items():
            provision_user(
                session,
                county,
                admin,
                node_id=node_id,
                username=username,
                display_name=f"测试{username}",
                role=role,
                department=department,
                password=PASSWORD,
                head=role.value in HEAD_ROLES,
            )


def _file(node: ThisNode, who: str, code: str, person: dict[str, Any], sha: str) -> str:
    from common.catalog.service import get_published

    with transaction(node.engine) as session:
        count = len(get_published(session, code).to_matter().materials)
        materials = [{"position": i, "blob_sha256": sha} for i in range(count)]
        return intake.file_case(
            session, node, actor(who), matter_code=code, applicant=person, materials=materials
        ).case_no


def _do(node: ThisNode, action: Any, who: str, *args: Any, **kwargs: Any) -> Any:
    with transaction(node.engine) as session:
        return action(session, node, actor(who), *args, **kwargs)


def build_work(county: ThisNode, township: ThisNode, village: ThisNode, sha: str) -> dict[str, str]:
    """Cases in every work list; the numbers by what they are for."""
    company = applicant(
        "enterprise", uscc("91430424MA4T8K2L0"), "衡东县洣水镇示例农产品专业合作社联合社有限公司"
    )
    elderly = applicant(name="欧阳长寿", id_number=resident_id("43042419300101123"))
    cases: dict[str, str] = {}
    # At the village: one to hand up, two handed up to the county, one to the township.
    cases["village_todo"] = _file(village, "agent", PENSION, applicant(name="李四"), sha)
    for n, code in enumerate((FOOD_LICENCE, NAME_CHANGE)):
        case_no = _file(village, "agent", code, applicant(name=f"王{'五六'[n]}"), sha)
        _do(village, handoff.offer_handoff, "agent", case_no)
        cases[f"county_offer_{n}"] = case_no
    cases["township_offer"] = _file(village, "agent", MINIMUM_LIVING, elderly, sha)
    _do(village, handoff.offer_handoff, "agent", cases["township_offer"])
    # At the county window: the queue (long names), and a company case under review.
    for n, code in enumerate((HOUSE_TRANSFER, NAME_CHANGE, INVOICE_LIMIT)):
        person = company if code == INVOICE_LIMIT else applicant(name=f"赵{'甲乙丙'[n]}")
        cases[f"queue_{n}"] = _file(county, "clerk", code, person, sha)
    cases["review"] = _file(county, "clerk", COMPANY, company, sha)
    _do(county, intake.accept_case, "clerk", cases["review"])
    # At the township window: a case waiting to be accepted.
    cases["township_queue"] = _file(township, "tclerk", MINIMUM_LIVING, applicant(), sha)
    return cases


@pytest.fixture
def work_network(
    published: ThisNode,
    township: ThisNode,
    village: ThisNode,
    admin: Actor,
    stored_pdf: str,
    serve: Callable[..., Any],
) -> Network:
    """The county, 洣水镇 and the sample village, served, with a user of every role and
    work in every list."""
    provision(published, admin)
    cases = build_work(published, township, village, stored_pdf)
    urls = {node.node_id: serve(node).url for node in (published, township, village)}
    return Network(published, township, village, cases, urls)


PHONE = {"width": 375, "height": 800}


@pytest.fixture
def phone_tab(browser: Any) -> Iterator[Callable[[str], Any]]:
    """phone_tab(who) -> a checked tab 375 px wide (a phone)."""
    from browser_testing import CheckedTab

    contexts: list[Any] = []

    def make(who: str) -> CheckedTab:
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE)
        contexts.append(context)
        return CheckedTab(context.new_page(), f"phone-{who}")

    yield make
    for context in contexts:
        context.close()
