"""What the local demo network is made of — its nodes, users and sample cases — and how
they are put in: through each node's HTTP API, as staff would.

The county and the two townships are real (DOMAIN.md: 430424 衡东县, 430424100 洣水镇,
430424101 石湾镇); the villages, people and identity numbers are samples, and their
names say so. ``simulation.demo`` runs the node processes and calls what is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from common.users.roles import HEAD_ROLES, ROLE_LABELS, Role

DEFAULT_BASE_PORT = 8400
# One shared, simple password so that the printed table is easy to use. Demo only.
DEMO_PASSWORD = "hengdong-demo"
# Children sync every few seconds so that a change shows up elsewhere almost at once.
SYNC_INTERVAL_SECONDS = 2

COUNTY_ID = "430424000000"
MISHUI_ID = "430424100000"
SHIWAN_ID = "430424101000"


@dataclass(frozen=True)
class DemoNode:
    node_id: str
    name: str
    port_offset: int  # the node listens on base port + offset
    parent: str | None  # the parent's node id; None for the root

    def port(self, base_port: int) -> int:
        return base_port + self.port_offset

    def url(self, base_port: int) -> str:
        return f"http://127.0.0.1:{self.port(base_port)}"


# Parents before children: the demo enrols and starts them in this order.
DEMO_NODES = (
    DemoNode(COUNTY_ID, "衡东县政务服务中心", 0, None),
    DemoNode(MISHUI_ID, "洣水镇便民服务中心", 10, COUNTY_ID),
    DemoNode(SHIWAN_ID, "石湾镇便民服务中心", 11, COUNTY_ID),
    DemoNode("430424100201", "洣水镇示例一村代办点", 20, MISHUI_ID),
    DemoNode("430424100202", "洣水镇示例二村代办点", 21, MISHUI_ID),
    DemoNode("430424101201", "石湾镇示例一村代办点", 22, SHIWAN_ID),
    DemoNode("430424101202", "石湾镇示例二村代办点", 23, SHIWAN_ID),
)
NODES_BY_ID = {node.node_id: node for node in DEMO_NODES}


@dataclass(frozen=True)
class DemoUser:
    node_id: str
    username: str
    display_name: str
    role: Role
    department: str | None = None

    @property
    def role_label(self) -> str:
        label = ROLE_LABELS[self.role]
        return f"{label}（{self.department}）" if self.department else label


ADMIN = DemoUser(
    COUNTY_ID, "admin", "衡东县政务服务中心管理员", Role.COUNTY_ADMIN
)  # made by `init`

MARKET = "衡东县市场监督管理局"  # 企业设立登记 (lead) and 食品经营许可
POLICE = "衡东县公安局"  # 企业设立登记 (parallel)
TAX = "国家税务总局衡东县税务局"  # 企业设立登记 (parallel)


def _demo_users() -> tuple[DemoUser, ...]:
    users = [
        ADMIN,
        DemoUser(COUNTY_ID, "window", "县综合窗口示例员", Role.COUNTY_WINDOW_CLERK),
        DemoUser(COUNTY_ID, "market", "市场监管审批示例员", Role.DEPARTMENT_REVIEWER, MARKET),
        DemoUser(COUNTY_ID, "police", "公安审批示例员", Role.DEPARTMENT_REVIEWER, POLICE),
        DemoUser(COUNTY_ID, "tax", "税务审批示例员", Role.DEPARTMENT_REVIEWER, TAX),
        DemoUser(COUNTY_ID, "auditor", "监督示例员", Role.AUDITOR),
    ]
    for node in DEMO_NODES:
        short = node.name.removesuffix("便民服务中心").removesuffix("代办点")
        if node.parent == COUNTY_ID:
            users.append(DemoUser(node.node_id, "clerk", f"{short}窗口示例员", Role.TOWNSHIP_CLERK))
            users.append(
                DemoUser(node.node_id, "approver", f"{short}审批示例员", Role.TOWNSHIP_APPROVER)
            )
        elif node.parent is not None:
            users.append(DemoUser(node.node_id, "agent", f"{short}代办示例员", Role.VILLAGE_AGENT))
    return tuple(users)


DEMO_USERS = _demo_users()


def users_of(node_id: str) -> list[DemoUser]:
    return [user for user in DEMO_USERS if user.node_id == node_id]


# -- sample cases -------------------------------------------------------------------

PENSION = (
    "54430424MEB423186J6002007001000"  # 城乡居民基本养老保险参保登记（村级代办）: village 即办件
)
SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county 即办件, licence
COMPANY = (
    "11430424MB1C5953154000119003001"  # 企业设立登记: county 承诺件, three departments in parallel
)
SUBSISTENCE = "11430424006817011Q5001004010002"  # 最低生活保障申请审核 (洣水镇): township 承诺件

# What the demo does with a case after filing it at the village.
ON_THE_SPOT = "on_the_spot"  # accept, approve and deliver at once (a 即办件)
HAND_UP = "hand_up"  # offer it to the node that handles the matter; staff there take it on


@dataclass(frozen=True)
class DemoCase:
    key: str  # stable name in demo.json, so that a restart files nothing twice
    village: str
    matter_code: str
    applicant_name: str
    applicant_id: str  # sample resident numbers (GB 11643 check digits are right)
    then: str


DEMO_CASES = (
    DemoCase(
        "mishui-1-pension",
        "430424100201",
        PENSION,
        "王德明（示例）",
        "430424195607201016",
        ON_THE_SPOT,
    ),
    DemoCase(
        "mishui-1-sole-trader",
        "430424100201",
        SOLE_TRADER,
        "张建国（示例）",
        "430424196503122019",
        HAND_UP,
    ),
    DemoCase(
        "mishui-2-pension",
        "430424100202",
        PENSION,
        "陈桂兰（示例）",
        "430424197209182023",
        ON_THE_SPOT,
    ),
    DemoCase(
        "mishui-2-subsistence",
        "430424100202",
        SUBSISTENCE,
        "李秀英（示例）",
        "430424197811054024",
        HAND_UP,
    ),
    DemoCase(
        "shiwan-1-pension",
        "430424101201",
        PENSION,
        "周强（示例）",
        "430424198804021018",
        ON_THE_SPOT,
    ),
    DemoCase(
        "shiwan-1-company", "430424101201", COMPANY, "刘伟（示例）", "430424198506305012", HAND_UP
    ),
    DemoCase(
        "shiwan-2-pension",
        "430424101202",
        PENSION,
        "赵丽（示例）",
        "430424199002153021",
        ON_THE_SPOT,
    ),
)

# One small scan stands in for every material of the sample cases.
SAMPLE_SCAN = (
    b"%PDF-1.7\n% onetrip demo: sample material, not a real document\n"
    b"1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
)


# -- putting it in, through the API --------------------------------------------------


class DemoError(RuntimeError):
    """The demo cannot go on; the message says why, in Chinese, for the console."""


class DemoApi:
    """The demo's client of the nodes' API: a bearer token for each user it logged in."""

    def __init__(self, base_port: int) -> None:
        self.base_port = base_port
        self.tokens: dict[tuple[str, str], str] = {}

    def has_token(self, user: DemoUser) -> bool:
        return (user.node_id, user.username) in self.tokens

    def log_in(self, user: DemoUser) -> bool:
        url = NODES_BY_ID[user.node_id].url(self.base_port)
        response = httpx.post(
            f"{url}/api/v1/auth/token",
            timeout=30,
            json={"username": user.username, "password": DEMO_PASSWORD, "label": "onetrip demo"},
        )
        if response.status_code == 200:
            self.tokens[(user.node_id, user.username)] = response.json()["token"]
        return response.status_code == 200

    def call(self, user: DemoUser, method: str, path: str, **kwargs: Any) -> Any:
        """A request by ``user`` at the user's own node; a refusal becomes a DemoError."""
        node = NODES_BY_ID[user.node_id]
        token = self.tokens[(user.node_id, user.username)]
        response = httpx.request(
            method,
            f"{node.url(self.base_port)}{path}",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )
        if response.status_code >= 400:
            try:
                detail = response.json()
                message = f"{detail.get('message')} [{detail.get('code')}]"
            except ValueError:
                message = response.text[:300]
            raise DemoError(
                f"{node.name} 拒绝了 {method} {path}（{response.status_code}）：{message}"
            )
        return response.json()


