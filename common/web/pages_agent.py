"""Village agent screens (村代办员): find a matter, read its guide, file a case for a
resident (applicant, scans of the materials, 告知承诺), hand it to the node that
handles it or settle a village 即办件 on the spot, then follow "my cases": one-time
notice and supplement, delivery with the trip recorded, the resident's rating, withdrawal.

Handlers are thin: every change is one of the action functions the REST API calls,
run through ``page.act`` so that a refusal leaves nothing half-written; the case page
offers what the authority policy allows (``allowed_case_actions``), which the action
functions ask again.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from sqlmodel import Session

from common.authority.actions import allowed_case_actions
from common.authority.case_checks import escalation_path, is_on_the_spot
from common.blobs.service import store_blob
from common.cases import queries as case_queries
from common.cases.access import load_case, today_on
from common.cases.api import CASE_NO_PATTERN
from common.cases.flows import settle_on_the_spot
from common.cases.handoff.service import custody_chain, offer_handoff
from common.cases.intake.filing import file_case
from common.cases.intake.service import (
    accept_case,
    deliver_case,
    receive_supplement,
    request_supplement,
    withdraw_case,
)
from common.cases.models import Case
from common.cases.queries import get_case_view
from common.catalog import queries as catalogue_queries
from common.catalog.schema import CaseType, IntegratedWindow, Matter
from common.catalog.service import published_matter
from common.documents import (
    CASE_DOCUMENTS,
    available_case_documents,
    case_document_url,
    guide_url,
    licence_document_url,
)
from common.errors import DomainError, NotFound
from common.identifiers.masking import mask_identifier
from common.identifiers.phone import PHONE_HINT
from common.identity.registry import node_names
from common.labels import WINDOW_LABELS
from common.node import ThisNode
from common.ratings.projection import RATING_LABELS
from common.ratings.service import rate_case
from common.users.roles import Actor, Role
from common.web import queries_agent as q
from common.web.filing_form import (
    Scan,
    form_field,
    material_field,
    material_inputs,
    problems_of_form,
    read_upload,
    scans_of_form,
    status_of,
    summary,
)
from common.web.page import Page, page_for
from common.web.uplink import offer_notice

router = APIRouter(include_in_schema=False)

AgentPage = Annotated[Page, page_for(Role.VILLAGE_AGENT)]
CaseNo = Annotated[str, Path(pattern=CASE_NO_PATTERN)]
MatterCode = Annotated[str, Path(min_length=1, max_length=33)]

DELIVERY_CHOICES = [
    ("agent", "代办员送达（送到申请人手中，不计申请人跑动）"),
    ("window", "申请人到代办点领取（计入跑动；当天已到场的不重复计）"),
    ("courier", "快递送达"),
    ("electronic", "电子送达"),
]


def screens() -> APIRouter:
    """The tier packages mount this router (see their tier.py)."""
    return router


def _today(node: ThisNode) -> date:
    return date.fromisoformat(today_on(node))


def _actor(page: Page) -> Actor:
    assert page.actor is not None
    return page.actor


def _text(page: Page, name: str, limit: int = 200) -> str:
    value = page.form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _store_scan(
    session: Session, node: ThisNode, upload: tuple[bytes, str], label: str, field: str
) -> str:
    try:
        return store_blob(session, node, upload[0], upload[1]).sha256
    except DomainError as error:
        error.message, error.field = f"“{label}”：{error.message}", field
        raise


def _case_here(page: Page, case_no: str) -> Case:
    """A case of this village (the only ones an agent follows)."""
    case = load_case(page.session, case_no)
    if case.origin_node != page.node.node_id:
        raise NotFound("case.not_found", f"本代办点没有办件 {case_no}", field="case_no")
    return case


# -- finding a matter -----------------------------------------------------------------


@router.get("/agent/matters")
def matters(
    page: AgentPage,
    q_text: Annotated[str, Query(alias="q", max_length=100)] = "",
    # A plain string: the form's "全部窗口" sends an empty value, which is no filter.
    window_text: Annotated[str, Query(alias="window", max_length=40)] = "",
    objects: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    window = window_text if window_text in {w.value for w in IntegratedWindow} else ""
    hits = catalogue_queries.find_matters(
        page.session, q=q_text.strip(), window=window or None, objects=objects
    )
    windows = [(w.value, WINDOW_LABELS[w.value]) for w in IntegratedWindow]
    return page.render(
        "agent/matters.html",
        page_title="代办受理：查找事项",
        hits=hits,
        q=q_text.strip(),
        window=window,
        objects=objects,
        windows=windows,
        object_groups=[(k, v[0]) for k, v in catalogue_queries.OBJECT_GROUPS.items()],
    )


@router.get("/agent/matters/{code}")
def matter_guide(code: MatterCode, page: AgentPage) -> Response:
    matter, withdrawn = published_matter(page.session, code)
    return page.render(
        "agent/guide.html",
        page_title=f"办事指南：{matter.name}",
        matter=matter,
        withdrawn=withdrawn,
        labels=q.guide_of(matter),
        material_hint=q.material_hint,
        guide_pdf=guide_url(code),
    )


# -- the intake wizard ------------------------------------------------------------------


def _file_form(
    page: Page,
    matter: Matter,
    problems: list[DomainError] | None = None,
    scans: dict[int, Scan] | None = None,
) -> Response:
    """The filing form: empty, or again with every problem next to its input, a summary
    linking to each at the top, what was typed and the scans already stored."""
    values = {k: v for k, v in page.form.items() if isinstance(v, str) and k != "csrf_token"}
    if page.request.method == "GET":
        values.setdefault("present", "1")
    context: dict[str, Any] = {
        "page_title": f"代办申请：{matter.name}",
        "matter": matter,
        "labels": q.guide_of(matter),
        "kinds": q.applicant_kinds(matter),
        "values": values,
        "kept": scans or {},
        "phone_hint": PHONE_HINT,
        "material_hint": q.material_hint,
        "handled_here": matter.handling_level.value == "village",
        "handoff_targets": _handoff_choices(page, matter.handling_level.value),
        "immediate": matter.case_type == CaseType.IMMEDIATE,
    }
    if not problems:
        return page.render("agent/file.html", **context)
    errors: dict[str, str] = {}
    for problem in problems:
        errors.setdefault(problem.field or "_", problem.message)
    return page.render(
        "agent/file.html",
        status_code=status_of(problems),
        error=problems[0],
        errors=errors,
        problems=summary(matter, problems),
        **context,
    )


@router.get("/agent/file/{code}")
def file_form(code: MatterCode, page: AgentPage) -> Response:
    matter, withdrawn = published_matter(page.session, code)
    if withdrawn:
        raise DomainError(
            "case.matter_withdrawn",
            f"事项“{matter.name}”已从目录撤销，不能申请",
            field="matter_code",
        )
    return _file_form(page, matter)


def _applicant_of_form(page: Page) -> dict[str, Any]:
    return {
        "kind": _text(page, "applicant_kind", 20) or "person",
        "name": _text(page, "applicant_name"),
        "id_number": _text(page, "applicant_id", 40),
        "phone": _text(page, "applicant_phone", 40),
    }


def _commitment_of_form(page: Page, matter: Matter) -> bool:
    return bool(page.form.get("commitment")) and matter.commitment_allowed


def _file_for_resident(page: Page, matter: Matter, scans: dict[int, Scan]) -> Case:
    """File the case with the stored scans, in one savepoint (``page.attempt``)."""
    inputs = material_inputs(scans)
    present = bool(page.form.get("present"))
    place = node_names(page.session).get(page.node.node_id, "村代办点")
    visit = (
        {"who": "applicant", "place": place, "purpose": "提交申请"}
        if present
        else {"who": "agent", "place": place, "purpose": "上门代办（申请人未到场）"}
    )
    try:
        return file_case(
            page.session,
            page.node,
            _actor(page),
            matter_code=matter.implementation_code,
            applicant=_applicant_of_form(page),
            materials=inputs,
            commitment=_commitment_of_form(page, matter),
            visit=visit,
        )
    except DomainError as error:
        error.field = form_field(error.field, inputs)
        raise


def _filed_or_problems(
    page: Page, matter: Matter
) -> tuple[Case | None, list[DomainError], dict[int, Scan]]:
    """Store the chosen scans, then check the whole form at once; only a form without
    problems is filed, and ``file_case``'s own refusal is the last word."""
    scans, problems = scans_of_form(page, matter)
    problems += problems_of_form(
        matter, _applicant_of_form(page), _commitment_of_form(page, matter), _today(page.node)
    )
    if problems:
        return None, problems, scans
    case, error = page.attempt(_file_for_resident, page, matter, scans)
    return case, [error] if error is not None else [], scans


