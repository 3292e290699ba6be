"""Township and county case screens: handoff inbox, window acceptance queues, one-time notices, review tasks, decisions, licences, special procedures, extensions, escalation, visits, withdrawal, and the cases of the area.

Thin handlers: a GET renders, a POST calls the same action function the REST API calls
(through ``page.act``, so a refusal leaves nothing written) and either redirects
with a notice or shows the form again with the refusal next to its field. The workbench
offers exactly what the authority policy allows (``allowed_case_actions``), and the
action functions ask the same policy again.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlmodel import col
from starlette.datastructures import UploadFile

from common.authority import actions as policy
from common.authority import case_checks as checks
from common.authority import reading
from common.authority.reading import require_case_reader, visible_tasks
from common.cases import flows
from common.cases import queries as case_queries
from common.cases.access import load_case, today_on
from common.cases.api import CASE_NO_PATTERN
from common.cases.clock import STATUS_LABELS
from common.cases.handoff import service as handoff
from common.cases.handoff.projection import CustodyViolation
from common.cases.intake import service as intake
from common.cases.models import Case, CaseMaterial
from common.cases.review import service as review
from common.cases.states import STATE_LABELS, CaseState
from common.documents import case_document_url, licence_document_url
from common.errors import DomainError, Forbidden
from common.identifiers.masking import mask_identifier
from common.identity import registry
from common.labels import APPLICANT_KIND_LABELS, CASE_TYPE_LABELS, TIER_LABELS
from common.users.roles import Role
from common.web import queries_staff as q
from common.web.page import Page, page_for
from common.web.uplink import offer_notice

router = APIRouter(include_in_schema=False)

CaseNo = Annotated[str, Path(pattern=CASE_NO_PATTERN)]
CASE_TEMPLATE = "staff/case.html"

READERS = (
    Role.TOWNSHIP_CLERK,
    Role.TOWNSHIP_APPROVER,
    Role.COUNTY_WINDOW_CLERK,
    Role.DEPARTMENT_REVIEWER,
    Role.COUNTY_ADMIN,
    Role.AUDITOR,
)
INBOX_ROLES = (
    Role.TOWNSHIP_CLERK,
    Role.TOWNSHIP_APPROVER,
    Role.COUNTY_WINDOW_CLERK,
    Role.COUNTY_ADMIN,
    Role.AUDITOR,
)
QUEUE_ROLES = INBOX_ROLES
TASK_ROLES = (
    Role.DEPARTMENT_REVIEWER,
    Role.TOWNSHIP_APPROVER,
    Role.TOWNSHIP_CLERK,
    Role.COUNTY_ADMIN,
    Role.AUDITOR,
)
OPINIONS = [("agree", "同意"), ("disagree", "不同意")]
DECISIONS = [("approved", "准予（许可）"), ("rejected", "不予（许可）")]
DELIVERY_METHODS = [("window", "窗口领取"), ("courier", "邮寄送达"), ("electronic", "电子送达")]
VISITORS = [
    ("applicant", "申请人本人（计入跑动次数）"),
    ("agent", "代办员"),
    ("courier", "快递员"),
    ("staff", "工作人员"),
]
TASK_STATES = [("open", "待办"), ("done", "已办"), ("all", "全部")]
OPINION_LABELS = {
    "agree": "同意",
    "disagree": "不同意",
    "passed": "核查通过",
    "failed": "核查不通过",
}

Readers = Annotated[Page, page_for(*READERS)]


def screens() -> APIRouter:
    """The tier packages mount this router (see their tier.py)."""
    return router


# -- shared bits ------------------------------------------------------------------------


def _today(page: Page) -> date:
    return date.fromisoformat(today_on(page.node))


def _role(page: Page) -> Role | None:
    return page.actor.role if page.actor else None


def _may_on_this_tier(page: Page, action: str) -> bool:
    """Whether the user's role is one the policy names for ``action`` on this tier (for
    lists; a case page asks about the case itself)."""
    return _role(page) in policy.roles_allowed(action, page.node.tier)


def _clock_row(case: Case, clock: Any) -> dict[str, Any]:
    status = q.status_of(case, clock)
    label = "已终止" if status == "ended" else STATUS_LABELS.get(status, status)
    return {
        "status": status,
        "label": label,
        "css": q.DEADLINE_CLASS.get(status, ""),
        "days_left": clock.days_left,
        "days_used": clock.days_used,
        "limit": clock.limit_days,
    }


def _rows(page: Page, cases: list[Case]) -> list[dict[str, Any]]:
    clocks = review.clocks_of(page.session, cases, _today(page))
    names = registry.node_names(page.session)
    return [
        {
            "case": case,
            "clock": _clock_row(case, clocks[case.case_no]),
            "custodian_name": names.get(case.custodian, case.custodian),
            "offered_to_name": names.get(case.pending_offer_to or "", case.pending_offer_to),
            "window_label": q.WINDOW_LABELS.get(case.window, case.window),
        }
        for case in cases
    ]


def _common(page: Page) -> dict[str, Any]:
    return {
        "state_labels": STATE_LABELS,
        "window_labels": q.WINDOW_LABELS,
        "case_type_labels": CASE_TYPE_LABELS,
        "level_labels": TIER_LABELS,
    }


# -- inbox ------------------------------------------------------------------------------


def _inbox(page: Page, **extra: Any) -> dict[str, Any]:
    names = registry.node_names(page.session)
    items = handoff.handoff_inbox(page.session, page.node)
    for item in items:
        item["from_name"] = names.get(item["from_node"], item["from_node"])
        item["origin_name"] = names.get(item["origin_node"], item["origin_node"])
    may_answer = _may_on_this_tier(page, "accept_handoff")
    return {
        "page_title": "转交收件箱",
        "items": items,
        "may_answer": may_answer,
        "failed": None,
        "values": {},
        **_common(page),
        **extra,
    }


@router.get("/staff/inbox")
def inbox(page: Annotated[Page, page_for(*INBOX_ROLES)]) -> Response:
    return page.render("staff/inbox.html", **_inbox(page))


@router.post("/staff/inbox/{case_no}/accept")
def inbox_accept(case_no: CaseNo, page: Annotated[Page, page_for(*INBOX_ROLES)]) -> Response:
    _, error = page.act(handoff.accept_handoff, case_no)
    if error:
        return page.form_error("staff/inbox.html", error, **_inbox(page, failed=case_no))
    return page.redirect(f"/staff/cases/{case_no}", notice=f"已接收案件 {case_no}")


@router.post("/staff/inbox/{case_no}/decline")
def inbox_decline(
    case_no: CaseNo,
    page: Annotated[Page, page_for(*INBOX_ROLES)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _, error = page.act(handoff.decline_handoff, case_no, reason)
    if error:
        return page.form_error(
            "staff/inbox.html", error, **_inbox(page, failed=case_no, values={"reason": reason})
        )
    return page.redirect("/staff/inbox", notice=f"已拒收案件 {case_no}，案件留在移交方")


# -- acceptance queue ---------------------------------------------------------------------


@router.get("/staff/queue")
def queue(
    page: Annotated[Page, page_for(*QUEUE_ROLES)],
    window: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    counts = case_queries.queue_counts(page.session, page.node)
    tabs: list[tuple[str, str, int]] = []
    if page.node.tier == "county":
        if window not in q.WINDOW_LABELS:
            window = next((code for code, _ in q.WINDOWS if counts.get(code)), q.WINDOWS[0][0])
        tabs = [(code, label, counts.get(code, 0)) for code, label in q.WINDOWS]
        cases = intake.window_queue(page.session, page.node, window)
        title = f"窗口受理 · {q.WINDOW_LABELS[window]}窗口"
    else:
        window = window if window in q.WINDOW_LABELS else None
        cases = case_queries.acceptance_queue(page.session, page.node, window)
        title = "窗口受理 · 待受理办件"
    rows = _rows(page, cases)
    for row in rows:
        case = row["case"]
        row["needs_handoff"] = case.handling_level != page.node.tier
    return page.render(
        "staff/queue.html",
        page_title=title,
        tabs=tabs,
        window=window,
        rows=rows,
        may_act=_may_on_this_tier(page, "accept_case"),
        **_common(page),
    )


# -- tasks --------------------------------------------------------------------------------


@router.get("/staff/tasks")
def tasks(
    page: Annotated[Page, page_for(*TASK_ROLES)],
    state: Annotated[str, Query(max_length=10)] = "open",
) -> Response:
    if state not in dict(TASK_STATES):
        state = "open"
    assert page.actor is not None  # a page_for page has a logged-in actor
    found = review.tasks_for(page.session, page.actor, state=state)
    numbers = sorted({t.case_no for t in found})
    cases = {
        c.case_no: c
        for c in page.session.execute(select(Case).where(col(Case.case_no).in_(numbers))).scalars()
    }
    clocks = review.clocks_of(page.session, list(cases.values()), _today(page))
    rows = [
        {
            "task": t,
            "case": cases[t.case_no],
            "clock": _clock_row(cases[t.case_no], clocks[t.case_no]),
            "kind_label": checks.TASK_KIND_LABELS.get(t.kind, t.kind),
        }
        for t in found
    ]
    urgency = {case.case_no: n for n, case in enumerate(q.by_urgency(list(cases.values()), clocks))}
    rows.sort(
        key=lambda row: (
            row["task"].state != "open",
            urgency[row["case"].case_no],
            row["task"].task_id,
        )
    )
    return page.render(
        "staff/tasks.html",
        page_title="审批任务",
        rows=rows,
        state=state,
        task_states=TASK_STATES,
        opinion_labels=OPINION_LABELS,
        **_common(page),
    )


# -- cases of the area ------------------------------------------------------------------


@router.get("/staff/cases")
def cases(
    page: Readers,
    state: Annotated[str | None, Query(max_length=20)] = None,
    window: Annotated[str | None, Query(max_length=20)] = None,
    village: Annotated[str | None, Query(max_length=12)] = None,
    number: Annotated[str | None, Query(max_length=40)] = None,
    name: Annotated[str | None, Query(max_length=100)] = None,
    id_number: Annotated[str | None, Query(max_length=18)] = None,
    filed_from: Annotated[str | None, Query(max_length=10)] = None,
    filed_to: Annotated[str | None, Query(max_length=10)] = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    state = state if state in {s.value for s in CaseState} else None
    window = window if window in q.WINDOW_LABELS else None
    origins = case_queries.area_origins(page.session, page.node)
    village = village if village in dict(origins) else None
    search = case_queries.CaseSearch.from_text(
        name=name, id_number=id_number, number=number, filed_from=filed_from, filed_to=filed_to
    )
    assert page.actor is not None  # a Readers page has a logged-in actor
    department = page.actor.department or "" if _role(page) is Role.DEPARTMENT_REVIEWER else None
    found = case_queries.area_case_page(
        page.session,
        page.node,
        today=_today(page),
        state=state,
        window=window,
        origin=village,
        department=department,
        search=search,
        page=page_no,
    )
    filters = {"state": state or "", "window": window or "", "village": village or ""}
    return page.render(
        "staff/cases.html",
        page_title="辖区办件" if page.node.tier == "township" else "全部办件",
        rows=_rows(page, found.cases),  # already in the staff's order
        found=found,
        filters=filters | q.search_fields(search),
        id_masked=mask_identifier(search.id_number) if search.id_number else "",
        pager_base=q.pager_base("/staff/cases", filters, search),
        without_id=q.pager_base("/staff/cases", filters, search, with_id=False),
        origins=origins,
        windows=q.WINDOWS,
        states=[(s.value, STATE_LABELS[s]) for s in CaseState],
        **_common(page),
    )


# -- the workbench ------------------------------------------------------------------------


def _docs(case: Case, view: dict[str, Any], procedures: list[Any]) -> list[tuple[str, str]]:
    no = case.case_no
    docs: list[tuple[str, str]] = []
    if case.accepted_on:
        docs.append(("受理通知书", case_document_url(no, "acceptance")))
    if case.state == CaseState.REFUSED.value:
        docs.append(("不予受理通知书", case_document_url(no, "refusal")))
    for notice in view["notice_list"]:
        seq = notice["notice_no"]
        docs.append((f"一次性告知书（第{seq}份）", case_document_url(no, "notice", seq)))
    for procedure in procedures:
        seq = procedure.seq
        docs.append(
            (f"特别程序告知书（第{seq}个）", case_document_url(no, "special-procedure", seq))
        )
    if case.licence_id:
        docs.append(("电子证照", licence_document_url(case.licence_id)))
    if case.delivered_on:
        docs.append(("送达回执", case_document_url(no, "delivery-receipt")))
    return docs


# The workbench's forms and the policy's actions they take; the lists hold one form per
# task or special procedure the policy names.
FORMS = {
    "accept": "accept_case",
    "refuse": "refuse_case",
    "notice": "request_supplement",
    "supplement": "receive_supplement",
    "escalate": "offer_handoff",
    "decide": "decide_case",
    "special_start": "start_special_procedure",
    "extension": "approve_extension",
    "deliver": "deliver_case",
    "visit": "record_visit",
    "withdraw": "withdraw_case",
}
LISTED_FORMS = {
    "opinion_tasks": "record_opinion",
    "special_end": "end_special_procedure",
    "verification": "record_verification",
}


def _actions(
    page: Page, case: Case, tasks: list[dict[str, Any]], procedures: list[Any]
) -> dict[str, Any]:
    """What the workbench offers this user now: what the policy allows, shaped for the
    template (a task or procedure per form of the lists)."""
    assert page.actor is not None
    allowed = policy.allowed_case_actions(page.session, page.node, page.actor, case)
    actions: dict[str, Any] = {form: allowed[action] for form, action in FORMS.items()}
    by_id = {t["task_id"]: t for t in tasks}
    for form, action in LISTED_FORMS.items():
        named = allowed[action]
        assert isinstance(named, list)
        actions[form] = (
            [p for p in procedures if p.seq in named]
            if form == "special_end"
            else [by_id[task_id] for task_id in named if task_id in by_id]
        )
    actions["handoff_route"] = checks.offer_route(case)
    actions["any"] = any(actions[form] for form in (*FORMS, *LISTED_FORMS))
    return actions


def _forms(actions: dict[str, Any]) -> set[str]:
    """The names of the forms the workbench shows (a refusal of any other is shown on top)."""
    names = {name for name in FORMS if actions[name]}
    names |= {f"opinion:{t['task_id']}" for t in actions["opinion_tasks"]}
    names |= {"verification"} if actions["verification"] else set()
    names |= {f"special_end:{p.seq}" for p in actions["special_end"]}
    return names


def _decision_waits_for(page: Page, case: Case) -> str | None:
    """Why the decision is not offered, when the only thing missing is the other
    departments' opinions (the policy's refusal, for whoever will decide)."""
    assert page.actor is not None
    try:
        policy.check_case_action(page.session, page.node, page.actor, case, "decide_case")
    except DomainError as refusal:
        return refusal.message if refusal.code == checks.OPINIONS_PENDING else None
    return None


def _workbench(
    page: Page, case_no: str, failed: str | None = None, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    session = page.session
    assert page.actor is not None
    case = load_case(session, case_no)
    if not reading.in_area(session, page.node, case_no):
        raise Forbidden("case.not_in_area", f"案件 {case_no} 不属于本节点辖区", field="case_no")
    require_case_reader(session, page.node, page.actor, case)
    view = intake.get_case_view(session, case_no, today_on(page.node))
    # A department sees its own tasks only; the lead department every department's.
    view["tasks"] = visible_tasks(page.actor, view["tasks"])
    procedures = review.case_procedures(session, case_no)
    names = registry.node_names(session)
    try:
        chain = handoff.custody_chain(session, case_no)
        chain_error = None
    except CustodyViolation as exc:
        chain, chain_error = [], f"案件交接记录无法验证：{exc.message}"
    licence = None
    if case.licence_id:
        from common.licences.service import get_licence

        try:
            licence = get_licence(session, case.licence_id)
        except DomainError:
            licence = None
    clocks = review.clocks_of(session, [case], _today(page))
    actions = _actions(page, case, view["tasks"], procedures)
    opinions = [t for t in view["tasks"] if t["kind"] == "review"]
    missing = [m for m in view["materials"] if not m["provided"] and not m["promised"]]
    last_notice = view["notice_list"][-1]["missing"] if view["notice_list"] else []
    return {
        "page_title": f"办件 {case_no}",
        "case": case,
        "shown": failed in _forms(actions),
        "view": view,
        "procedures": procedures,
        "subkinds": list(review.OFFERED_SUBKINDS.items()),
        "chain": chain,
        "chain_error": chain_error,
        "offer_queued": case_queries.offer_waiting_upload(session, page.node, case_no),
        "names": names,
        "licence": licence,
        "clock": view["clock"],
        "clock_row": _clock_row(case, clocks[case_no]),
        "actions": actions,
        "docs": _docs(case, view, procedures),
        "missing": missing,
        "supplement_due": [
            m for m in view["materials"] if m["name"] in last_notice and not m["provided"]
        ]
        or missing,
        "applicant_kind": APPLICANT_KIND_LABELS.get(case.applicant_kind, case.applicant_kind),
        "opinion_labels": OPINION_LABELS,
        "opinions": OPINIONS,
        "review_opinions": opinions,
        "decision_waits_for": None if actions["decide"] else _decision_waits_for(page, case),
        "decisions": DECISIONS,
        "delivery_methods": DELIVERY_METHODS,
        "visitors": VISITORS,
        "visit_place": intake.WINDOW_PLACES.get(page.node.tier, ""),
        "failed": failed,
        "values": values or {},
        "task_kind_labels": checks.TASK_KIND_LABELS,
        **_common(page),
    }


@router.get("/staff/cases/{case_no}")
def workbench(case_no: CaseNo, page: Readers) -> Response:
    return page.render(CASE_TEMPLATE, **_workbench(page, case_no))


def _done(
    page: Page,
    case_no: str,
    error: DomainError | None,
    form: str,
    notice: str,
    values: dict[str, Any] | None = None,
) -> Response:
    if error:
        return page.form_error(
            CASE_TEMPLATE, error, **_workbench(page, case_no, failed=form, values=values)
        )
    return page.redirect(f"/staff/cases/{case_no}", notice=notice)


@router.post("/staff/cases/{case_no}/accept")
def accept(case_no: CaseNo, page: Readers) -> Response:
    _, error = page.act(intake.accept_case, case_no)
    return _done(page, case_no, error, "accept", "已受理，已开始计时")


@router.post("/staff/cases/{case_no}/refuse")
def refuse(
    case_no: CaseNo, page: Readers, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    _, error = page.act(intake.refuse_case, case_no, reason)
    notice = "已作出不予受理决定，请打印不予受理通知书"
    return _done(page, case_no, error, "refuse", notice, {"reason": reason})


def _notice_items(
    page: Page, case_no: str, ticked: list[str]
) -> tuple[list[str | dict[str, Any]], list[int]]:
    """The ticked materials with the reason typed next to each (``reason_{position}``),
    and the material positions in the same order (to put a refusal at its field).
    The items are typed as ``request_supplement`` takes them."""
    positions = {
        m.name: m.position
        for m in page.session.execute(
            select(CaseMaterial).where(col(CaseMaterial.case_no) == case_no)
        ).scalars()
    }
    names = [name for name in ticked if name.strip()]
    chosen = {positions[name] for name in names if name in positions}
    for position in sorted(positions.values()):
        typed = page.form.get(f"reason_{position}")
        if position not in chosen and isinstance(typed, str) and typed.strip():
            # A reason next to an unticked material would be lost without a word.
            raise DomainError(
                "case.notice_reason_unticked",
                "已填写补正要求，请同时勾选这项材料",
                field=f"reason_{position}",
            )
    items: list[str | dict[str, Any]] = []
    for name in names:
        reason = page.form.get(f"reason_{positions[name]}") if name in positions else None
        items.append(
            {"name": name, "reason": reason if isinstance(reason, str) and reason.strip() else None}
        )
    return items, [positions.get(name, -1) for name in names]


def _notice_field(field: str | None, order: list[int]) -> str | None:
    """``missing[2].reason`` -> the reason box of that material; any other item -> the list."""
    if field and (found := re.fullmatch(r"missing\[(\d+)\]\.reason", field)):
        index = int(found.group(1))
        if index < len(order) and order[index] >= 0:
            return f"reason_{order[index]}"
    return "missing" if field and field.startswith("missing[") else field


@router.post("/staff/cases/{case_no}/notice")
def notice(
    case_no: CaseNo,
    page: Readers,
    missing: Annotated[list[str], Form()] = [],  # noqa: B006
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    order: list[int] = []

    def issue() -> Any:
        items, order[:] = _notice_items(page, case_no, missing)
        assert page.actor is not None  # a Readers page has a logged-in actor
        return intake.request_supplement(page.session, page.node, page.actor, case_no, items, note)

    result, error = page.attempt(issue)
    if error is not None:
        error.field = _notice_field(error.field, order)
    text = "已出具一次性告知书"
    if result is not None and result.breach:
        text += "（同一案件再次告知，已记为违反一次性告知）"
    reasons = {
        key.removeprefix("reason_"): value
        for key, value in page.form.items()
        if key.startswith("reason_") and isinstance(value, str)
    }
    return _done(
        page, case_no, error, "notice", text, {"missing": missing, "reasons": reasons, "note": note}
    )


@router.post("/staff/cases/{case_no}/supplement")
def supplement(case_no: CaseNo, page: Readers) -> Response:
    from common.blobs.service import store_blob

    def receive() -> Case:
        materials: list[dict[str, Any]] = []
        for key, value in page.form.items():
            if key.startswith("file_") and isinstance(value, UploadFile) and value.filename:
                position = int(key.removeprefix("file_"))
                data = value.file.read(10 * 1024 * 1024 + 1)
                blob = store_blob(page.session, page.node, data, value.filename)
                materials.append({"position": position, "blob_sha256": blob.sha256})
            elif key.startswith("licence_") and isinstance(value, str) and value.strip():
                materials.append(
                    {"position": int(key.removeprefix("licence_")), "licence_ref": value.strip()}
                )
        assert page.actor is not None  # a Readers page has a logged-in actor
        return intake.receive_supplement(page.session, page.node, page.actor, case_no, materials)

    _, error = page.attempt(receive)
    if error is not None and error.field and error.field.startswith("materials"):
        error.field = "materials"
    return _done(page, case_no, error, "supplement", "已收到补正材料，案件回到待受理")


@router.post("/staff/cases/{case_no}/escalate")
def escalate(
    case_no: CaseNo, page: Readers, to: Annotated[str, Form(max_length=20)] = ""
) -> Response:
    event, error = page.act(handoff.offer_handoff, case_no, to=to.strip() or None)
    home = event is not None and event.body["reason"] == checks.RETURN
    text = "已退回来源节点，等待其接收" if home else "已上报，等待上级节点接收"
    if event is not None:
        target = registry.node_names(page.session).get(event.body["to"], event.body["to"])
        text = offer_notice(page, case_no, target, sent=text, verb="退回" if home else "上报")
    return _done(page, case_no, error, "escalate", text, {"to": to})


@router.post("/staff/cases/{case_no}/opinion")
def opinion(
    case_no: CaseNo,
    page: Readers,
    task_id: Annotated[str, Form(max_length=80)] = "",
    opinion: Annotated[str, Form(max_length=20)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _, error = page.act(review.record_opinion, case_no, task_id, opinion, comment)
    values = {"opinion": opinion, "comment": comment}
    return _done(page, case_no, error, f"opinion:{task_id}", "已提交审查意见", values)


@router.post("/staff/cases/{case_no}/decide")
def decide(
    case_no: CaseNo,
    page: Readers,
    decision: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    event, error = page.act(flows.decide_and_send_home, case_no, decision, reason)
    text = "已作出决定"
    if event is not None and event.body.get("licence_id"):
        text += f"，已签发电子证照 {event.body['licence_id']}"
    return _done(page, case_no, error, "decide", text, {"decision": decision, "reason": reason})


@router.post("/staff/cases/{case_no}/special")
def special_start(
    case_no: CaseNo,
    page: Readers,
    subkind: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    # Kind 1 is the extension of approval; every other special procedure is kind 2 (§45).
    kind = 1 if subkind == "extension" else 2
    _, error = page.act(review.start_special_procedure, case_no, kind, subkind, reason)
    text = "特别程序已开始" + ("，期间不计入办理时限" if kind == 2 else "")
    values = {"subkind": subkind, "reason": reason}
    return _done(page, case_no, error, "special_start", text, values)


@router.post("/staff/cases/{case_no}/special/{seq}/end")
def special_end(
    case_no: CaseNo,
    seq: Annotated[int, Path(ge=1, le=999)],
    page: Readers,
    result: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _, error = page.act(review.end_special_procedure, case_no, seq, result)
    text = "特别程序已结束，恢复计时"
    return _done(page, case_no, error, f"special_end:{seq}", text, {"result": result})


@router.post("/staff/cases/{case_no}/extension")
def extension(
    case_no: CaseNo,
    page: Readers,
    days: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    values = {"days": days, "reason": reason}
    try:
        number = int(days.strip())
    except ValueError:
        invalid = DomainError("case.extension_days", "延长的天数应为正整数（工作日）", field="days")
        return _done(page, case_no, invalid, "extension", "", values)
    _, error = page.act(review.approve_extension, case_no, number, reason)
    return _done(page, case_no, error, "extension", f"已批准延长 {number} 个工作日", values)


@router.post("/staff/cases/{case_no}/verification")
def verification(
    case_no: CaseNo,
    page: Readers,
    task_id: Annotated[str, Form(max_length=80)] = "",
    passed: Annotated[str, Form(max_length=5)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    values = {"passed": passed, "comment": comment}
    if passed not in ("yes", "no"):
        invalid = DomainError("case.passed_invalid", "请选择核查结果：通过或不通过", field="passed")
        return _done(page, case_no, invalid, "verification", "", values)
    _, error = page.act(
        review.record_verification, case_no, task_id or None, passed == "yes", comment
    )
    text = "已记录核查结果" + ("" if passed == "yes" else "；核查不通过，办理结果及证照已撤销")
    return _done(page, case_no, error, "verification", text, values)


@router.post("/staff/cases/{case_no}/deliver")
def deliver(
    case_no: CaseNo,
    page: Readers,
    method: Annotated[str, Form(max_length=20)] = "",
    tracking_no: Annotated[str, Form(max_length=40)] = "",
    receiver: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    _, error = page.act(intake.deliver_case, case_no, method, tracking_no or None, receiver or None)
    values = {"method": method, "tracking_no": tracking_no, "receiver": receiver}
    return _done(page, case_no, error, "deliver", "已送达，案件办结", values)


@router.post("/staff/cases/{case_no}/visit")
def visit(
    case_no: CaseNo,
    page: Readers,
    who: Annotated[str, Form(max_length=20)] = "",
    place: Annotated[str, Form(max_length=200)] = "",
    purpose: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    row, error = page.act(intake.record_visit, case_no, who=who, place=place, purpose=purpose)
    if error is not None and error.field:
        error.field = error.field.removeprefix("visit.")  # the form's own field names
    text = "已记录到场"
    if row is not None and row.counts:
        case = load_case(page.session, case_no)
        text += f"，计入申请人跑动次数（第{case.visits}次）"
        if case.over_visit_limit:
            text += "，已超过承诺的跑动次数"
    return _done(
        page, case_no, error, "visit", text, {"who": who, "place": place, "purpose": purpose}
    )


@router.post("/staff/cases/{case_no}/withdraw")
def withdraw(
    case_no: CaseNo, page: Readers, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    _, error = page.act(intake.withdraw_case, case_no, reason)
    notice = "已按申请人要求撤回，案件终止办理"
    return _done(page, case_no, error, "withdraw", notice, {"reason": reason})
