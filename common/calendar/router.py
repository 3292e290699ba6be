"""Calendar endpoints: status, days, deadline arithmetic (public) and publishing a
year's official schedule (county administrator, root node only).

Every answer that depends on a year without an official schedule carries
``fallback_years`` and a Chinese ``warning``: the date is an estimate on
Monday-Friday and may move once the county imports that year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import UploadFile

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.calendar import service
from common.errors import DomainError
from common.timeutil import local_today

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])

MAX_UPLOAD_BYTES = 64 * 1024  # a year's schedule is about 1 KiB


@router.get("/status")
def status(node: NodeDep, session: SessionDep) -> dict[str, Any]:
    """Covered and published years, the calendar version, warnings for missing years."""
    return service.calendar_status(session, local_today(node.settings.tz))


@router.get("/days")
def days(
    session: SessionDep,
    start: Annotated[date, Query(alias="from", description="YYYY-MM-DD")],
    end: Annotated[date, Query(alias="to", description="YYYY-MM-DD, at most 400 days on")],
) -> dict[str, Any]:
    return service.calendar_days(session, start, end)


@router.get("/add")
def add(
    session: SessionDep,
    start: Annotated[date, Query(description="day of acceptance; it does not count")],
    days: Annotated[int, Query(ge=0, le=3650, description="working days")],
) -> dict[str, Any]:
    return service.deadline_report(session, start, days)


@router.get("/between")
def between(session: SessionDep, start: date, end: date) -> dict[str, Any]:
    """Working days d with start < d <= end (negative when end is before start)."""
    return service.span_report(session, start, end)


@dataclass(frozen=True)
class ScheduleUpload:
    content: bytes
    fmt: str
    source: str | None


async def schedule_upload(request: Request, source: str | None = None) -> ScheduleUpload:
    """A multipart file (``file``, optional ``source`` field), a JSON body, or a CSV body."""
    content_type = request.headers.get("content-type", "").lower()
    filename = None
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise DomainError(
                "calendar.file_missing", "请上传CSV或JSON文件（字段名 file）", field="file"
            )
        content = await upload.read(MAX_UPLOAD_BYTES + 1)
        filename, content_type = upload.filename, upload.content_type or ""
        form_source = form.get("source")
        source = form_source if isinstance(form_source, str) and form_source.strip() else source
    else:
        content = await request.body()
    if len(content) > MAX_UPLOAD_BYTES:
        raise DomainError(
            "calendar.file_too_large", "文件过大（上限64KB）", field="file", status=413
        )
    if not content.strip():
        raise DomainError(
            "calendar.file_missing", "请上传CSV或JSON文件，或以JSON提交", field="file"
        )
    return ScheduleUpload(content, service.schedule_format(filename, content_type, content), source)


@router.post("/years", status_code=201)
def publish_year(
    actor: CurrentUser,  # first: who is asking is checked before the upload is read
    node: NodeDep,
    session: SessionDep,
    upload: Annotated[ScheduleUpload, Depends(schedule_upload)],
) -> dict[str, Any]:
    """Publish a year's official holidays and make-up working days to every node."""
    service.check_may_publish(node, actor)
    schedule = service.read_year_schedule(upload.content, upload.fmt, upload.source)
    event = service.import_year_schedule(session, node, actor, schedule, schedule.source)
    return {
        "year": schedule.year,
        "version": event.envelope["sseq"],
        "event_id": event.id,
        "holidays": len(schedule.holidays),
        "workdays": len(schedule.workdays),
        "source": event.body["source"],
    }
