"""Node health: what each sync tells the parent, relayed up so the root sees all nodes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from common import __version__
from common.identifiers.masking import mask_text
from common.identity.models import RegistryNode
from common.ledger.models import QuarantinedEvent
from common.node import ThisNode
from common.sync.models import DeadLetter, NodeHealth
from common.timeutil import iso_utc, parse_iso, utcnow

AUTHORITY_CODES = "authority.%"  # dead letters the authority policy refused


def authority_violations(session: Session) -> dict[str, dict[str, Any]]:
    """Events this node refused because their author was not allowed to write them, by
    author: how many, and the latest one's rule and event id. A node flags its
    children's violations in the reports it passes up, so the root sees every one."""
    found: dict[str, dict[str, Any]] = {}
    rows = session.execute(
        select(
            col(DeadLetter.event_id),
            col(DeadLetter.code),
            col(DeadLetter.raw),
            col(DeadLetter.received_at),
        )
        .where(col(DeadLetter.code).like(AUTHORITY_CODES))
        .order_by(col(DeadLetter.id))
    )
    for event_id, code, raw, received_at in rows:
        try:
            author = str(json.loads(raw)["author"])[:12]
        except (ValueError, KeyError, TypeError):
            continue
        entry = found.setdefault(author, {"count": 0})
        entry.update(
            count=entry["count"] + 1, rule=code, event_id=event_id, at=iso_utc(received_at)
        )
    return found


def fork_counts(session: Session) -> dict[str, int]:
    """Events this node set aside as forks of their author's chain, counted by author
    (a node that wrote over events it had lost; ``common.sync.recovery``)."""
    found: dict[str, int] = {}
    rows = session.execute(
        select(col(QuarantinedEvent.raw)).where(col(QuarantinedEvent.reason_code) == "event.fork")
    )
    for (raw,) in rows:
        try:
            author = str(json.loads(raw)["author"])[:12]
        except (ValueError, KeyError, TypeError):
            continue
        found[author] = found.get(author, 0) + 1
    return found


def _detail(row: NodeHealth | None, key: str) -> Any:
    return json.loads(row.detail).get(key) if row is not None and row.detail else None


def _violations_of(row: NodeHealth | None) -> dict[str, Any] | None:
    if row is None or not row.detail:
        return None
    violations: dict[str, Any] | None = json.loads(row.detail).get("violations")
    return violations


def _merged(relayed: dict[str, Any] | None, local: dict[str, Any] | None) -> dict[str, Any] | None:
    """The larger count wins: a relayed figure already includes what the relaying node saw."""
    candidates = [v for v in (relayed, local) if v]
    return max(candidates, key=lambda v: v["count"]) if candidates else None


# This process's last failed sync round, by node: the next report that gets through
# tells the parent (and so the county) what went wrong, and when.
_LAST_FAILURES: dict[str, dict[str, str]] = {}


def note_sync_failure(node_id: str, message: str) -> None:
    """Remember why a sync round failed (masked: a message may quote a record)."""
    _LAST_FAILURES[node_id] = {"message": mask_text(message)[:300], "at": iso_utc(utcnow())}


def own_report(
    node_id: str,
    backlog: int,
    held: int,
    clock_offset_ms: int = 0,
    writes_held: str | None = None,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "node_id": node_id,
        "backlog": backlog,
        "held": held,
        "version": __version__,
        "clock_offset_ms": clock_offset_ms,
    }
    if writes_held:
        report["writes_held"] = writes_held  # "recovering" or "forked"
    if node_id in _LAST_FAILURES:
        report["last_error"] = _LAST_FAILURES[node_id]
    return report


