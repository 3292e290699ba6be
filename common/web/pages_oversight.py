"""数据看板: the figures of an area for a period, the areas one level down, the
breakdowns, each chart drawn on the server as SVG (no script, no CDN: the county LAN
may be offline) with its numbers in a table beside it; and the cases behind a number.

Thin over ``common.oversight`` (the same reads and the same scope rule as the API).
Mounted on every tier: a township sees its area, a village agent its village.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response

from common.authority.reading import FIGURE_READERS
from common.cases.access import load_case
from common.cases.api import CASE_NO_PATTERN
from common.cases.queries import case_summary
from common.errors import DomainError
from common.identity import registry
from common.oversight.export import shown
from common.oversight.figures import (
    BREAKDOWN_LABELS,
    DRILLS,
    FIGURES,
    DrillName,
    cases_behind,
    nodes_from,
)
from common.oversight.router import area_for, board_for, period_of, search
from common.supervision import service as supervision
from common.supervision.router import notice_view
from common.timeutil import local_today
from common.users.roles import Role
from common.web.page import Page, page_for

router = APIRouter(include_in_schema=False)
Reader = Annotated[Page, page_for(*FIGURE_READERS)]
Scope = Annotated[str | None, Query(pattern=r"^\d{12}$")]
Day = Annotated[date | None, Query()]
PER_PAGE = 50
# The figures charted for the areas one level down, and the headline's drill links.
COMPARED = ("filed", "one_trip_rate", "on_time_rate", "red_now")
DRILL_OF = {"filed": "filed", "proxied": "proxied", "decided": "decided"}
DRILL_OF |= {"open_now": "open_now", "yellow_now": "yellow_now", "red_now": "red_now"}


def screens() -> APIRouter:
    """The tier packages mount this router (see their tier.py)."""
    return router


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the number as shown
    width: float  # percent of the chart's width
    href: str | None = None


def bars(rows: list[tuple[str, float | int | None, str, str | None]]) -> list[Bar]:
    """Bars scaled to the largest value (a share to 100%); None draws no bar."""
    top = max((v for _, v, _, _ in rows if v is not None), default=0) or 1
    return [
        Bar(label, float(v or 0), text, 100.0 * float(v or 0) / top, href)
        for label, v, text, href in rows
    ]


def _areas(page: Page) -> list[tuple[str, str]]:
    """The areas the user may choose: their node's and every one below it."""
    assert page.actor is not None
    return nodes_from(page.session, page.node.node_id if page.actor.system else page.actor.node_id)


