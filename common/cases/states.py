"""Case states and the transitions the law allows (DOMAIN.md "Case lifecycle").

One table decides what may happen next; action functions ask it before writing and a
refused move gets a clear message naming the current state.
"""

from __future__ import annotations

from enum import StrEnum

from common.errors import Conflict


class CaseState(StrEnum):
    FILED = "filed"  # 申请
    SUPPLEMENT = "supplement"  # 补齐补正 (one-time notice issued, waiting for materials)
    ACCEPTED = "accepted"  # 受理 (clock running; review tasks open)
    SPECIAL = "special"  # 特别程序 (clock paused)
    APPROVED = "approved"  # 办结：准予
    REJECTED = "rejected"  # 办结：不予
    DELIVERED = "delivered"  # 送达 (closed)
    REFUSED = "refused"  # 不予受理 (closed)
    WITHDRAWN = "withdrawn"  # 撤回 (closed)


STATE_LABELS = {
    CaseState.FILED: "已申请",
    CaseState.SUPPLEMENT: "待补齐补正",
    CaseState.ACCEPTED: "已受理",
    CaseState.SPECIAL: "特别程序中",
    CaseState.APPROVED: "已办结（准予）",
    CaseState.REJECTED: "已办结（不予）",
    CaseState.DELIVERED: "已送达",
    CaseState.REFUSED: "不予受理",
    CaseState.WITHDRAWN: "已撤回",
}

# event kind -> states in which it may be appended
ALLOWED_FROM: dict[str, frozenset[CaseState]] = {
    "case.supplement_requested": frozenset({CaseState.FILED, CaseState.SUPPLEMENT}),
    "case.supplement_received": frozenset({CaseState.SUPPLEMENT}),
    "case.accepted": frozenset({CaseState.FILED}),
    "case.refused": frozenset({CaseState.FILED, CaseState.SUPPLEMENT}),
    "case.opinion_recorded": frozenset({CaseState.ACCEPTED}),
    "case.decided": frozenset({CaseState.ACCEPTED}),
    "case.special_started": frozenset({CaseState.ACCEPTED}),
    "case.special_ended": frozenset({CaseState.SPECIAL}),
    "case.extension_approved": frozenset({CaseState.ACCEPTED, CaseState.SPECIAL}),
    "case.visit_recorded": frozenset(
        {
            CaseState.FILED,
            CaseState.SUPPLEMENT,
            CaseState.ACCEPTED,
            CaseState.SPECIAL,
            CaseState.APPROVED,
            CaseState.REJECTED,
        }
    ),
    "case.delivered": frozenset({CaseState.APPROVED, CaseState.REJECTED}),
    "case.withdrawn": frozenset(
        {CaseState.FILED, CaseState.SUPPLEMENT, CaseState.ACCEPTED, CaseState.SPECIAL}
    ),
    "case.verification_recorded": frozenset({CaseState.APPROVED, CaseState.DELIVERED}),
    "case.rated": frozenset({CaseState.DELIVERED}),
    "case.rectification_opened": frozenset({CaseState.DELIVERED}),
    "case.callback_recorded": frozenset({CaseState.DELIVERED}),
    "case.rectification_closed": frozenset({CaseState.DELIVERED}),
    # Custody handoff (cases.handoff.service): escalation before acceptance, return once decided.
    "handoff.offered": frozenset({CaseState.FILED, CaseState.APPROVED, CaseState.REJECTED}),
}

# The offer's target answers: these are checked against the open offer (the writer is
# the node it was offered to, not the custodian), never against the state.
HANDOFF_REPLIES = frozenset({"handoff.accepted", "handoff.declined"})

CLOSED = frozenset({CaseState.DELIVERED, CaseState.REFUSED, CaseState.WITHDRAWN})


def check_transition(state: str, kind: str) -> None:
    """Refuse an event kind the case's current state does not allow (409)."""
    allowed = ALLOWED_FROM.get(kind)
    if allowed is None:
        raise ValueError(f"no transition rule for {kind}")
    current = CaseState(state)
    if current not in allowed:
        raise Conflict(
            "case.illegal_transition",
            f"案件当前状态为“{STATE_LABELS[current]}”，不能进行此操作",
            field="state",
        )
