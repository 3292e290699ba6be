"""County administrator screens: node health overview, catalogue import/review/publish
and withdrawal of a published matter, calendar import, nodes (enrol, revoke) and users
(provision, role, password, status).

Thin handlers over the action functions the REST routers call (common/catalog,
common/calendar, common/identity, common/users); the actions check the role and the
node again. Mounted on the county node only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response

from common.calendar import queries as calendar_queries
from common.calendar import service as calendar_service
from common.calendar.router import MAX_UPLOAD_BYTES as CALENDAR_MAX_BYTES
from common.calendar.schedule import YearSchedule
from common.catalog import queries as catalogue_queries
from common.catalog import service as catalogue_service
from common.catalog.io import CatalogueImportError, format_of, read_catalogue
from common.catalog.router import MAX_UPLOAD_BYTES as CATALOGUE_MAX_BYTES
from common.errors import DomainError, NotFound
from common.identity import queries as identity_queries
from common.identity import service as identity_service
from common.identity.registry import get_node_entry
from common.labels import WINDOW_LABELS, tier_label
from common.ledger.envelope import SignedEvent
from common.sync import queries as sync_queries
from common.sync.admin_router import dead_letters, held_events, rejects
from common.sync.telemetry import node_silent_after
from common.timeutil import local_today, utcnow
from common.users import service as users_service
from common.users.roles import Role
from common.web import queries_admin as q
from common.web.page import Page, page_for
from common.web.work import needs_attention

router = APIRouter(include_in_schema=False)

Admin = Annotated[Page, page_for(Role.COUNTY_ADMIN)]
Overseer = Annotated[Page, page_for(Role.COUNTY_ADMIN, Role.AUDITOR)]
NodeId = Annotated[str, Path(pattern=r"^\d{12}$")]
Username = Annotated[str, Path(min_length=1, max_length=64)]
MatterCode = Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,40}$")]  # 实施编码
Text = Annotated[str, Form(max_length=300)]
LISTED_PROBLEMS = 50  # sync problems listed per kind on the health page


def screens() -> APIRouter:
    """The tier packages mount this router (see their tier.py)."""
    return router


def _today(page: Page) -> date:
    return local_today(page.node.settings.tz)


def _upload_bytes(file: UploadFile | None, limit: int, label: str, code: str) -> tuple[bytes, str]:
    if file is None or not file.filename:
        raise DomainError(f"{code}.file_missing", "请选择要导入的文件", field="file")
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise DomainError(
            f"{code}.file_too_large", f"文件过大（上限{label}）", field="file", status=413
        )
    return data, file.filename


# -- node health -------------------------------------------------------------------


@router.get("/admin/health")
def health(page: Overseer) -> Response:
    nodes = sync_queries.node_overview(page.session, page.node)
    return page.render(
        "admin/health.html",
        page_title="节点运行状况",
        nodes=nodes,
        silent=sum(1 for n in nodes if n.state == "silent"),
        silent_after=_duration(node_silent_after(page.node).total_seconds()),
        attention=len(needs_attention(nodes)),
        tier_label=tier_label,
        counts=sync_queries.local_problem_counts(page.session),
        dead_letters=dead_letters(page.session, LISTED_PROBLEMS, 0),
        held=held_events(page.session, LISTED_PROBLEMS, 0),
        rejects=rejects(page.session, LISTED_PROBLEMS, 0),
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}秒"
    if seconds < 7200:
        return f"{seconds / 60:.0f}分钟"
    return f"{seconds / 3600:.0f}小时"


# -- catalogue -------------------------------------------------------------------------


def _catalogue(page: Page, search: str = "", **context: Any) -> dict[str, Any]:
    session = page.session
    published = catalogue_service.list_published(session, q=search or None)
    values: dict[str, Any] = {
        "page_title": "事项目录",
        "q": search,
        "counts": catalogue_queries.catalogue_counts(session),
        "drafts": catalogue_queries.unpublished_drafts(session, search or None),
        "published": published[: q.SHOWN_PUBLISHED],
        "published_total": len(published),
        "share": catalogue_service.one_trip_share(session),
        "version": catalogue_service.catalogue_version(session),
        "window_labels": WINDOW_LABELS,
        "batch_name": "",
        "published_on": _today(page).isoformat(),
        "chosen": None,
        "problems": [],
    }
    values.update(context)
    return values


@router.get("/admin/catalogue")
def catalogue(
    page: Admin, search: Annotated[str, Query(alias="q", max_length=100)] = ""
) -> Response:
    return page.render("admin/catalogue.html", **_catalogue(page, search.strip()))


def _read_catalogue_upload(file: UploadFile | None) -> list[Any]:
    data, filename = _upload_bytes(file, CATALOGUE_MAX_BYTES, "20MB", "catalogue")
    return read_catalogue(data, format_of(filename))


@router.post("/admin/catalogue/import")
def import_catalogue(
    page: Admin,
    file: Annotated[UploadFile | None, File()] = None,
    replace_existing: Annotated[bool, Form()] = False,
) -> Response:
    matters, error = page.attempt(_read_catalogue_upload, file)
    summary = None
    if error is None:
        assert matters is not None
        summary, error = page.act(
            catalogue_service.import_drafts, matters, replace_existing=replace_existing
        )
    if error is not None:
        problems = error.problems if isinstance(error, CatalogueImportError) else []
        return page.form_error("admin/catalogue.html", error, **_catalogue(page, problems=problems))
    assert summary is not None
    return page.redirect(
        "/admin/catalogue",
        notice=(
            f"已导入{summary.total}个事项：新增{len(summary.created)}个，更新{len(summary.updated)}个，"
            f"未变{len(summary.unchanged)}个。草稿尚未发布。"
        ),
    )


def _parse_day(text: str, field: str, label: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError("web.date", f"{label}应为年-月-日，如 2026-11-27", field=field) from None


def _publish(page: Page, name: str, published_on: str, codes: list[str]) -> Any:
    day = _parse_day(published_on, "published_on", "公布日期")
    assert page.actor is not None  # an Admin page has a logged-in actor
    return catalogue_service.publish_batch(
        page.session, page.node, page.actor, name=name, published_on=day, codes=codes
    )


@router.post("/admin/catalogue/publish")
def publish_catalogue(
    page: Admin,
    name: Annotated[str, Form(max_length=200)] = "",
    published_on: Annotated[str, Form(max_length=20)] = "",
    codes: Annotated[list[str], Form()] = [],  # noqa: B006  (FastAPI copies defaults)
) -> Response:
    event, error = page.attempt(_publish, page, name, published_on, codes)
    if error is not None:
        return page.form_error(
            "admin/catalogue.html",
            error,
            **_catalogue(page, batch_name=name, published_on=published_on, chosen=set(codes)),
        )
    assert event is not None
    body = event.body
    return page.redirect(
        "/admin/catalogue",
        notice=(
            f"已发布第{body['batch_no']}批“{body['name']}”，共{len(body['matters'])}个事项"
            f"（目录版本 {event.envelope['sseq']}）"
        ),
    )


def _confirm_page(
    page: Page,
    template: str,
    subject: dict[str, Any],
    reason: str = "",
    error: DomainError | None = None,
) -> Response:
    """The confirmation of an act that cannot be undone (withdraw a matter, revoke a node):
    what it is about, the reason typed so far and the refusal, if any."""
    return page.render_form(template, error, reason=reason, **subject)


def _matter_to_withdraw(page: Page, code: str) -> dict[str, Any]:
    matter = catalogue_service.get_published(page.session, code)
    return {
        "page_title": f"撤销事项 {matter.name}",
        "matter": matter,
        "window_labels": WINDOW_LABELS,
    }


@router.get("/admin/catalogue/matters/{code}/withdraw")
def withdraw_form(page: Admin, code: MatterCode) -> Response:
    return _confirm_page(page, "admin/matter_withdraw.html", _matter_to_withdraw(page, code))


@router.post("/admin/catalogue/matters/{code}/withdraw")
def withdraw_matter(
    page: Admin, code: MatterCode, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    event, error = page.act(catalogue_service.withdraw_matter, code, reason)
    if error is not None:
        subject = _matter_to_withdraw(page, code)
        return _confirm_page(page, "admin/matter_withdraw.html", subject, reason, error)
    assert event is not None
    name = catalogue_service.get_published(page.session, code).name
    return page.redirect(
        "/admin/catalogue",
        notice=(
            f"已撤销事项“{name}”（{code}，目录版本 {event.envelope['sseq']}）；"
            "各节点同步后不再受理该事项的新申请"
        ),
    )


# -- calendar --------------------------------------------------------------------------


def _calendar(page: Page, **context: Any) -> dict[str, Any]:
    today = _today(page)
    values: dict[str, Any] = {
        "page_title": "工作日历",
        "status": calendar_service.calendar_status(page.session, today),
        "years": calendar_queries.calendar_years(page.session, today),
        "problems": [],
        "source": "",
        "day": "",
        "kind": "holiday",
        "day_name": "",
        "day_source": "",
    }
    values.update(context)
    return values


@router.get("/admin/calendar")
def calendar(page: Admin) -> Response:
    return page.render("admin/calendar.html", **_calendar(page))


def _publish_year_file(
    page: Page, file: UploadFile | None, source: str
) -> tuple[YearSchedule, SignedEvent]:
    assert page.actor is not None  # an Admin page has a logged-in actor
    calendar_service.check_may_publish(page.node, page.actor)
    data, filename = _upload_bytes(file, CALENDAR_MAX_BYTES, "64KB", "calendar")
    fmt = calendar_service.schedule_format(filename, file.content_type if file else None, data)
    schedule = calendar_service.read_year_schedule(data, fmt, source.strip() or None)
    event = calendar_service.import_year_schedule(
        page.session, page.node, page.actor, schedule, schedule.source
    )
    return schedule, event


def _schedule_errors(error: DomainError) -> tuple[list[Any], dict[str, str]]:
    """A rejected schedule: every problem for the table, the source's at its field."""
    problems = list(getattr(error, "problems", []))
    if not problems:
        return [], {error.field or "_": error.message}
    errors = {"file": error.message}
    for problem in problems:
        if problem.location == "source":
            errors["source"] = problem.message
    return problems, errors


