"""Checking a node's whole ledger and its projections (``onetrip verify``).

Every stored event is walked in local order (``lseq``): its bytes must be the
canonical form, its signature must verify against the registry, its id and the
envelope columns of the events table must agree with the bytes, and it must extend its
subject chain and its author chain without a gap. Author chains are only required to
be complete for this node and the nodes below it (every one of their events passes
through here); of other authors a node holds only some events, so there only
neighbouring held events are compared. Finally the projections are rebuilt inside a
savepoint that is rolled back and compared with the live tables; that replay also
applies the authority policy to every event in local order, so a well-signed event its
author was not allowed to write is reported as a broken event, naming the rule.

The report names the first broken event (lowest ``lseq``); later ones are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Table
from sqlmodel import Session, col

from common.identity.projection import REGISTRY_SUBJECT
from common.identity.registry import RegistryKeyResolver, path_to_root
from common.ledger.envelope import EnvelopeError, SignedEvent, parse_event, verify_signature
from common.ledger.models import Event
from common.ledger.projection import event_rows, projection_tables, snapshot
from common.ledger.rebuild import (
    BATCH,
    PROGRESS_EVERY,
    Progress,
    RebuildError,
    count_events,
    rebuild_projections,
    stored_bytes,
)
from common.node import ThisNode

CHECK_STAGE = "检查事件"
AUTHORITY_PREFIX = "authority."  # codes of the authority policy (common.authority.events)
MAX_KEPT = 1000  # problems listed in the report; all are counted
COLUMNS = ("author", "kid", "aseq", "aprev", "subject", "sseq", "sprev", "kind", "at")

# What a person reading the report needs to know, per stable code.
LABELS = {
    "event.not_json": "存储的字节不是 JSON",
    "event.fields": "事件信封字段不正确",
    "event.version": "事件信封版本未知",
    "event.alg": "签名算法不受支持",
    "event.seq": "序号不正确",
    "event.chain": "前一事件编号与序号不一致",
    "event.not_canonical": "存储的字节不是规范形式（RFC 8785）",
    "event.signature": "签名验证失败（内容被改动或不是作者所签）",
    "event.unknown_key": "作者的密钥未在登记表中",
    "event.not_root": "登记表事件不是根密钥所签",
    "event.root_untrusted": "登记表创世事件的密钥不是安装的根密钥",
    "event.id_mismatch": "事件编号与存储的字节不符",
    "event.column_mismatch": "事件表的索引列与事件内容不符",
    "chain.gap": "事件链有缺口",
    "chain.order": "事件链顺序错误",
    "chain.prev_mismatch": "前一事件编号与链上的前一事件不符",
    "projection.mismatch": "投影表与按账本重建的结果不同",
    "projection.rebuild_failed": "无法按账本重建投影",
    "authority.no_rule": "该记录类型没有这种事件的权限规则",
    "authority.registered_node": "作者节点未登记或已注销",
    "authority.root": "只有根节点可以写入",
    "authority.filer": "办件只能由建立它的节点建立",
    "authority.custodian": "写入者不是办件当前的办理节点",
    "authority.offer_target": "接收或拒收移交的不是移交所指向的节点",
    "authority.case_decider": "记录核查的不是作出决定的节点",
    "authority.rectifier": "办理整改的不是整改责任节点",
    "authority.licence_issuer": "颁发节点未获事项目录授权颁发该类证照",
    "authority.licence_revoker": "撤销证照的不是颁发节点",
}


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    lseq: int | None = None
    event_id: str | None = None

    def describe(self) -> str:
        where = f"事件 lseq={self.lseq} id={self.event_id}：" if self.lseq is not None else ""
        return f"{where}{LABELS.get(self.code, self.code)}：{self.message} [{self.code}]"


@dataclass
class VerifyReport:
    node_id: str
    events_checked: int = 0
    problems: list[Problem] = field(default_factory=list)  # event problems, by lseq
    problem_count: int = 0
    projection_problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem_count == 0 and self.projection_problem is None

    @property
    def first_broken(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def summary(self) -> str:
        if self.ok:
            return f"账本校验通过：{self.events_checked} 个事件"
        lines = [
            f"账本校验失败：检查了 {self.events_checked} 个事件"
            + (f"，{self.problem_count} 个事件有问题" if self.problem_count else "，事件均完好")
        ]
        if self.first_broken is not None:
            lines.append(f"第一个损坏的事件：{self.first_broken.describe()}")
        if self.projection_problem is not None:
            lines.append(f"投影：{self.projection_problem.describe()}")
        return "\n".join(lines)


def in_subtree(session: Session, own_id: str, author: str) -> bool:
    """True when ``author`` is ``own_id`` or a node below it by the registry's parent
    links: every event of such an author passes through this node, so its chain here
    must be complete."""
    return own_id in path_to_root(session, author)


@dataclass
class _Head:
    seq: int
    id: str


class _Walk:
    """The state of one pass over the events: chain heads and resolved keys."""

    def __init__(self, session: Session, node: ThisNode) -> None:
        self.session = session
        self.network_id = node.network_id
        self.own_id = node.node_id
        self.resolver = RegistryKeyResolver(
            node.settings.root_fingerprint or "", allow_revoked=True
        )
        self.keys: dict[tuple[str, str], Ed25519PublicKey] = {}
        self.complete: dict[str, bool] = {}
        self.authors: dict[str, _Head] = {}
        self.subjects: dict[str, _Head] = {}
        # Authors whose chain may have gaps here: (aseq, id, aprev, lseq) of each held event.
        self.partial: dict[str, list[tuple[int, str, str | None, int]]] = {}
        self.found: list[Problem] = []

    def check(self, row: Any) -> None:
        problem = self._check_event(row)
        values = {name: getattr(row, name) for name in COLUMNS}
        # Chains are followed by the stored columns and ids (what successors point at),
        # so one damaged event is reported once, not again at each of its successors.
        chain_problem = self._check_chains(row.lseq, row.id, values)
        if problem is None:
            problem = chain_problem
        if problem is not None:
            self.found.append(problem)

    def _check_event(self, row: Any) -> Problem | None:
        def problem(code: str, message: str) -> Problem:
            return Problem(code, message, row.lseq, row.id)

        try:
            event = parse_event(self.network_id, stored_bytes(row.raw))
        except EnvelopeError as exc:
            return problem(exc.code, exc.message)
        try:
            verify_signature(self.network_id, event, self._key(event))
        except EnvelopeError as exc:
            if exc.code == "event.signature":
                return problem(
                    exc.code, f"作者 {event.author} 的签名不符；按存储的字节计算，编号为 {event.id}"
                )
            return problem(exc.code, exc.message)
        except (KeyError, TypeError, ValueError) as exc:  # a registry body without a usable key
            return problem("event.signature", f"无法取得签名密钥：{exc}")
        if event.id != row.id:
            return problem("event.id_mismatch", f"按字节计算的编号为 {event.id}")
        for name in COLUMNS:
            if getattr(row, name) != event.envelope[name]:
                return problem(
                    "event.column_mismatch",
                    f"列 {name} 为 {getattr(row, name)!r}，事件中为 {event.envelope[name]!r}",
                )
        return None

    def _key(self, event: SignedEvent) -> Ed25519PublicKey:
        if event.subject == REGISTRY_SUBJECT:
            return self.resolver(self.session, event)  # root key or the genesis anchor
        cache_key = (event.author, event.envelope["kid"])
        if cache_key not in self.keys:
            self.keys[cache_key] = self.resolver(self.session, event)
        return self.keys[cache_key]

    def _check_chains(self, lseq: int, event_id: str, values: dict[str, Any]) -> Problem | None:
        subject_problem = self._follow(
            self.subjects,
            "主体",
            values["subject"],
            values["sseq"],
            values["sprev"],
            "sseq",
            lseq,
            event_id,
        )
        author = values["author"]
        if author not in self.complete:
            self.complete[author] = in_subtree(self.session, self.own_id, author)
        if not self.complete[author]:
            self.partial.setdefault(author, []).append(
                (values["aseq"], event_id, values["aprev"], lseq)
            )
            return subject_problem
        author_problem = self._follow(
            self.authors, "作者", author, values["aseq"], values["aprev"], "aseq", lseq, event_id
        )
        return author_problem or subject_problem

    @staticmethod
    def _follow(
        heads: dict[str, _Head],
        label: str,
        key: str,
        seq: int,
        prev: str | None,
        seq_name: str,
        lseq: int,
        event_id: str,
    ) -> Problem | None:
        """Extend a gap-free chain by one event (they arrive in chain order: ingest
        refuses an event of such a chain before its predecessor)."""
        head = heads.get(key)
        expected = head.seq + 1 if head else 1
        problem = None
        if seq > expected:
            missing = (
                f"{seq_name}={expected}"
                if seq == expected + 1
                else f"{seq_name}={expected}…{seq - 1}"
            )
            problem = Problem(
                "chain.gap",
                f"{label} {key} 的链缺少 {missing}（本事件 {seq_name}={seq}）",
                lseq,
                event_id,
            )
        elif seq < expected:
            problem = Problem(
                "chain.order",
                f"{label} {key} 的 {seq_name}={seq} 出现在 {seq_name}={expected - 1} 之后",
                lseq,
                event_id,
            )
        elif head is not None and prev != head.id:
            problem = Problem(
                "chain.prev_mismatch",
                f"{label} {key} 的前一事件应为 {head.id}，本事件记为 {prev}",
                lseq,
                event_id,
            )
        if head is None or seq > head.seq:
            heads[key] = _Head(seq, event_id)
        return problem

    def finish_partial_chains(self) -> None:
        """Of an author held only in part, neighbouring held events must still link."""
        for author, held in self.partial.items():
            held.sort()
            for (seq_a, id_a, _prev_a, _lseq_a), (seq_b, id_b, prev_b, lseq_b) in pairwise(held):
                if seq_b == seq_a + 1 and prev_b != id_a:
                    self.found.append(
                        Problem(
                            "chain.prev_mismatch",
                            f"作者 {author} 的前一事件应为 {id_a}，本事件记为 {prev_b}",
                            lseq_b,
                            id_b,
                        )
                    )


def verify_node(
    session: Session, node: ThisNode, *, progress: Progress | None = None
) -> VerifyReport:
    """Check every event, chain and projection of the node's database; writes nothing.

    Runs in the caller's transaction; the projection rebuild happens inside a savepoint
    that is always rolled back.
    """
    report = VerifyReport(node_id=node.node_id)
    walk = _Walk(session, node)
    total = count_events(session) if progress else 0
    columns = (col(Event.id), col(Event.raw), *(getattr(Event, n) for n in COLUMNS))
    for row in event_rows(session, *columns, batch=BATCH):
        walk.check(row)
        report.events_checked += 1
        if progress and report.events_checked % PROGRESS_EVERY == 0:
            progress(CHECK_STAGE, report.events_checked, total)
    if progress:
        progress(CHECK_STAGE, report.events_checked, max(total, report.events_checked))
    walk.finish_partial_chains()
    # One problem per event: the first check it failed.
    by_lseq: dict[int, Problem] = {}
    for problem in walk.found:
        assert problem.lseq is not None
        by_lseq.setdefault(problem.lseq, problem)
    projection_problem = check_projections(session, progress=progress)
    if projection_problem is not None and projection_problem.code.startswith(AUTHORITY_PREFIX):
        # Well signed but not the author's to write: a broken event like any other.
        assert projection_problem.lseq is not None
        by_lseq.setdefault(projection_problem.lseq, projection_problem)
    else:
        report.projection_problem = projection_problem
    report.problem_count = len(by_lseq)
    report.problems = [by_lseq[k] for k in sorted(by_lseq)[:MAX_KEPT]]
    return report


def check_projections(session: Session, *, progress: Progress | None = None) -> Problem | None:
    """Rebuild the projections in a savepoint, compare with the live rows, roll back."""
    live = snapshot(session)
    savepoint = session.begin_nested()
    try:
        rebuild_projections(session, progress=progress)
        rebuilt = snapshot(session)
    except RebuildError as exc:
        return Problem(exc.code, exc.problem, exc.lseq, exc.event_id)
    finally:
        savepoint.rollback()
    return first_difference(live, rebuilt)


def first_difference(
    live: dict[str, list[tuple[Any, ...]]], rebuilt: dict[str, list[tuple[Any, ...]]]
) -> Problem | None:
    """The first table (in registration order) and row where live and rebuilt differ."""
    for table in projection_tables():
        have, want = live.get(table.name, []), rebuilt.get(table.name, [])
        if have != want:
            return Problem("projection.mismatch", _describe_row_difference(table, have, want))
    return None


def _describe_row_difference(
    table: Table, have: list[tuple[Any, ...]], want: list[tuple[Any, ...]]
) -> str:
    names = [c.name for c in table.columns]
    key_at = [i for i, c in enumerate(table.columns) if c.primary_key] or list(range(len(names)))

    def keyed(rows: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        return {tuple(row[i] for i in key_at): row for row in rows}

    have_by, want_by = keyed(have), keyed(want)
    for key in sorted(set(have_by) | set(want_by), key=repr):
        row_have, row_want = have_by.get(key), want_by.get(key)
        if row_have == row_want:
            continue
        shown = _short(key[0] if len(key) == 1 else key)
        if row_want is None:
            return f"表 {table.name} 的行 {shown} 在账本中没有依据（重建后不存在）"
        if row_have is None:
            return f"表 {table.name} 缺少行 {shown}（按账本应存在）"
        changed = [
            f"列 {names[i]} 现为 {_short(row_have[i])}，按账本应为 {_short(row_want[i])}"
            for i in range(len(names))
            if row_have[i] != row_want[i]
        ]
        return f"表 {table.name} 的行 {shown}：" + "；".join(changed)
    return f"表 {table.name} 的行数不同（现有 {len(have)}，按账本 {len(want)}）"


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
