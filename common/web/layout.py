"""What every page shows around its content: the node, the user, navigation by role
with the work counters of its lists (``common.web.work``), the sync banner (online or
not, last sync, how much is waiting to go up) and, when this node's writes are held,
why and what happens next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from common.identity.models import RegistryNode
from common.ledger.hold import write_hold
from common.node import ThisNode
from common.tiers import load_tier
from common.timeutil import utcnow
from common.users.roles import ROLE_LABELS, Role
from common.web.work import WORK_LINKS, work_counts, work_elsewhere

if TYPE_CHECKING:
    from common.web.page import Page

# Every role but the department reviewer's sees its area's figures; everyone has 督办
# (an auditor those it sent, the others those sent to their node).
SUPERVISION = ("督办", "/oversight/supervisions")
OVERSIGHT = [("数据看板", "/oversight"), SUPERVISION]
# Navigation by role: (label, path). The first entry is the user's home screen.
NAV: dict[Role, list[tuple[str, str]]] = {
    Role.VILLAGE_AGENT: [("代办受理", "/agent/matters"), ("我的办件", "/agent/cases"), *OVERSIGHT],
    Role.TOWNSHIP_CLERK: [
        ("转交收件箱", "/staff/inbox"),
        ("窗口受理", "/staff/queue"),
        ("辖区办件", "/staff/cases"),
        *OVERSIGHT,
    ],
    Role.TOWNSHIP_APPROVER: [
        ("审批任务", "/staff/tasks"),
        ("辖区办件", "/staff/cases"),
        *OVERSIGHT,
    ],
    Role.COUNTY_WINDOW_CLERK: [
        ("窗口受理", "/staff/queue"),
        ("转交收件箱", "/staff/inbox"),
        ("全部办件", "/staff/cases"),
        *OVERSIGHT,
    ],
    Role.DEPARTMENT_REVIEWER: [("审批任务", "/staff/tasks"), SUPERVISION],
    Role.COUNTY_ADMIN: [
        ("节点运行", "/admin/health"),
        ("事项目录", "/admin/catalogue"),
        ("工作日历", "/admin/calendar"),
        ("节点管理", "/admin/nodes"),
        ("用户管理", "/admin/users"),
        ("全部办件", "/staff/cases"),
        *OVERSIGHT,
    ],
    Role.AUDITOR: [("全部办件", "/staff/cases"), ("节点运行", "/admin/health"), *OVERSIGHT],
}
PUBLIC_NAV = [("办事指南", "/guides"), ("办件查询", "/progress"), ("证照核验", "/verify")]


def home_path(role: Role | None) -> str:
    entries = NAV.get(role) if role else None
    return entries[0][1] if entries else "/portal"


def node_heading(node: ThisNode, session: Session | None = None) -> str:
    """The registry's name of this node and its tier, e.g. 洣水镇（乡镇节点）."""
    if session is None:
        with Session(node.engine) as own:
            return node_heading(node, own)
    name = session.execute(
        select(col(RegistryNode.name)).where(col(RegistryNode.node_id) == node.node_id)
    ).scalar()
    try:
        tier_label = load_tier(node.tier).label
    except LookupError:
        tier_label = node.tier
    return f"{name or node.node_id}（{tier_label}节点）"


@dataclass(frozen=True)
class Banner:
    online: bool
    last_sync: Any
    waiting: int
    detail: str


def sync_banner(page: Page) -> Banner | None:
    """The link to the parent as the people at this node need to see it; None at the root."""
    from common.sync.models import OutboxEntry, SyncCursor
    from common.sync.routing import parent_of

    node = page.node
    parent = parent_of(page.session, node.node_id)
    if parent is None:
        return None
    cursor = page.session.get(SyncCursor, parent)
    acked = cursor.sent_acked if cursor else 0
    waiting = int(
        page.session.execute(
            select(func.count())
            .select_from(OutboxEntry)
            .where(col(OutboxEntry.peer) == parent, col(OutboxEntry.seq) > acked)
        ).scalar_one()
    )
    scheduler = getattr(page.request.app.state, "sync", None)
    last = getattr(scheduler, "last_success", None) if scheduler else None
    failing = bool(scheduler and scheduler.backoff.failures)
    interval = node.settings.sync_interval_seconds
    online = bool(
        last and not failing and utcnow() - last <= timedelta(seconds=max(3 * interval, 60))
    )
    if scheduler is None:
        detail = "本节点未启用自动同步"
    elif failing:
        detail = "与上级节点的连接中断，恢复后将自动补传"
    else:
        detail = "与上级节点连接正常" if online else "正在连接上级节点"
    return Banner(online=online, last_sync=last, waiting=waiting, detail=detail)


def layout_context(page: Page) -> dict[str, Any]:
    actor = page.actor
    nav = NAV.get(actor.role, []) if actor and actor.role else []
    counts = work_counts(page, nav) if nav else {}
    heading = node_heading(page.node, page.session)
    page.request.app.state.node_label = heading  # for error pages, which must not query
    return {
        "node": page.node,
        "node_label": heading,
        "actor": actor,
        "role_label": ROLE_LABELS.get(actor.role, "") if actor and actor.role else "",
        "nav": nav,
        "work_counts": counts,
        "work_links": WORK_LINKS,
        "work_elsewhere": work_elsewhere(nav, counts, page.request.url.path),
        "public_nav": PUBLIC_NAV,
        "banner": sync_banner(page) if actor else None,
        # Every screen, signed in or not, says when this node may not write.
        "write_hold": write_hold(page.node.engine),
        "csrf_token": page.csrf_token,
        "current_path": page.request.url.path,
        "errors": {},
        "error": None,
    }
