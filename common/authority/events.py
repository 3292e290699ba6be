"""Who may write what: the authority rule of every event kind.

A signature proves who wrote an event; this table says who *may*. ``POLICY`` maps each
subject kind (the part of the subject before ``:``) to its event kinds and the rule
each must satisfy. ``check_event_authority`` runs before any projection handler of
every event — at local append, at ingest (batch and one-at-a-time), at rebuild, and so
in ``onetrip verify`` — and raises ``AuthorityViolation`` (an ``EnvelopeError``, so
sync dead-letters it like a bad signature). Licence verification asks
``licence_entitlement_problem`` for the same answer about a licence it is shown.

Rules read only what the ledger itself has established at that point (the registry,
the catalogue, the case's custody, the record's own chain), so a rebuild in local
order reaches the same verdict as ingest did. A new record kind adds its subject kind
and rules here; ``tests/common/authority`` fails for an event kind without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from common.authority.case_checks import deciding_node
from common.authority.models import LicenceEntitlement
from common.cases.models import Case
from common.catalog.projection import BATCH_PUBLISHED, MATTER_WITHDRAWN
from common.db import core, insert_if_absent
from common.identity.models import RegistryNode
from common.ledger.envelope import EnvelopeError, SignedEvent
from common.ledger.projection import Projection, install_authority_check, register_projection
from common.ledger.service import IngestRefused
from common.ledger.write_behind import write_behind
from common.licences.models import Licence
from common.ratings.models import Rectification
from common.supervision.models import Supervision


@dataclass(frozen=True)
class Rule:
    """One authority rule: a stable code, what it says (for people), and its check,
    which returns None when the event's author may write it, or why not."""

    code: str
    says: str
    check: Callable[[Session, SignedEvent], str | None]


class AuthorityViolation(EnvelopeError):
    """A well-signed event whose author was not allowed to write it."""

    def __init__(self, event: SignedEvent, rule: Rule | None, why: str) -> None:
        code = f"authority.{rule.code}" if rule else "authority.no_rule"
        says = f"{rule.says}：" if rule else ""
        super().__init__(
            code, f"{event.kind}（{event.subject}，作者 {event.author}）越权：{says}{why}"
        )
        self.rule = rule
        self.event_id = event.id
        self.author = event.author


# -- what the rules read ------------------------------------------------------------------

_NODES_KEY = "onetrip.authority.nodes"  # session.info: node id -> (tier, revoked_version)
_NODE = select(col(RegistryNode.tier), col(RegistryNode.revoked_version)).where(
    col(RegistryNode.node_id) == bindparam("id")
)
_ROOT = select(col(RegistryNode.node_id)).where(col(RegistryNode.parent_id).is_(None)).limit(1)
_CASES = Case.__table__  # type: ignore[attr-defined]
_CUSTODY = select(_CASES.c.custodian, _CASES.c.pending_offer_to).where(
    _CASES.c.case_no == bindparam("no")
)


def _registry_entry(session: Session, node_id: str) -> tuple[str, int | None] | None:
    """(tier, revoked_version) of a registered node, remembered until the next registry event."""
    cache: dict[str, tuple[str, int | None]] = session.info.setdefault(_NODES_KEY, {})
    if node_id not in cache:
        row = core(session).execute(_NODE, {"id": node_id}).first()
        if row is None:
            return None
        cache[node_id] = (row[0], row[1])
    return cache[node_id]


def _root_id(session: Session) -> str | None:
    return core(session).execute(_ROOT).scalar()


_BATCH_CUSTODY_KEY = (
    "onetrip.authority.custody"  # session.info during a batch: case_no -> (custodian, offered_to)
)


def preload_custody(session: Session, subjects: Iterable[str]) -> None:
    """Read the custody of a batch's cases in one query before it is applied; the
    checks then keep it current themselves (``end_batch_custody`` forgets it). Without
    it each case event would read its row, and that read would flush the batch's
    held-back writes."""
    cases = sorted({s.removeprefix("case:") for s in subjects if s.startswith("case:")})
    cache: dict[str, tuple[str | None, str | None] | None] = dict.fromkeys(cases)
    for start in range(0, len(cases), 500):
        chunk = cases[start : start + 500]
        rows = core(session).execute(
            select(_CASES.c.case_no, _CASES.c.custodian, _CASES.c.pending_offer_to).where(
                _CASES.c.case_no.in_(chunk)
            )
        )
        for case_no, custodian, offered_to in rows:
            cache[case_no] = (custodian, offered_to)
    session.info[_BATCH_CUSTODY_KEY] = cache


def end_batch_custody(session: Session) -> None:
    session.info.pop(_BATCH_CUSTODY_KEY, None)


