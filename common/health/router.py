"""``GET /healthz``: node id, tier, version, database and calendar status.

A year without an official holiday schedule is reported loudly here: deadlines in
that year fall back to Monday–Friday until the county imports the schedule.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from common import __version__
from common.api.deps import NodeDep, SessionDep
from common.calendar.service import calendar_status
from common.identity.registry import registry_version
from common.timeutil import local_today

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(node: NodeDep, session: SessionDep) -> dict:
    try:
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        database = {"ok": True, "dialect": node.engine.dialect.name, "revision": revision}
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        database = {"ok": False, "dialect": node.engine.dialect.name, "error": type(exc).__name__}
    calendar = calendar_status(session, local_today(node.settings.tz))
    return {
        "status": "ok" if database["ok"] and not calendar["warnings"] else "degraded",
        "node_id": node.node_id,
        "tier": node.tier,
        "version": __version__,
        "root": node.is_root,
        "registry_version": registry_version(session),
        "database": database,
        "calendar": calendar,
    }