def record_reports(
    session: Session,
    reporter: str,
    reports: list[dict[str, Any]],
    *,
    direct: dict[str, Any] | None = None,
) -> None:
    """Store the child's own report (``direct``, contact now) and those it relays."""
    now = utcnow()
    for report in reports:
        node_id = str(report.get("node_id", ""))[:12]
        if not node_id:
            continue
        contact = parse_iso(report["last_contact"]) if report.get("last_contact") else now
        _upsert(session, node_id, reporter, contact, report)
    if direct is not None:
        _upsert(session, str(direct["node_id"]), reporter, now, direct)


def _upsert(
    session: Session, node_id: str, reporter: str, contact: datetime, report: dict[str, Any]
) -> None:
    row = session.get(NodeHealth, node_id)
    if row is None:
        row = NodeHealth(node_id=node_id, reported_by=reporter, last_contact=contact)
    elif row.last_contact > contact:
        return  # an older relayed report must not overwrite a fresher one
    row.reported_by = reporter
    row.last_contact = contact
    row.backlog = int(report.get("backlog", 0))
    row.held = int(report.get("held", 0))
    row.version = str(report.get("version", ""))[:40]
    row.clock_offset_ms = int(report.get("clock_offset_ms", 0))
    row.detail = json.dumps(
        {
            k: v
            for k, v in report.items()
            if k in ("errors", "rejects", "violations", "writes_held", "forks", "last_error")
        },
        ensure_ascii=False,
    )
    session.add(row)


def relayed_reports(session: Session) -> list[dict[str, Any]]:
    """Everything this node knows about its subtree, to pass up with its own sync."""
    violations = authority_violations(session)
    forks = fork_counts(session)
    reports = []
    for r in session.execute(select(NodeHealth)).scalars():
        report = {
            "node_id": r.node_id,
            "last_contact": iso_utc(r.last_contact),
            "backlog": r.backlog,
            "held": r.held,
            "version": r.version,
            "clock_offset_ms": r.clock_offset_ms,
        }
        flagged = _merged(_violations_of(r), violations.get(r.node_id))
        if flagged:
            report["violations"] = flagged
        if _detail(r, "writes_held"):
            report["writes_held"] = _detail(r, "writes_held")
        if _detail(r, "last_error"):
            report["last_error"] = _detail(r, "last_error")
        fork_total = max(int(_detail(r, "forks") or 0), forks.get(r.node_id, 0))
        if fork_total:
            report["forks"] = fork_total
        reports.append(report)
    return reports


def node_silent_after(node: ThisNode) -> timedelta:
    """How long without contact makes a node silent: ``silent_after_rounds`` sync
    intervals (the network's nodes share the interval; this node's is taken)."""
    settings = node.settings
    return timedelta(seconds=settings.sync_interval_seconds * settings.silent_after_rounds)


def health_overview(session: Session, *, silent_after: timedelta) -> list[dict[str, Any]]:
    """Every registered node with its last known state; silent ones flagged."""
    now = utcnow()
    health = {r.node_id: r for r in session.execute(select(NodeHealth)).scalars()}
    violations = authority_violations(session)
    forks = fork_counts(session)
    rows = []
    for entry in session.execute(select(RegistryNode).order_by(RegistryNode.node_id)).scalars():
        h = health.get(entry.node_id)
        silent = h is None or now - h.last_contact > silent_after
        rows.append(
            {
                "node_id": entry.node_id,
                "name": entry.name,
                "tier": entry.tier,
                "parent_id": entry.parent_id,
                "revoked": entry.revoked_version is not None,
                "last_contact": iso_utc(h.last_contact) if h else None,
                "backlog": h.backlog if h else None,
                "held": h.held if h else None,
                "version": h.version if h else None,
                "clock_offset_ms": h.clock_offset_ms if h else None,
                "silent": silent and entry.parent_id is not None,
                "violations": _merged(_violations_of(h), violations.get(entry.node_id)),
                "writes_held": _detail(h, "writes_held"),
                "last_error": _detail(h, "last_error"),
                "forks": max(int(_detail(h, "forks") or 0), forks.get(entry.node_id, 0)),
            }
        )
    return rows