@router.get("/oversight")
def dashboard_page(
    page: Reader,
    scope: Scope = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    assert page.actor is not None
    board = board_for(page.session, page.node, page.actor, scope, start, end)
    period = {"from": board.period.start.isoformat(), "to": board.period.end.isoformat()}
    here = {"scope": board.area.node_id, **period}
    monthly = {"scope": board.area.node_id, "month": board.period.start.strftime("%Y-%m")}

    def link(path: str, **params: str) -> str:
        return f"{path}?{urlencode({**here, **params})}"

    headline = [
        (
            f,
            shown(f, board.figures[key]),
            link("/oversight/cases", drill=DRILL_OF[key]) if key in DRILL_OF else None,
        )
        for key, f in FIGURES.items()
    ]
    compared = {
        key: bars(
            [
                (
                    area.name,
                    values[key],
                    shown(FIGURES[key], values[key]),
                    f"/oversight?{urlencode({'scope': area.node_id, **period})}"
                    if area.node_id != board.area.node_id
                    else None,
                )
                for area, values in board.children
            ]
        )
        for key in COMPARED
    }
    breakdowns = {
        name: bars([(label, n, str(n), None) for _, label, n in rows])
        for name, rows in board.breakdowns.items()
    }
    return page.render(
        "oversight/dashboard.html",
        page_title="数据看板",
        board=board,
        areas=_areas(page),
        headline=headline,
        compared=compared,
        figures=FIGURES,
        breakdowns=breakdowns,
        breakdown_labels=BREAKDOWN_LABELS,
        export=f"/api/v1/oversight/dashboard.xlsx?{urlencode(here)}",
        monthly=f"/api/v1/oversight/monthly.xlsx?{urlencode(monthly)}",
        monthly_label=f"{board.period.start.year}年{board.period.start.month}月月报",
    )


@router.get("/oversight/cases")
def cases_page(
    page: Reader,
    drill: Annotated[DrillName, Query()],
    scope: Scope = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    q: Annotated[str | None, Query(max_length=40)] = None,
    number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    assert page.actor is not None
    today = local_today(page.node.settings.tz)
    area = area_for(page.session, page.node, page.actor, scope)
    period = period_of(start, end, today)
    chosen = search(cases_behind(page.session, area, period, today, drill), q)
    rows = chosen[(number - 1) * PER_PAGE : number * PER_PAGE]
    here = {"scope": area.node_id, "from": period.start.isoformat(), "to": period.end.isoformat()}
    return page.render(
        "oversight/cases.html",
        page_title=f"{DRILLS[drill][0]}：{area.name}",
        drill=drill,
        drill_label=DRILLS[drill][0],
        area=area,
        period=period,
        q=q or "",
        here=here,
        total=len(chosen),
        number=number,
        pages=max(1, -(-len(chosen) // PER_PAGE)),
        cases=[case_summary(case) | {"clock": clock.status_label} for case, clock in rows],
        back=f"/oversight?{urlencode(here)}",
        supervises=page.actor.role in supervision.SUPERVISORS,
        query=lambda **more: urlencode({**here, "drill": drill, "q": q or "", **more}),
    )


# -- 督办 --------------------------------------------------------------------------------

Supervisor = Annotated[Page, page_for(*supervision.SUPERVISORS)]
Staff = Annotated[Page, page_for(*Role)]
CaseNo = Annotated[str, Path(pattern=CASE_NO_PATTERN)]
NoticeId = Annotated[str, Path(pattern=r"^\d{12}-\d{8}-\d{4,6}:\d{12}:\d{1,6}$")]
VIEW_LABELS = {"received": "本节点收到的督办", "issued": "本节点发出的督办"}
STATE_LABELS = {"open": "待答复", "overdue": "逾期未答复", "answered": "已答复", "all": "全部"}


@router.get("/oversight/supervisions")
def supervisions_page(
    page: Staff,
    view: Annotated[supervision.View | None, Query()] = None,
    state: Annotated[supervision.State, Query()] = "open",
) -> Response:
    assert page.actor is not None
    supervises = page.actor.role in supervision.SUPERVISORS
    chosen: supervision.View = view or ("issued" if supervises else "received")
    if (chosen == "issued") != supervises:
        chosen = "issued" if supervises else "received"
    today = local_today(page.node.settings.tz)
    notices = supervision.list_supervisions(page.session, page.node, chosen, state, today)
    return page.render(
        "oversight/supervisions.html",
        page_title=VIEW_LABELS[chosen],
        view=chosen,
        state=state,
        state_labels=STATE_LABELS,
        notices=[notice_view(n, today) for n in notices],
        names=registry.node_names(page.session),
    )


@router.post("/oversight/supervisions/{notice_id}/answer")
def answer_page(
    notice_id: NoticeId, page: Staff, answer: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    _, error = page.act(supervision.answer_supervision, notice_id, answer)
    if error is None:
        return page.redirect("/oversight/supervisions?view=received", "已答复督办")
    today = local_today(page.node.settings.tz)
    notices = supervision.list_supervisions(page.session, page.node, "received", "open", today)
    return page.form_error(
        "oversight/supervisions.html",
        error,
        page_title=VIEW_LABELS["received"],
        view="received",
        state="open",
        state_labels=STATE_LABELS,
        notices=[notice_view(n, today) for n in notices],
        names=registry.node_names(page.session),
        failed=notice_id,
        values={"answer": answer},
    )


def _supervise_form(page: Page, case_no: str, **context: Any) -> dict[str, Any]:
    case = load_case(page.session, case_no)
    today = local_today(page.node.settings.tz)
    return {
        "page_title": f"督办 {case_no}",
        "case": case_summary(case),
        "holder": registry.node_names(page.session).get(case.custodian, case.custodian),
        "default_reply_by": (today + timedelta(days=3)).isoformat(),
        **context,
    }


@router.get("/oversight/supervise/{case_no}")
def supervise_form(case_no: CaseNo, page: Supervisor) -> Response:
    return page.render("oversight/supervise.html", **_supervise_form(page, case_no))


@router.post("/oversight/supervise/{case_no}")
def supervise(
    case_no: CaseNo,
    page: Supervisor,
    message: Annotated[str, Form(max_length=500)] = "",
    reply_by: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        due = date.fromisoformat(reply_by)
    except ValueError:
        error: DomainError | None = DomainError(
            "supervision.reply_by", "请填写答复期限（年-月-日）", field="reply_by"
        )
    else:
        _, error = page.act(supervision.issue_supervision, case_no, message, due)
    if error is None:
        return page.redirect("/oversight/supervisions?view=issued", "已发出督办")
    values = {"message": message, "reply_by": reply_by}
    return page.form_error(
        "oversight/supervise.html", error, **_supervise_form(page, case_no, values=values)
    )
