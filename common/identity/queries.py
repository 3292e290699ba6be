"""What is read about the registry for the administrator's screens: the registered
nodes with parent names and software versions, the active nodes (and the choice list
built from them), and the enrolment invitations still waiting to be used. Tiers sort
from the province down (``TIER_ORDER``). The registry's own reads for sync and
verification stay in ``common.identity.registry``; nothing here writes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from common.identity.models import EnrolmentToken, RegistryNode
from common.identity.registry import registered_nodes_view
from common.identity.service import TIERS
from common.labels import tier_label
from common.sync.telemetry import health_overview

TIER_ORDER = {tier: n for n, tier in enumerate(TIERS)}  # province 0 ... village 4


def registry_rows(session: Session) -> list[dict[str, Any]]:
    """The registry with parent names, software versions and pending invitations."""
    names = {n.node_id: n.name for n in session.execute(select(RegistryNode)).scalars()}
    health = health_overview(session, silent_after=timedelta.max)  # the versions only
    versions = {h["node_id"]: h["version"] for h in health}
    rows = []
    for entry in registered_nodes_view(session):
        rows.append(
            {
                **entry,
                "tier_label": tier_label(entry["tier"]),
                "parent_name": names.get(entry["parent_id"] or "", ""),
                "revoked": entry["revoked_version"] is not None,
                "software": versions.get(entry["node_id"]),
            }
        )
    return sorted(rows, key=lambda r: (TIER_ORDER.get(r["tier"], 9), r["node_id"]))


def pending_invitations(session: Session, now: datetime) -> list[EnrolmentToken]:
    """Invitations not used yet and not expired (the token itself is never shown again)."""
    rows = session.execute(
        select(EnrolmentToken)
        .where(col(EnrolmentToken.used_at).is_(None))
        .order_by(col(EnrolmentToken.created_at).desc())
    ).scalars()
    registered = set(session.execute(select(col(RegistryNode.node_id))).scalars())
    return [r for r in rows if _aware(r.expires_at) > now and r.node_id not in registered]


def _aware(moment: datetime) -> datetime:
    # SQLite hands AwareDateTime() back naive; what was stored is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def active_nodes(session: Session) -> list[RegistryNode]:
    rows = session.execute(
        select(RegistryNode).where(col(RegistryNode.revoked_version).is_(None))
    ).scalars()
    return sorted(rows, key=lambda n: (TIER_ORDER.get(n.tier, 9), n.node_id))


def node_choices(session: Session) -> list[tuple[str, str]]:
    """(node id, 名称（层级 代码）) of every active node, for a form's choice list."""
    return [
        (n.node_id, f"{n.name}（{tier_label(n.tier)} {n.node_id}）") for n in active_nodes(session)
    ]