_CUSTODY_KINDS = frozenset(
    {"case.filed", "handoff.offered", "handoff.accepted", "handoff.declined"}
)


def _track_custody(session: Session, event: SignedEvent) -> None:
    """After an allowed case event: what it does to custody, in the batch's cache."""
    kind = event.kind
    if kind not in _CUSTODY_KINDS:
        return
    cache = session.info.get(_BATCH_CUSTODY_KEY)
    if cache is None:
        return
    case_no = _record_key(event)
    current = cache.get(case_no)
    if kind == "case.filed":
        cache[case_no] = (event.author, None)
    elif current is not None and kind == "handoff.offered":
        cache[case_no] = (current[0], event.body.get("to"))
    elif current is not None and kind == "handoff.accepted":
        cache[case_no] = (event.author, None)
    elif current is not None and kind == "handoff.declined":
        cache[case_no] = (current[0], None)


def _custody(session: Session, case_no: str) -> tuple[str | None, str | None] | None:
    """(custodian, open offer's target) as the events so far make them: from the
    batch's cache when a batch is being applied, else from the case row (a row filed in
    a buffered batch is read from the buffer)."""
    cache: dict[str, tuple[str | None, str | None] | None] | None = session.info.get(
        _BATCH_CUSTODY_KEY
    )
    if cache is not None and case_no in cache:
        return cache[case_no]
    buffer = write_behind(session)
    pending = buffer.pending_row(_CASES, case_no) if buffer is not None else None
    if pending is not None:
        return pending.get("custodian"), pending.get("pending_offer_to")
    row = core(session).execute(_CUSTODY, {"no": case_no}).first()
    return (row[0], row[1]) if row else None


def _record_key(event: SignedEvent) -> str:
    return event.subject.partition(":")[2]


def _is_genesis(event: SignedEvent) -> bool:
    """The root's first registry event introduces the root itself (its key is checked
    against the installed anchor by the key resolver)."""
    if event.subject != "registry" or event.envelope["sseq"] != 1:
        return False
    node = event.body.get("node") if isinstance(event.body, dict) else None
    return (
        event.subject == "registry"
        and event.envelope["sseq"] == 1
        and event.kind == "registry.node_added"
        and isinstance(node, dict)
        and node.get("id") == event.author
        and node.get("parent") is None
    )


# -- the checks ---------------------------------------------------------------------------


def _by_root(session: Session, event: SignedEvent) -> str | None:
    if _is_genesis(event):
        return None
    root = _root_id(session)
    return None if event.author == root else f"根节点是 {root}"


def _by_filer(session: Session, event: SignedEvent) -> str | None:
    body, case_no = event.body, _record_key(event)
    if event.envelope["sseq"] != 1:
        return "办件只能建立一次（case.filed 必须是办件的第一个事件）"
    if (
        not isinstance(body, dict)
        or body.get("origin_node") != event.author
        or body.get("case_no") != case_no
    ):
        return "申请节点、办件编号与签名节点不一致"
    if not case_no.startswith(event.author + "-"):
        return f"办件编号 {case_no} 不以签名节点编号开头"
    return None


def _by_custodian(session: Session, event: SignedEvent) -> str | None:
    custody = _custody(session, _record_key(event))
    if custody is None:
        return "本节点没有该办件的记录"
    custodian, offered_to = custody
    if offered_to is not None:
        return f"办件已移交节点 {offered_to}，等待接收，期间任何节点都不能写入"
    return None if custodian == event.author else f"当前办理节点是 {custodian}"


def _by_offer_target(session: Session, event: SignedEvent) -> str | None:
    custody = _custody(session, _record_key(event))
    offered_to = custody[1] if custody else None
    if offered_to is None:
        return "办件没有待接收的移交"
    return None if offered_to == event.author else f"移交指向节点 {offered_to}"


def _by_case_decider(session: Session, event: SignedEvent) -> str | None:
    decider = deciding_node(session, _record_key(event))
    if decider is None:
        return "本节点没有该办件的办理决定"
    return None if decider == event.author else f"作出决定的节点是 {decider}"


def _by_rectifier(session: Session, event: SignedEvent) -> str | None:
    case_no = _record_key(event)
    responsible = session.execute(
        select(col(Rectification.responsible_node)).where(col(Rectification.case_no) == case_no)
    ).scalar()
    if responsible is None:  # the rating that opens it has not arrived yet: hold, not refuse
        raise IngestRefused(
            "rectification.unrated",
            f"{event.kind} {event.id} arrives before the rating of {case_no}",
        )
    return None if responsible == event.author else f"整改责任节点是 {responsible}"


