"""What a screen says after a handoff offer that must travel up the link to the parent:
handed over only once the offer has gone up; until then it waits in the outbox, and
whether it goes up in a moment or when the link returns depends on the link
(``layout.sync_banner``). Offline filing must not say 已转交 while the case is only queued."""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.cases import queries as case_queries
from common.web.layout import sync_banner

if TYPE_CHECKING:
    from common.web.page import Page


def offer_notice(page: Page, case_no: str, target: str, *, sent: str, verb: str = "转交") -> str:
    """``sent`` when the offer has gone up (or goes no way up); else that it is queued."""
    if not case_queries.offer_waiting_upload(page.session, page.node, case_no):
        return sent
    banner = sync_banner(page)
    if banner is not None and banner.online:
        return f"{verb}{target}已排队，正在上传；上传后由{target}接收办理"
    return (
        f"{verb}{target}已排队，尚未上传：目前与上级节点未连通，"
        f"网络恢复后自动上传，届时由{target}接收办理"
    )
