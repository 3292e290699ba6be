"""Work counters: how much waits in each work list of a role's menu (the inbox of
handoff offers, the window queue, open review tasks, the agent's cases to act on, the
nodes the county must look at), and what an empty list says waits elsewhere.

Each counter is the domain's count of exactly what the list's page shows
(``common.cases.queries``, ``common.sync.queries``), for the lists a role's menu links
to (``layout.NAV``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from common.cases import queries as case_queries
from common.supervision import service as supervision
from common.sync import queries as sync_queries
from common.sync.queries import NodeRow
from common.timeutil import local_today
from common.web.queries_staff import WINDOWS

if TYPE_CHECKING:
    from common.web.page import Page


def _queue(page: Page) -> int:
    # The county's queue is one window at a time (a tab each): the menu counts them all.
    if page.node.tier == "county":
        return case_queries.window_queue_count(
            page.session, page.node, [code for code, _ in WINDOWS]
        )
    return case_queries.acceptance_queue_count(page.session, page.node)


def needs_attention(nodes: list[NodeRow]) -> list[NodeRow]:
    """The nodes of the health overview someone must look at: silent, or flagged (wrote
    what it may not, lost its writes, forked), unless revoked."""
    return [n for n in nodes if n.state == "silent" or (n.flagged and n.state != "revoked")]


def _health(page: Page) -> int:
    return len(needs_attention(sync_queries.node_overview(page.session, page.node)))


def _supervisions(page: Page) -> int:
    """Notices not yet answered: an auditor's, those it sent; anyone else's, those sent
    to its node (the list's default view)."""
    assert page.actor is not None
    if page.actor.role in supervision.SUPERVISORS:
        today = local_today(page.node.settings.tz)
        return len(supervision.list_supervisions(page.session, page.node, "issued", "open", today))
    return supervision.open_for(page.session, page.node)


def _tasks(page: Page) -> int:
    assert page.actor is not None
    return case_queries.open_task_count(page.session, page.actor)


@dataclass(frozen=True)
class WorkList:
    count: Callable[[Page], int]
    waiting: str  # what waits there, e.g. "{n} 件移交等待接收"


WORK_LISTS: dict[str, WorkList] = {
    "/staff/inbox": WorkList(
        lambda page: case_queries.inbox_count(page.session, page.node), "{n} 件移交等待接收"
    ),
    "/staff/queue": WorkList(_queue, "{n} 件办件等待受理或补正"),
    "/staff/tasks": WorkList(_tasks, "{n} 项审批任务待办"),
    "/admin/health": WorkList(_health, "{n} 个节点需要关注（失联或异常）"),
    "/oversight/supervisions": WorkList(_supervisions, "{n} 件督办待答复"),
    "/agent/cases": WorkList(
        lambda page: case_queries.agent_todo_count(page.session, page.node),
        "{n} 件办件待处理（转交、受理或送达）",
    ),
}
# Where each work list's counter leads (a list with a "to do" view links to it).
WORK_LINKS = {"/agent/cases": "/agent/cases?scope=todo"}


def work_counts(page: Page, nav: list[tuple[str, str]]) -> dict[str, int]:
    """path -> how many wait there, for the work lists among ``nav``'s entries."""
    return {path: WORK_LISTS[path].count(page) for _, path in nav if path in WORK_LISTS}


@dataclass(frozen=True)
class Elsewhere:
    label: str
    url: str
    text: str


def work_elsewhere(
    nav: list[tuple[str, str]], counts: dict[str, int], here: str
) -> list[Elsewhere]:
    """The other work lists of the menu that are not empty (an empty list names them, so
    that "nothing to accept" is never said while offers wait in the inbox)."""
    return [
        Elsewhere(
            label, WORK_LINKS.get(path, path), WORK_LISTS[path].waiting.format(n=counts[path])
        )
        for label, path in nav
        if path != here and counts.get(path)
    ]