def _by_licence_issuer(session: Session, event: SignedEvent) -> str | None:
    body = event.body
    issuer = body.get("issuer") if isinstance(body, dict) else None
    if not isinstance(issuer, dict) or issuer.get("node") != event.author:
        return "证照所载颁发节点不是签名节点"
    if event.subject != "licence:" + str(body.get("licence_id")):
        return "证照标识与记录不一致"
    return licence_entitlement_problem(session, event.author, body)


def _by_licence_issuer_only(session: Session, event: SignedEvent) -> str | None:
    issuer = session.execute(
        select(col(Licence.issuer_node)).where(col(Licence.licence_id) == _record_key(event))
    ).scalar()
    if issuer is None:
        return "本节点没有该证照的签发记录"
    return None if issuer == event.author else f"颁发节点是 {issuer}"


def licence_entitlement_problem(session: Session, author: str, body: dict[str, Any]) -> str | None:
    """None when the published catalogue entitled ``author`` to issue this licence at
    the catalogue version the licence cites: some matter, published at or before that
    version, results in a licence of this type from this issuing body (USCC) and is
    handled at the author's tier. A licence citing no version is judged against every
    version held. Withdrawing a matter later does not take the entitlement back.
    (Which of several counties' nodes serves a body is not told apart: one network has
    one catalogue; see docs/architecture.md, "Known limitations".)"""
    entry = _registry_entry(session, author)
    if entry is None:
        return f"颁发节点 {author} 未登记"
    given = body.get("issuer")
    issuer: dict[str, Any] = given if isinstance(given, dict) else {}
    uscc, type_code, cited = (
        str(issuer.get("uscc") or ""),
        str(body.get("type_code") or ""),
        body.get("catalogue_version"),
    )
    query = select(col(LicenceEntitlement.since_version)).where(
        col(LicenceEntitlement.type_code) == type_code,
        col(LicenceEntitlement.issuer_uscc) == uscc,
        col(LicenceEntitlement.handling_level) == entry[0],
    )
    if isinstance(cited, int) and not isinstance(cited, bool):
        query = query.where(col(LicenceEntitlement.since_version) <= cited)
    if session.execute(query.limit(1)).first() is None:
        return f"事项目录没有授权{entry[0]}级节点颁发 {uscc} 的 {type_code} 类证照"
    return None


def _registered(session: Session, event: SignedEvent) -> str | None:
    """Every author but the root introducing itself: registered, not revoked (now, in
    local order: a revoked node's events stored before its revocation stay valid)."""
    if _is_genesis(event):
        return None
    entry = _registry_entry(session, event.author)
    if entry is None:
        return f"节点 {event.author} 未登记"
    return None if entry[1] is None else f"节点 {event.author} 已于登记表第{entry[1]}版注销"


def _by_supervisor(session: Session, event: SignedEvent) -> str | None:
    """A 督办 is issued by the case's area's node or one above it, on its own record."""
    case_no = str(event.body.get("case_no", "")) if isinstance(event.body, dict) else ""
    if not event.subject.startswith(f"supervision:{case_no}:{event.author}:") or not case_no:
        return "督办记录的标识与办件、签发节点不一致"
    at: str | None = case_no[:12]  # the filing node: the case number begins with it
    seen: set[str] = set()
    while at is not None and at not in seen:
        if at == event.author:
            return None
        seen.add(at)
        at = session.execute(
            select(col(RegistryNode.parent_id)).where(col(RegistryNode.node_id) == at)
        ).scalar_one_or_none()
    return f"节点 {event.author} 不在办件来源节点 {case_no[:12]} 之上"


def _by_addressee(session: Session, event: SignedEvent) -> str | None:
    addressee = session.execute(
        select(col(Supervision.to_node)).where(
            col(Supervision.notice_id) == event.subject.removeprefix("supervision:")
        )
    ).scalar_one_or_none()
    if addressee is None:  # the notice has not arrived yet: hold, not refuse
        raise IngestRefused(
            "supervision.unissued", f"{event.kind} {event.id} arrives before its notice"
        )
    return None if addressee == event.author else f"督办对象是 {addressee}"


# -- the policy ---------------------------------------------------------------------------

