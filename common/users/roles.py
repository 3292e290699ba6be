"""Roles and the acting user.

Rights are checked in action functions (``require_role``), not only in screens.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from common.errors import Forbidden


class Role(StrEnum):
    VILLAGE_AGENT = "village_agent"  # 村代办员
    TOWNSHIP_CLERK = "township_clerk"  # 乡镇窗口人员
    TOWNSHIP_APPROVER = "township_approver"  # 乡镇审批人员
    COUNTY_WINDOW_CLERK = "county_window_clerk"  # 县综合窗口人员
    DEPARTMENT_REVIEWER = "department_reviewer"  # 部门审批人员
    COUNTY_ADMIN = "county_admin"  # 县管理员
    AUDITOR = "auditor"  # 审计/监督人员


ROLE_LABELS = {
    Role.VILLAGE_AGENT: "村代办员",
    Role.TOWNSHIP_CLERK: "乡镇窗口人员",
    Role.TOWNSHIP_APPROVER: "乡镇审批人员",
    Role.COUNTY_WINDOW_CLERK: "县综合窗口人员",
    Role.DEPARTMENT_REVIEWER: "部门审批人员",
    Role.COUNTY_ADMIN: "县管理员",
    Role.AUDITOR: "审计监督人员",
}

# Roles whose holder may be the head of their organ (本行政机关负责人): a department's
# reviewer at the county, the township's approver.
HEAD_ROLES = frozenset({"department_reviewer", "township_approver"})

# Which tier a role belongs on; the tier packages mount the matching screens.
ROLE_TIERS = {
    Role.VILLAGE_AGENT: {"village"},
    Role.TOWNSHIP_CLERK: {"township"},
    Role.TOWNSHIP_APPROVER: {"township"},
    Role.COUNTY_WINDOW_CLERK: {"county"},
    Role.DEPARTMENT_REVIEWER: {"county"},
    Role.COUNTY_ADMIN: {"county"},
    Role.AUDITOR: {"county", "township"},
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user of this node, or the node itself (``system``)."""

    username: str
    node_id: str
    role: Role | None
    department: str | None = None
    system: bool = False
    head: bool = False  # 本行政机关负责人 (see ``HEAD_ROLES``)

    @classmethod
    def node_system(cls, node_id: str) -> Actor:
        """The node acting on its own behalf (CLI on the node's machine, jobs)."""
        return cls(username="system", node_id=node_id, role=None, system=True)


def require_role(actor: Actor, *roles: Role) -> None:
    """Refuse unless the actor holds one of ``roles`` (the node's own CLI always may)."""
    if actor.system:
        return
    if actor.role not in roles:
        allowed = "、".join(ROLE_LABELS[r] for r in roles)
        raise Forbidden("auth.role", f"此操作仅限{allowed}", field="role")


def require_role_here(tier: str, actor: Actor, *roles: Role) -> None:
    """``require_role`` plus: the role must belong on this node's tier (a township
    approver's rights do not follow it onto a county node), whatever screens allow."""
    require_role(actor, *roles)
    if actor.system or actor.role is None:
        return
    if tier not in ROLE_TIERS.get(actor.role, set()):
        raise Forbidden(
            "auth.role", f"{ROLE_LABELS[actor.role]}不能在本级节点办理此操作", field="role"
        )