@router.post("/agent/file/{code}")
def file_submit(code: MatterCode, page: AgentPage) -> Response:
    matter, _ = published_matter(page.session, code)
    case, problems, scans = _filed_or_problems(page, matter)
    if case is None:
        return _file_form(page, matter, problems, scans)
    url = f"/agent/cases/{case.case_no}"
    missing = q.missing_materials(page.session, case.case_no, matter)
    if missing:
        names = "、".join(m["name"] for m in missing)
        return page.redirect(
            url, notice=f"已登记办件 {case.case_no}，但材料不齐（缺{names}），请出具一次性告知书"
        )
    then = _text(page, "then", 20)
    if then == "handoff":
        return _hand_off(page, case.case_no, filed=True)
    if then == "on_the_spot":
        method = "window" if page.form.get("present") else "agent"
        _, refusal = page.act(settle_on_the_spot, case.case_no, deliver=method)
        if refusal is not None:
            return page.redirect(
                url, notice=f"已登记办件 {case.case_no}，未能当场办结：{refusal.message}"
            )
        return page.redirect(url, notice=f"办件 {case.case_no} 已当场办结并送达，请申请人评价")
    return page.redirect(url, notice=f"已登记办件 {case.case_no}")


def _handoff_choices(page: Page, level: str) -> list[tuple[str, str]]:
    """Where the agent may send a case up: the handling node (default) or a node on
    the way, e.g. the township centre, which then passes it on."""
    names = node_names(page.session)
    path = escalation_path(page.session, page.node, level)
    return [(node_id, names.get(node_id, node_id)) for node_id in reversed(path)]