ROOT = Rule("root", "只有根节点（县级）可以写入", _by_root)
FILER = Rule("filer", "办件只能由建立它的节点（办件编号以其编号开头）建立", _by_filer)
CUSTODIAN = Rule(
    "custodian", "只有办件当前的办理节点可以写入，移交待接收期间谁都不能写入", _by_custodian
)
OFFER_TARGET = Rule("offer_target", "只有移交所指向的节点可以接收或拒收", _by_offer_target)
CASE_DECIDER = Rule("case_decider", "只有作出办理决定的节点可以记录告知承诺核查", _by_case_decider)
RECTIFIER = Rule("rectifier", "只有差评整改的责任节点可以回访、办结整改", _by_rectifier)
SUPERVISOR = Rule("supervisor", "只有办件来源区域的节点或其上级可以督办", _by_supervisor)
ADDRESSEE = Rule("addressee", "只有被督办的节点可以答复督办", _by_addressee)
LICENCE_ISSUER = Rule(
    "licence_issuer",
    "只有事项目录授权的节点可以颁发该类证照（类型、颁发机构、办理层级一致）",
    _by_licence_issuer,
)
LICENCE_REVOKER = Rule("licence_revoker", "只有颁发证照的节点可以撤销", _by_licence_issuer_only)
REGISTERED = Rule("registered_node", "只有已登记且未注销的节点可以写入", _registered)

# subject kind -> event kind -> rule. Subject kinds without ":" are single records.
POLICY: dict[str, dict[str, Rule]] = {
    "registry": {"registry.node_added": ROOT, "registry.node_revoked": ROOT},
    "catalogue": {BATCH_PUBLISHED: ROOT, MATTER_WITHDRAWN: ROOT},
    "calendar": {"calendar.year_published": ROOT},
    "user": {
        kind: ROOT
        for kind in (
            "user.provisioned",
            "user.password_changed",
            "user.role_changed",
            "user.disabled",
            "user.enabled",
        )
    },
    "case": {
        "case.filed": FILER,
        "handoff.accepted": OFFER_TARGET,
        "handoff.declined": OFFER_TARGET,
        **{
            kind: CUSTODIAN
            for kind in (
                "handoff.offered",
                "case.supplement_requested",
                "case.supplement_received",
                "case.accepted",
                "case.refused",
                "case.opinion_recorded",
                "case.decided",
                "case.special_started",
                "case.special_ended",
                "case.extension_approved",
                "case.visit_recorded",
                "case.delivered",
                "case.withdrawn",
                "case.verification_recorded",
                "case.rated",
                "case.rectification_opened",
                "case.callback_recorded",
                "case.rectification_closed",
            )
        },
    },
    "verification": {"verification.recorded": CASE_DECIDER},
    "rectification": {
        "rectification.callback_recorded": RECTIFIER,
        "rectification.closed": RECTIFIER,
    },
    "licence": {"licence.issued": LICENCE_ISSUER, "licence.revoked": LICENCE_REVOKER},
    "supervision": {"supervision.issued": SUPERVISOR, "supervision.answered": ADDRESSEE},
}
SINGLE_RECORDS = frozenset({"registry", "catalogue", "calendar"})


def rule_for(subject: str, kind: str) -> Rule | None:
    subject_kind, has_key, key = subject.partition(":")
    if (subject_kind in SINGLE_RECORDS) == bool(has_key) or (has_key and not key):
        return None  # "catalogue:x" or "case:" are not records
    return POLICY.get(subject_kind, {}).get(kind)


def check_event_authority(session: Session, event: SignedEvent) -> None:
    """Refuse an event its author may not write (``AuthorityViolation``)."""
    if event.subject == "registry":
        session.info.pop(_NODES_KEY, None)  # a registry event may add or revoke nodes
    rule = rule_for(event.subject, event.kind)
    if rule is None:
        raise AuthorityViolation(
            event,
            None,
            f"记录类型 {event.subject.partition(':')[0]} 没有事件 {event.kind} 的权限规则",
        )
    for applied in (REGISTERED, rule):
        why = applied.check(session, event)
        if why is not None:
            raise AuthorityViolation(event, applied, why)
    _track_custody(session, event)


def policy_table() -> list[dict[str, str]]:
    """The policy as rows (subject kind, event kind, rule code, what it says): for docs and screens."""
    return [
        {"subject": subject, "kind": kind, "rule": rule.code, "says": rule.says}
        for subject, kinds in POLICY.items()
        for kind, rule in kinds.items()
    ]


# -- the entitlement projection -----------------------------------------------------------

authority_projection = register_projection(
    Projection("authority", tables=[LicenceEntitlement.__table__])  # type: ignore[attr-defined]
)
_ENTITLEMENTS = LicenceEntitlement.__table__  # type: ignore[attr-defined]


@authority_projection.on(BATCH_PUBLISHED)
def _entitle(session: Session, event: SignedEvent) -> None:
    version = event.envelope["sseq"]
    for matter in event.body["matters"]:
        type_code = matter.get("result_licence_type")
        if type_code:
            insert_if_absent(
                session,
                _ENTITLEMENTS,
                {
                    "type_code": type_code,
                    "issuer_uscc": matter["implementing_body_code"],
                    "handling_level": matter["handling_level"],
                    "since_version": version,
                },
            )


install_authority_check(check_event_authority)
