"""``GET /healthz``: who this node is, whether its database is whole, what is wrong.

A year without an official holiday schedule is reported loudly here: deadlines in
that year fall back to Monday–Friday until the county imports the schedule. A damaged
database file is ``failed`` with what to do; a node whose writes are held (it lost its
own last writes and is taking them back) is ``degraded`` and says why and what next. Version, database kind and schema
revision are shown only to a signed-in user: they tell an attacker what to try.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from common import __version__
from common.api.deps import NodeDep, OptionalUser, SessionDep
from common.api.openapi import OPTIONAL_BEARER
from common.backup.integrity import Integrity, check_integrity
from common.calendar.service import calendar_status
from common.identity.registry import registry_version
from common.ledger.hold import write_hold
from common.node import ThisNode
from common.timeutil import local_today, utcnow

router = APIRouter(tags=["health"])

# quick_check reads the whole file: at most once per this interval (and at start).
INTEGRITY_INTERVAL = timedelta(minutes=10)


@router.get("/healthz", openapi_extra=OPTIONAL_BEARER)
def healthz(
    request: Request, node: NodeDep, session: SessionDep, user: OptionalUser
) -> dict[str, Any]:
    integrity = _integrity(request, node)
    try:
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        reachable = True
    except Exception:  # noqa: BLE001 - health reports, never raises
        revision, reachable = None, False
    database: dict[str, Any] = {
        "ok": reachable and not integrity.failed,
        "integrity": integrity.status,
        "advice": integrity.advice,
    }
    calendar = calendar_status(session, local_today(node.settings.tz))
    hold = write_hold(node.engine)
    status = (
        "failed"
        if not database["ok"]
        else "degraded"
        if calendar["warnings"] or hold is not None
        else "ok"
    )
    answer: dict[str, Any] = {
        "status": status,
        "node_id": node.node_id,
        "tier": node.tier,
        "root": node.is_root,
        "registry_version": registry_version(session) if reachable else None,
        "database": database,
        "writes": hold.as_dict() if hold else {"held": False},
        "calendar": calendar,
    }
    if user is not None:
        answer["version"] = __version__
        database |= {
            "dialect": node.engine.dialect.name,
            "revision": revision,
            "integrity_detail": integrity.detail,
            "checked_at": integrity.checked_at.isoformat(),
        }
    return answer


def _integrity(request: Request, node: ThisNode) -> Integrity:
    last: Integrity | None = getattr(request.app.state, "integrity", None)
    if last is None or utcnow() - last.checked_at > INTEGRITY_INTERVAL:
        last = check_integrity(node.engine)
        request.app.state.integrity = last
    return last
