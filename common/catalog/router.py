"""Catalogue endpoints: thin wrappers over ``common.catalog.service``.

Reading the published catalogue (matters, batches, share, export) is public, as the
service guides are. Drafts, import and publication need a county administrator on the
root node (checked again in the action functions).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from common.api.deps import CurrentUser, NodeDep, SessionDep, get_current_user, only
from common.api.openapi import OPTIONAL_BEARER
from common.catalog import service
from common.catalog.io import MEDIA_TYPES, format_of, read_catalogue, write_catalogue
from common.catalog.models import MatterDraft, PublishedMatter
from common.errors import DomainError
from common.labels import WINDOW_LABELS
from common.users.roles import Role, require_role

router = APIRouter(prefix="/api/v1/catalogue", tags=["catalogue"])
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # ~10x a full county catalogue as XLSX
_optional_bearer = HTTPBearer(auto_error=False)
OptionalCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)]


class PublishRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="批次名称")
    published_on: date = Field(description="公布日期 YYYY-MM-DD")
    codes: list[str] = Field(min_length=1, description="实施编码")


class WithdrawRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=300)


def _summary(row: PublishedMatter | MatterDraft) -> dict[str, Any]:
    result: dict[str, Any] = {
        "implementation_code": row.implementation_code,
        "basic_code": row.basic_code,
        "name": row.name,
        "window": row.window,
        "window_label": WINDOW_LABELS.get(row.window, row.window),
    }
    if isinstance(row, PublishedMatter):
        result.update(
            handling_level=row.handling_level,
            case_type=row.case_type,
            required_visits=row.required_visits,
            one_trip=row.required_visits <= 1,
            batch_no=row.batch_no,
            version=row.version,
        )
    else:
        result.update(imported_at=row.imported_at_utc.isoformat(), updated_by=row.updated_by)
    return result


@router.post("/import", **only(Role.COUNTY_ADMIN))
def import_file(
    session: SessionDep,
    node: NodeDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description=".xlsx / .csv / .json")],
    replace_existing: Annotated[bool, Form()] = True,
) -> dict[str, Any]:
    require_role(user, Role.COUNTY_ADMIN)  # before reading a large upload
    fmt = format_of(file.filename or "")
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(
            "catalogue.file_too_large", "文件过大（上限20MB）", field="file", status=413
        )
    matters = read_catalogue(data, fmt)
    summary = service.import_drafts(session, node, user, matters, replace_existing=replace_existing)
    return summary.as_dict()


@router.get("/drafts")
def drafts(
    session: SessionDep,
    user: CurrentUser,
    window: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    require_role(user, Role.COUNTY_ADMIN)
    return [_summary(row) for row in service.list_drafts(session, window=window, q=q)]


@router.post("/batches", **only(Role.COUNTY_ADMIN))
def publish(
    session: SessionDep, node: NodeDep, user: CurrentUser, request: PublishRequest
) -> dict[str, Any]:
    event = service.publish_batch(
        session,
        node,
        user,
        name=request.name,
        published_on=request.published_on,
        codes=request.codes,
    )
    body = event.body
    return {
        "batch_no": body["batch_no"],
        "name": body["name"],
        "published_on": body["published_on"],
        "version": event.envelope["sseq"],
        "event_id": event.id,
        "matters": len(body["matters"]),
    }


@router.get("/batches")
def batches(session: SessionDep) -> list[dict[str, Any]]:
    return [
        {
            "batch_no": b.batch_no,
            "name": b.name,
            "published_on": b.published_on,
            "version": b.version,
            "published_at": b.published_at,
            "matters": b.matter_count,
            "one_trip": b.one_trip_count,
            "share": service.share_text(b.one_trip_count, b.matter_count),
        }
        for b in service.list_batches(session)
    ]


@router.get("/matters")
def matters(
    session: SessionDep,
    window: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    rows = service.list_published(session, window=window, q=q)
    return {
        "version": service.catalogue_version(session),
        "matters": [_summary(row) for row in rows],
    }


@router.get("/matters/{code}")
def matter(session: SessionDep, code: str) -> dict[str, Any]:
    row = service.get_published(session, code)
    return {
        **_summary(row),
        "withdrawn": row.withdrawn,
        "withdrawn_reason": row.withdrawn_reason,
        "matter": row.to_matter().model_dump(mode="json"),
    }


@router.post("/matters/{code}/withdraw", **only(Role.COUNTY_ADMIN))
def withdraw(
    session: SessionDep, node: NodeDep, user: CurrentUser, code: str, request: WithdrawRequest
) -> dict[str, Any]:
    event = service.withdraw_matter(session, node, user, code, request.reason)
    return {"implementation_code": code, "version": event.envelope["sseq"], "event_id": event.id}


@router.get("/share")
def share(session: SessionDep) -> dict[str, Any]:
    return {"version": service.catalogue_version(session), **service.one_trip_share(session)}


@router.get(
    "/export",
    openapi_extra=OPTIONAL_BEARER,  # the published catalogue is public; drafts need the admin
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
def export(
    request: Request,
    session: SessionDep,
    node: NodeDep,
    credentials: OptionalCredentials,
    format: Literal["xlsx", "csv", "json"] = "xlsx",
    source: Literal["published", "drafts"] = "published",
) -> Response:
    if source == "drafts":  # drafts are the county's unpublished working copy
        require_role(get_current_user(request, session, node, credentials), Role.COUNTY_ADMIN)
        items = service.export_drafts(session)
    else:
        items = service.export_published(session)
    version = service.catalogue_version(session)
    filename = f"catalogue-{source}-v{version}.{format}"
    return Response(
        content=write_catalogue(items, format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