def _hand_off(page: Page, case_no: str, *, filed: bool = False) -> Response:
    target = _text(page, "handoff_to", 12) or None
    event, refusal = page.act(offer_handoff, case_no, to=target)
    prefix = f"已登记办件 {case_no}，" if filed else ""
    if refusal is not None:
        return page.redirect(
            f"/agent/cases/{case_no}", notice=f"{prefix}未能转交：{refusal.message}"
        )
    assert event is not None
    target = node_names(page.session).get(event.body["to"], event.body["to"])
    return page.redirect(
        f"/agent/cases/{case_no}",
        notice=prefix + offer_notice(page, case_no, target, sent=f"已转交{target}，待其接收办理"),
    )


# -- my cases ---------------------------------------------------------------------------


@router.get("/agent/cases")
def cases(
    page: AgentPage,
    scope: Annotated[str, Query(pattern="^(mine|all|todo)$")] = "mine",
    name: Annotated[str | None, Query(max_length=100)] = None,
    id_number: Annotated[str | None, Query(max_length=18)] = None,
    number: Annotated[str | None, Query(max_length=40)] = None,
    filed_from: Annotated[str | None, Query(max_length=10)] = None,
    filed_to: Annotated[str | None, Query(max_length=10)] = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    search = case_queries.CaseSearch.from_text(
        name=name, id_number=id_number, number=number, filed_from=filed_from, filed_to=filed_to
    )
    found, rows = q.my_case_page(
        page.session,
        page.node,
        _actor(page).username,
        scope=scope,
        today=_today(page.node),
        search=search,
        page=page_no,
    )
    return page.render(
        "agent/cases.html",
        page_title="我的办件",
        rows=rows,
        found=found,
        scope=scope,
        filters=q.search_fields(search),
        searched=search != case_queries.CaseSearch(),
        id_masked=mask_identifier(search.id_number) if search.id_number else "",
        pager_base=q.pager_base("/agent/cases", {"scope": scope}, search),
        without_id=q.pager_base("/agent/cases", {"scope": scope}, search, with_id=False),
    )


# The case page's forms and the policy's actions they take. Acceptance is one of two
# forms: a 即办件 is accepted and settled on the spot, anything else just accepted.
OFFERS = {
    "handoff": "offer_handoff",
    "notice": "request_supplement",
    "supplement": "receive_supplement",
    "deliver": "deliver_case",
    "rate": "rate_case",
    "withdraw": "withdraw_case",
}


def _offers(session: Session, case: Case, node: ThisNode, actor: Actor) -> dict[str, bool]:
    """What the case page offers: what the policy allows this agent now."""
    allowed = allowed_case_actions(session, node, actor, case)
    offers = {form: bool(allowed[action]) for form, action in OFFERS.items()}
    on_the_spot = is_on_the_spot(session, case)
    offers["on_the_spot"] = bool(allowed["accept_case"]) and on_the_spot
    offers["accept"] = bool(allowed["accept_case"]) and not on_the_spot
    return offers


def _documents(session: Session, case_no: str) -> list[dict[str, str]]:
    return [
        {"kind": kind, "title": CASE_DOCUMENTS[kind][0], "url": case_document_url(case_no, kind)}
        for kind in available_case_documents(session, case_no)
    ]


def _case_page(
    page: Page, case_no: str, error: DomainError | None = None, form: str = ""
) -> Response:
    session, node = page.session, page.node
    case = _case_here(page, case_no)
    view = get_case_view(session, case_no, _today(node))
    names = node_names(session)
    try:
        matter: Matter | None = published_matter(session, case.matter_code)[0]
    except NotFound:
        matter = None
    try:
        custody = [
            {**step, "node": names.get(step["node"], step["node"])}
            for step in custody_chain(session, case_no)
        ]
    except DomainError:
        custody = []
    notices = view["notice_list"]
    latest = notices[-1] if notices else None
    positions = case_queries.material_positions(session, case_no)
    to_bring = [
        {
            "name": item["name"],
            "position": positions.get(item["name"]),
            "reason": item["reason"],
            "bring": next(
                (
                    q.material_hint(m)
                    for m in (matter.materials if matter else [])
                    if m.name == item["name"]
                ),
                "按办事指南要求提供",
            ),
        }
        for item in (latest["items"] if latest else [])
    ]
    values = {k: v for k, v in page.form.items() if isinstance(v, str) and k != "csrf_token"}
    return page.render_form(
        "agent/case.html",
        error,
        page_title=f"办件 {case_no}",
        case=case,
        view=view,
        clock=q.clock_of(session, case, _today(node)),
        where=q.whereabouts(
            case,
            names,
            node.node_id,
            queued=case_queries.offer_waiting_upload(session, node, case_no),
        ),
        custody=custody,
        trail=case_queries.case_trail(session, case_no, names),
        names=names,
        missing=q.missing_materials(session, case_no, matter),
        unprovided=case_queries.unprovided_materials(session, case_no),
        latest_notice=latest,
        to_bring=to_bring,
        offers=_offers(session, case, node, _actor(page)),
        documents=_documents(session, case_no),
        delivery_choices=DELIVERY_CHOICES,
        rating_labels=RATING_LABELS,
        values=values,
        form=form,
        licence_pdf=licence_document_url(case.licence_id) if case.licence_id else None,
        handoff_targets=_handoff_choices(page, case.handling_level),
    )


@router.get("/agent/cases/{case_no}")
def case_detail(case_no: CaseNo, page: AgentPage) -> Response:
    return _case_page(page, case_no)


def _done(
    page: Page,
    case_no: str,
    error: DomainError | None,
    form: str,
    notice: str,
    fields: dict[str, str] | None = None,
) -> Response:
    """Back to the case page with ``notice``; on a refusal, the page again with it at the
    field it names (``fields``: the action's field -> the field of ``form``)."""
    if error is None:
        return page.redirect(f"/agent/cases/{case_no}", notice=notice)
    error.field = (fields or {}).get(error.field or "", "_")
    return _case_page(page, case_no, error, form)


@router.post("/agent/cases/{case_no}/handoff")
def case_handoff(case_no: CaseNo, page: AgentPage) -> Response:
    _case_here(page, case_no)
    return _hand_off(page, case_no)


@router.post("/agent/cases/{case_no}/on-the-spot")
def case_on_the_spot(case_no: CaseNo, page: AgentPage) -> Response:
    _case_here(page, case_no)
    _, error = page.act(settle_on_the_spot, case_no, deliver=None)
    return _done(page, case_no, error, "on_the_spot", "已受理并当场办结，请送达申请人")


@router.post("/agent/cases/{case_no}/accept")
def case_accept(case_no: CaseNo, page: AgentPage) -> Response:
    _case_here(page, case_no)
    _, error = page.act(accept_case, case_no)
    return _done(page, case_no, error, "accept", "已受理")


@router.post("/agent/cases/{case_no}/notice")
def case_notice(case_no: CaseNo, page: AgentPage) -> Response:
    """一次性告知: the materials ticked on the page, all at once."""
    _case_here(page, case_no)
    listed = [
        m.name
        for m in case_queries.unprovided_materials(page.session, case_no)
        if page.form.get(f"miss_{m.position}")
    ]
    _, error = page.act(request_supplement, case_no, listed)
    notice = "已出具一次性告知书，请打印交给申请人"
    return _done(page, case_no, error, "notice", notice, {"missing": "missing"})


def _supplement(page: Page, case_no: str, to_bring: list[tuple[int, str]]) -> Case:
    inputs = []
    for position, name in to_bring:
        field = f"s{position}_file"
        upload = read_upload(page, field)
        if upload is not None:
            inputs.append(
                {
                    "position": position,
                    "blob_sha256": _store_scan(page.session, page.node, upload, name, field),
                }
            )
    try:
        return receive_supplement(page.session, page.node, _actor(page), case_no, inputs)
    except DomainError as error:
        error.field = material_field(error.field, inputs, "s") or error.field
        raise


@router.post("/agent/cases/{case_no}/supplement")
def case_supplement(case_no: CaseNo, page: AgentPage) -> Response:
    _case_here(page, case_no)
    view = get_case_view(page.session, case_no, _today(page.node))
    latest = view["notice_list"][-1]["missing"] if view["notice_list"] else []
    positions = case_queries.material_positions(page.session, case_no)
    to_bring = [(positions[name], name) for name in latest if name in positions]
    _, error = page.attempt(_supplement, page, case_no, to_bring)
    notice = "已收到补正材料，办件回到“已申请”"
    fields = {"materials": "materials", **{f"s{p}_file": f"s{p}_file" for p, _ in to_bring}}
    return _done(page, case_no, error, "supplement", notice, fields)


@router.post("/agent/cases/{case_no}/deliver")
def case_deliver(case_no: CaseNo, page: AgentPage) -> Response:
    _case_here(page, case_no)
    method = _text(page, "method", 20)
    place = node_names(page.session).get(page.node.node_id)
    _, error = page.act(
        deliver_case,
        case_no,
        method,
        _text(page, "tracking_no", 60) or None,
        _text(page, "receiver", 120) or None,
        place=place,
    )
    notice = "已送达，请申请人对本次办事评价"
    fields = {"method": "method", "tracking_no": "tracking_no", "receiver": "receiver"}
    return _done(page, case_no, error, "deliver", notice, fields)


@router.post("/agent/cases/{case_no}/rate")
def case_rate(case_no: CaseNo, page: AgentPage) -> Response:
    _case_here(page, case_no)
    raw = _text(page, "level", 2)
    level: Any = int(raw) if raw.isdigit() else raw
    _, error = page.act(
        rate_case,
        case_no,
        level,
        _text(page, "comment", 600),
        real_name=bool(page.form.get("real_name")),
    )
    fields = {"level": "level", "comment": "comment"}
    return _done(page, case_no, error, "rate", "已记录评价，谢谢", fields)


@router.post("/agent/cases/{case_no}/withdraw")
def case_withdraw(case_no: CaseNo, page: AgentPage) -> Response:
    _case_here(page, case_no)
    _, error = page.act(withdraw_case, case_no, _text(page, "withdraw_reason", 600))
    return _done(page, case_no, error, "withdraw", "已撤回", {"reason": "withdraw_reason"})
