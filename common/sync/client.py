"""The child's side of sync: push what the parent needs, pull what it holds for us.

One round (``sync_once``): ask the parent what it holds of this node's own chain
(``common.sync.recovery``: a node that lost its own writes holds them until it has them
back), push outbox batches (their blobs first) until the parent has acknowledged
everything, then pull batches until the parent has nothing more, and ask again. Each
batch is one transaction on each side; cursors move only on acknowledgement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from sqlmodel import Session

from common.blobs import store
from common.blobs.service import blobs_held, store_blob
from common.db import transaction
from common.errors import DomainError
from common.identity.parent_link import clock_offset, post_to_parent, request_parent
from common.ledger.envelope import parse_event
from common.ledger.hold import WriteHold, chain_confirmed, write_hold
from common.node import ThisNode
from common.sync import blob_transfer
from common.sync.models import SyncReject
from common.sync.outbox import acknowledge, backlog, cursor, read_batch, requeue_own_for_parent
from common.sync.receive import BatchResult, held_count, receive_batch, referenced_blobs
from common.sync.recovery import judge_standing, own_standing
from common.sync.routing import parent_of
from common.sync.telemetry import own_report, relayed_reports
from common.timeutil import utcnow

log = logging.getLogger("onetrip.sync")
_AFTER_PULL: list[Any] = []


def after_pull(hook: Any) -> None:
    """Run ``hook(session, node, stored_subjects)`` in the transaction that applied a pulled batch."""
    if hook not in _AFTER_PULL:
        _AFTER_PULL.append(hook)


class SyncError(RuntimeError):
    """The round stopped; what was acknowledged so far stays acknowledged."""


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    blobs_up: int = 0
    blobs_down: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    held: int = 0
    writes_held: WriteHold | None = None  # this node's own writes, after the round


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code != 200:
        try:
            detail = response.json()
        except ValueError:
            detail = {"message": response.text[:200]}
        raise SyncError(
            f"{what} refused ({response.status_code}): {detail.get('code')} {detail.get('message')}"
        )
    body: dict[str, Any] = response.json()
    return body


def sync_once(node: ThisNode) -> SyncReport:
    """One round; a round already running on this node is waited for, not joined."""
    with node.sync_round:
        return _round(node)


def _round(node: ThisNode) -> SyncReport:
    report = SyncReport()
    with transaction(node.engine) as session:
        parent = parent_of(session, node.node_id)
    if parent is None or not node.settings.parent_url:
        return report
    try:
        # Asked until the parent confirms the chain once after this process started.
        hold = None if chain_confirmed(node.engine) else check_standing(node)
        if hold is None or hold.why == "recovering":
            _push_all(node, parent, report)  # a forked chain's events would only be set aside
        _pull_all(node, parent, report)
        if hold is not None:
            hold = check_standing(node)  # released once the pulled events close the gap
    except httpx.HTTPError as exc:
        raise SyncError(f"link to parent failed: {type(exc).__name__}") from exc
    report.writes_held = hold
    return report


def check_standing(node: ThisNode, *, timeout: float = 30) -> WriteHold | None:
    """Compare this node's own chain with the parent's copy; hold or release writes."""
    with transaction(node.engine) as session:
        own = own_standing(session, node.node_id)
    answer = _check(
        post_to_parent(node, "/api/v1/sync/standing", {"own_head": own.seq}, timeout=timeout),
        "standing",
    )
    with transaction(node.engine) as session:
        return judge_standing(node.engine, session, node.node_id, own, answer)


def _push_all(node: ThisNode, parent: str, report: SyncReport) -> None:
    first = True
    while True:
        with transaction(node.engine) as session:
            after = cursor(session, parent).sent_acked
            batch = read_batch(session, parent, after)
            hold = write_hold(node.engine)
            telemetry = own_report(
                node.node_id,
                backlog(session, parent),
                held_count(session),
                int(clock_offset(node) * 1000),
                writes_held=hold.why if hold else None,
            )
            relayed = relayed_reports(session)
        if not batch.events and not first:
            return
        first = False
        hashes: set[str] = set()
        for raw in batch.events:
            hashes |= referenced_blobs(parse_event(node.network_id, raw).body)
        report.blobs_up += _upload_blobs(node, hashes)
        answer = _check(
            post_to_parent(
                node,
                "/api/v1/sync/push",
                {
                    "after": after,
                    "last_seq": batch.last_seq,
                    "events": [raw.decode("utf-8") for raw in batch.events],
                    "report": telemetry,
                    "relayed": relayed,
                },
            ),
            "push",
        )
        with transaction(node.engine) as session:
            acknowledge(session, parent, int(answer["ack"]))
            if answer.get("resend_subtree"):  # the parent was restored from a backup
                requeued = requeue_own_for_parent(session, node.node_id, parent)
                log.warning(
                    "the parent lost what it had acknowledged; sending this subtree's events again",
                    extra={"peer": parent, "code": "sync.resend_subtree"},
                )
                batch = replace(batch, more=batch.more or requeued > 0)
            for reject in answer["result"].get("rejected", []):
                session.add(
                    SyncReject(
                        peer=parent,
                        event_id=reject["event_id"],
                        code=reject["code"],
                        reason=reject["reason"],
                        reported_at=utcnow(),
                    )
                )
                log.warning(
                    "parent refused an event",
                    extra={"event_id": reject["event_id"], "code": reject["code"]},
                )
        report.pushed += len(batch.events)
        report.rejected += answer["result"].get("rejected", [])
        if not batch.more:
            return


def _upload_blobs(node: ThisNode, hashes: set[str]) -> int:
    if not hashes:
        return 0
    missing = _check(
        post_to_parent(node, "/api/v1/sync/blobs/missing", {"hashes": sorted(hashes)}), "blob check"
    )["missing"]
    large = _upload_bundles(node, missing)
    for sha256 in large:
        offset = 0
        while True:
            chunk = blob_transfer.read_chunk(node, sha256, offset)
            answer = _check(
                request_parent(node, "POST", f"/api/v1/sync/blobs/{sha256}?offset={offset}", chunk),
                "blob upload",
            )
            if answer["complete"]:
                break
            # The parent says how much it holds: resume from there (an interrupted upload
            # does not start again from zero).
            offset = int(answer["size"])
    return len(missing)


def _upload_bundles(node: ThisNode, missing: list[str]) -> list[str]:
    """Send the small files several to a request; return the large ones (sent in chunks)."""
    large: list[str] = []
    bundle: list[tuple[str, bytes]] = []
    size = 0
    for sha256 in missing:
        data = store.read_blob(node.settings.blob_dir, sha256)
        if len(data) > blob_transfer.SMALL_BLOB_BYTES:
            large.append(sha256)
            continue
        if bundle and size + len(data) > blob_transfer.BUNDLE_BYTES:
            _send_bundle(node, bundle)
            bundle, size = [], 0
        bundle.append((sha256, data))
        size += len(data)
    if bundle:
        _send_bundle(node, bundle)
    return large


def _send_bundle(node: ThisNode, files: list[tuple[str, bytes]]) -> None:
    _check(
        request_parent(node, "POST", "/api/v1/sync/blobs", blob_transfer.pack_blobs(files)),
        "blob upload",
    )


def _pull_all(node: ThisNode, parent: str, report: SyncReport) -> None:
    while True:
        with transaction(node.engine) as session:
            after = cursor(session, parent).received
        answer = _check(post_to_parent(node, "/api/v1/sync/pull", {"after": after}), "pull")
        raws = [e.encode("utf-8") for e in answer["events"]]
        report.blobs_down += _download_blobs(node, raws)
        with transaction(node.engine) as session:
            result = receive_batch(session, node, parent, raws)
            row = cursor(session, parent)
            row.received = int(answer["last_seq"])
            session.add(row)
            _run_after_pull(session, node, raws, result)
        report.pulled += result.stored
        report.held = result.held
        if not answer["more"]:
            return


def _download_blobs(node: ThisNode, raws: list[bytes]) -> int:
    hashes: set[str] = set()
    for raw in raws:
        hashes |= referenced_blobs(parse_event(node.network_id, raw).body)
    if not hashes:
        return 0
    with transaction(node.engine) as session:
        missing = sorted(hashes - blobs_held(session, hashes))
    bundled = _download_bundles(node, missing)
    for sha256 in missing:
        if sha256 in bundled:
            continue
        # Chunks are appended to a partial file: an interrupted download resumes from
        # what is already here.
        path = blob_transfer.partial_path(node, sha256)
        while True:
            offset = path.stat().st_size if path.exists() else 0
            response = request_parent(node, "GET", f"/api/v1/sync/blobs/{sha256}?offset={offset}")
            if response.status_code != 200 or not response.content:
                break  # the parent lacks it too: the event is held until the file comes
            with path.open("ab") as handle:
                handle.write(response.content)
            if len(response.content) < blob_transfer.CHUNK_BYTES:
                break
        if path.exists():
            data = path.read_bytes()
            if store.sha256_hex(data) == sha256:
                with transaction(node.engine) as session:
                    store_blob(session, node, data, None)
            path.unlink(missing_ok=True)
    return len(missing)


def _download_bundles(node: ThisNode, missing: list[str]) -> set[str]:
    """Fetch the small files among ``missing`` several to a request; the ones stored.
    Whatever does not come this way (large, or not at the parent) is fetched one by one."""
    stored: set[str] = set()
    remaining = list(missing)
    while remaining:
        asked, truncated = remaining[:2000], len(remaining) > 2000
        response = post_to_parent(node, "/api/v1/sync/blobs/bundle", {"hashes": asked})
        if response.status_code != 200:
            break  # an older parent, or a refusal: the files come one by one instead
        try:
            with transaction(node.engine) as session:
                got = blob_transfer.admit_bundle(session, node, response.content, set(asked))
        except DomainError:
            break  # a malformed bundle: one by one instead
        stored |= got
        remaining = [sha256 for sha256 in remaining if sha256 not in got]
        if not got or not (truncated or response.headers.get("X-Onetrip-Bundle-More") == "1"):
            break
    return stored


def _run_after_pull(
    session: Session, node: ThisNode, raws: list[bytes], result: BatchResult
) -> None:
    if not _AFTER_PULL or not raws:
        return
    subjects = {parse_event(node.network_id, raw).subject for raw in raws}
    for hook in _AFTER_PULL:
        hook(session, node, subjects)