@router.post("/admin/calendar/import")
def import_calendar(
    page: Admin,
    file: Annotated[UploadFile | None, File()] = None,
    source: Text = "",
) -> Response:
    result, error = page.attempt(_publish_year_file, page, file, source)
    if error is not None:
        problems, errors = _schedule_errors(error)
        return page.render(
            "admin/calendar.html",
            status_code=error.status_code,
            error=error,
            **_calendar(page, problems=problems, errors=errors, source=source),
        )
    assert result is not None  # not refused, so the action returned its result
    schedule, event = result
    return page.redirect(
        "/admin/calendar",
        notice=(
            f"已发布{schedule.year}年节假日安排：放假{len(schedule.holidays)}天，"
            f"调休上班{len(schedule.workdays)}天（日历版本 {event.envelope['sseq']}）"
        ),
    )


def _publish_day(page: Page, day: str, kind: str, name: str, source: str) -> date:
    assert page.actor is not None  # an Admin page has a logged-in actor
    calendar_service.check_may_publish(page.node, page.actor)
    parsed = _parse_day(day, "day", "日期")
    schedule = calendar_queries.year_schedule_with_day(page.session, parsed, kind, name, source)
    calendar_service.import_year_schedule(page.session, page.node, page.actor, schedule, source)
    return parsed