def provision_users(api: DemoApi, nodes: list[DemoNode]) -> list[DemoUser]:
    """Open the accounts of ``nodes`` that the county does not have yet; return them.
    The county writes every user record (the only writer); sync takes it to its node."""
    existing = {(u["node_id"], u["username"]) for u in api.call(ADMIN, "GET", "/api/v1/users")}
    wanted = [
        u for n in nodes for u in users_of(n.node_id) if (u.node_id, u.username) not in existing
    ]
    for user in wanted:
        api.call(
            ADMIN,
            "POST",
            "/api/v1/users",
            json={
                "node_id": user.node_id,
                "username": user.username,
                "display_name": user.display_name,
                "role": user.role.value,
                "department": user.department,
                "password": DEMO_PASSWORD,
                # In the demo each department's and township's one reviewer heads it
                # (本行政机关负责人, who approves extensions: 行政许可法 §42).
                "head": user.role.value in HEAD_ROLES,
            },
        )
    return wanted


def file_sample_case(api: DemoApi, case: DemoCase) -> dict[str, str]:
    """File ``case`` at its village as the village agent, then settle or hand it up;
    returns the case number and a line saying what happened."""
    village = NODES_BY_ID[case.village]
    agent = users_of(village.node_id)[0]
    matter = api.call(agent, "GET", f"/api/v1/catalogue/matters/{case.matter_code}")["matter"]
    scan = api.call(
        agent,
        "POST",
        "/api/v1/blobs",
        files={"file": ("示例材料.pdf", SAMPLE_SCAN, "application/pdf")},
    )
    filed = api.call(
        agent,
        "POST",
        "/api/v1/cases",
        json={
            "matter_code": case.matter_code,
            "materials": [
                {"position": i, "blob_sha256": scan["sha256"]}
                for i, m in enumerate(matter["materials"])
                if m["mandatory"]
            ],
            "applicant": {
                "kind": "person",
                "name": case.applicant_name,
                "id_number": case.applicant_id,
            },
            "visit": {"who": "applicant", "place": village.name, "purpose": "提交申请"},
        },
    )
    path = f"/api/v1/cases/{filed['case_no']}"
    if case.then == HAND_UP:
        offer = api.call(agent, "POST", f"{path}/handoff", json={})
        target = NODES_BY_ID.get(offer["pending_offer_to"])
        outcome = f"已移交{target.name if target else offer['pending_offer_to']}，待其接收"
    else:
        api.call(agent, "POST", f"{path}/accept")
        api.call(
            agent,
            "POST",
            f"{path}/decide",
            json={"decision": "approved", "reason": "材料齐全，当场办结（示例）"},
        )
        api.call(agent, "POST", f"{path}/deliver", json={"method": "window"})
        outcome = "当场办结并送达"
    return {
        "case_no": filed["case_no"],
        "note": f"{village.name}代办 {matter['name']}（{case.applicant_name}），{outcome}",
    }