@router.post("/admin/calendar/day")
def add_calendar_day(
    page: Admin,
    day: Annotated[str, Form(max_length=20)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    name: Annotated[str, Form(max_length=60)] = "",
    day_source: Text = "",
) -> Response:
    parsed, error = page.attempt(_publish_day, page, day, kind, name, day_source)
    if error is not None:
        where = {"source": "day_source", "year": "day"}.get(error.field or "", error.field or "day")
        return page.render(
            "admin/calendar.html",
            status_code=error.status_code,
            error=error,
            **_calendar(
                page,
                errors={where: error.message},
                day=day,
                kind=kind,
                day_name=name,
                day_source=day_source,
            ),
        )
    assert parsed is not None  # not refused, so the action returned the day
    label = "放假" if kind == "holiday" else "调休上班"
    return page.redirect(
        "/admin/calendar", notice=f"已将{parsed}设为{label}，{parsed.year}年安排已重新发布"
    )


# -- nodes -------------------------------------------------------------------------------


def _nodes(page: Page, **context: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "page_title": "节点管理",
        "nodes": identity_queries.registry_rows(page.session),
        "invitations": identity_queries.pending_invitations(page.session, utcnow()),
        "tier_label": tier_label,
        "parents": identity_queries.node_choices(page.session),
        "tiers": [(t, tier_label(t)) for t in identity_service.TIERS],
        "form": {"node_id": "", "name": "", "tier": "", "parent_id": "", "valid_hours": ""},
    }
    values.update(context)
    return values


@router.get("/admin/nodes")
def nodes(page: Admin) -> Response:
    return page.render("admin/nodes.html", **_nodes(page))


def _invite(
    page: Page, node_id: str, name: str, tier: str, parent_id: str, valid_hours: str
) -> Any:
    hours = None
    if valid_hours.strip():
        if not valid_hours.strip().isdigit() or not 1 <= int(valid_hours) <= 24 * 30:
            raise DomainError("node.valid_hours", "有效期应为1至720小时", field="valid_hours")
        hours = int(valid_hours)
    assert page.actor is not None  # an Admin page has a logged-in actor
    return identity_service.invite_node(
        page.session,
        page.node,
        page.actor,
        node_id.strip(),
        name,
        tier=tier or None,
        parent_id=parent_id.strip() or None,
        valid_hours=hours,
    )


@router.post("/admin/nodes/invite")
def invite_node(
    page: Admin,
    node_id: Annotated[str, Form(max_length=20)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    tier: Annotated[str, Form(max_length=20)] = "",
    parent_id: Annotated[str, Form(max_length=20)] = "",
    valid_hours: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    invitation, error = page.attempt(_invite, page, node_id, name, tier, parent_id, valid_hours)
    if error is not None:
        form = {
            "node_id": node_id,
            "name": name,
            "tier": tier,
            "parent_id": parent_id,
            "valid_hours": valid_hours,
        }
        return page.form_error("admin/nodes.html", error, **_nodes(page, form=form))
    assert invitation is not None
    # Shown once, here: only the token's hash is kept, so it is never on a page again.
    parent_url = (
        str(page.request.base_url).rstrip("/")
        if invitation.parent_id == page.node.node_id
        else "<上级节点地址>"
    )
    command = (
        f"onetrip init -d <数据目录> --tier {invitation.tier} --node-id {invitation.node_id} "
        f"--parent {parent_url} --token {invitation.token}"
    )
    parent = get_node_entry(page.session, invitation.parent_id)
    response = page.render(
        "admin/node_invited.html",
        page_title="节点注册令牌",
        invitation=invitation,
        command=command,
        parent_name=parent.name if parent else "",
        tier_label=tier_label,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _node_to_revoke(page: Page, node_id: str) -> dict[str, Any]:
    entry = get_node_entry(page.session, node_id)
    if entry is None:
        raise NotFound("node.unknown", f"节点 {node_id} 未登记", field="node_id")
    return {"page_title": f"注销节点 {entry.name}", "entry": entry, "tier_label": tier_label}


@router.get("/admin/nodes/{node_id}/revoke")
def revoke_form(page: Admin, node_id: NodeId) -> Response:
    return _confirm_page(page, "admin/node_revoke.html", _node_to_revoke(page, node_id))


@router.post("/admin/nodes/{node_id}/revoke")
def revoke_node(page: Admin, node_id: NodeId, reason: Text = "") -> Response:
    _, error = page.act(identity_service.revoke_node, node_id, reason)
    if error is not None:
        subject = _node_to_revoke(page, node_id)
        return _confirm_page(page, "admin/node_revoke.html", subject, reason, error)
    return page.redirect(
        "/admin/nodes", notice=f"已注销节点 {node_id}，它此后写入的记录将被各节点拒收"
    )


# -- users -------------------------------------------------------------------------------

EMPTY_USER = {
    "node_id": "",
    "username": "",
    "display_name": "",
    "role": "",
    "department": "",
    "head": False,
}


def _users(page: Page, node_filter: str, **context: Any) -> dict[str, Any]:
    session = page.session
    choices = identity_queries.node_choices(session)
    names = {n.node_id: n.name for n in identity_queries.active_nodes(session)}
    values: dict[str, Any] = {
        "page_title": "用户管理",
        "node_filter": node_filter,
        "node_choices": choices,
        "node_names": names,
        "users": users_service.list_users(session, node_filter or None),
        "roles": q.role_choices(),
        "label_of_role": q.role_label,
        "form": {**EMPTY_USER, "node_id": node_filter or page.node.node_id},
    }
    values.update(context)
    return values


@router.get("/admin/users")
def users(page: Admin, node_id: Annotated[str, Query(max_length=12)] = "") -> Response:
    return page.render("admin/users.html", **_users(page, node_id.strip()))


@router.post("/admin/users")
def provision_user(
    page: Admin,
    node_id: Annotated[str, Form(max_length=20)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=100)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    department: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    head: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    event, error = page.act(
        users_service.provision_user,
        node_id=node_id,
        username=username,
        display_name=display_name,
        role=role,
        department=department or None,
        password=password,
        head=bool(head),
    )
    if error is not None:
        form = {
            "node_id": node_id,
            "username": username,
            "display_name": display_name,
            "role": role,
            "department": department,
            "head": bool(head),
        }
        return page.form_error("admin/users.html", error, **_users(page, "", form=form))
    assert event is not None
    return page.redirect(
        f"/admin/users?node_id={node_id}",
        notice=f"已开通用户 {event.body['username']}，账号将随同步送达该节点",
    )


def _user_context(page: Page, node_id: str, username: str, **context: Any) -> dict[str, Any]:
    user = users_service.get_user(page.session, node_id, username)
    entry = get_node_entry(page.session, node_id)
    assert page.actor is not None
    own = page.actor.node_id == node_id and page.actor.username == user.username
    return {
        "page_title": f"用户 {user.username}",
        "user": user,
        "own": own,
        "roles": q.role_choices(),
        "label_of_role": q.role_label,
        "node_name": entry.name if entry else node_id,
        "node_tier": tier_label(entry.tier if entry else None),
        "role": user.role,
        "department": user.department or "",
        "head": user.head,
        **context,
    }


@router.get("/admin/users/{node_id}/{username}")
def user_detail(page: Admin, node_id: NodeId, username: Username) -> Response:
    return page.render("admin/user.html", **_user_context(page, node_id, username))


def _user_path(node_id: str, username: str) -> str:
    return f"/admin/users/{node_id}/{username}"


@router.post("/admin/users/{node_id}/{username}/role")
def change_role(
    page: Admin,
    node_id: NodeId,
    username: Username,
    role: Annotated[str, Form(max_length=40)] = "",
    department: Annotated[str, Form(max_length=100)] = "",
    head: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    _, error = page.act(
        users_service.change_role,
        node_id=node_id,
        username=username,
        role=role,
        department=department or None,
        head=bool(head),
    )
    if error is not None:
        context = {"role": role, "department": department, "head": bool(head)}
        return page.form_error(
            "admin/user.html", error, **_user_context(page, node_id, username, **context)
        )
    return page.redirect(
        _user_path(node_id, username), notice=f"已将 {username} 的角色改为{q.role_label(role)}"
    )


def _reset_password(
    page: Page, node_id: str, username: str, password: str, confirm: str, current: str
) -> Any:
    if password != confirm:
        raise DomainError("password.mismatch", "两次输入的新密码不一致", field="password_confirm")
    assert page.actor is not None  # an Admin page has a logged-in actor
    return users_service.change_password(
        page.session,
        page.node,
        page.actor,
        node_id=node_id,
        username=username,
        password=password,
        current_password=current or None,
    )


@router.post("/admin/users/{node_id}/{username}/password")
def reset_password(
    page: Admin,
    node_id: NodeId,
    username: Username,
    password: Annotated[str, Form(max_length=256)] = "",
    password_confirm: Annotated[str, Form(max_length=256)] = "",
    current_password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    _, error = page.attempt(
        _reset_password, page, node_id, username, password, password_confirm, current_password
    )
    if error is not None:
        return page.form_error("admin/user.html", error, **_user_context(page, node_id, username))
    return page.redirect(
        _user_path(node_id, username), notice=f"已重置 {username} 的密码；该用户原有的登录将失效"
    )


@router.post("/admin/users/{node_id}/{username}/active")
def set_active(
    page: Admin,
    node_id: NodeId,
    username: Username,
    active: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    enable = active == "true"
    _, error = page.act(
        users_service.set_user_active, node_id=node_id, username=username, active=enable
    )
    if error is not None:
        return page.form_error("admin/user.html", error, **_user_context(page, node_id, username))
    return page.redirect(
        _user_path(node_id, username), notice=f"已{'启用' if enable else '停用'}用户 {username}"
    )
