"""Case projection tables, all rebuilt from ``case:*`` events.

Dates that decide deadlines (accepted_on, deadline, ...) are written into event bodies
by the action that computed them with the calendar of the day, so the projection never
needs the calendar or the clock and a rebuild gives identical rows.
Identity numbers are kept whole here (the ledger needs them for licences and 无证明);
every screen and log shows ``applicant_id_masked``.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

import common.db  # noqa: F401  (naming convention before any table)
from common.cases.clock import SPECIAL_KINDS, pauses_clock


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_state_window", "state", "window"),
        Index("ix_cases_origin", "origin_node"),
    )

    case_no: str = Field(primary_key=True, max_length=40)  # {node id}-{YYYYMMDD}-{serial:04d}
    version: int  # sseq of the case's last event
    origin_node: str = Field(max_length=12)
    custodian: str = Field(max_length=12, index=True)
    state: str = Field(max_length=20)
    # An open two-phase handoff (handoff.offered not yet accepted or declined): the
    # node it was offered to and the offer's sseq. While set nobody may change the case.
    pending_offer_to: str | None = Field(default=None, max_length=12, index=True)
    pending_offer_seq: int | None = None

    # The matter as the catalogue version the filing node held said it.
    matter_code: str = Field(max_length=33, index=True)
    matter_name: str = Field(max_length=100)
    catalogue_version: int
    case_type: str = Field(max_length=2)
    handling_level: str = Field(max_length=10)
    window: str = Field(max_length=20)
    lead_department: str = Field(max_length=100)
    required_visits: int
    commitment: bool = False  # 告知承诺制 chosen by the applicant

    applicant_kind: str = Field(max_length=12)  # person | enterprise
    applicant_name: str = Field(max_length=100)
    applicant_id: str = Field(max_length=18)
    applicant_id_masked: str = Field(max_length=18)
    applicant_phone: str | None = Field(default=None, max_length=20)
    agent: str | None = Field(
        default=None, max_length=64
    )  # 代办员 username, when filed by an agent

    filed_at: str = Field(max_length=40)  # event `at` (UTC)
    filed_on: str = Field(max_length=10)  # Asia/Shanghai date
    accepted_on: str | None = Field(default=None, max_length=10)
    limit_days: int = 0  # promised working days
    extension_days: int = 0
    deadline: str | None = Field(default=None, max_length=10)  # moves with pauses and extensions
    decided_on: str | None = Field(default=None, max_length=10)
    delivered_on: str | None = Field(default=None, max_length=10)
    closed_reason: str | None = Field(default=None, max_length=500)

    notices: int = 0  # one-time notices issued
    notified_on: str | None = Field(default=None, max_length=10)  # the first notice (§32)
    notice_breaches: int = 0  # notices after the first: breaches of 一次性告知
    materials_required: int = 0
    materials_saved: int = 0  # satisfied by a held licence (无证明)
    visits: int = 0  # the applicant's in-person visits (trips)
    over_visit_limit: bool = False
    over_limit_reason: str | None = Field(default=None, max_length=300)

    decision: str | None = Field(default=None, max_length=10)  # approved | rejected
    decision_reason: str | None = Field(default=None, max_length=500)
    licence_id: str | None = Field(default=None, max_length=120)
    result_revoked: bool = False
    delivery_method: str | None = Field(default=None, max_length=20)
    tracking_no: str | None = Field(default=None, max_length=40)
    rating: int | None = None


class CaseMaterial(SQLModel, table=True):
    __tablename__ = "case_materials"

    case_no: str = Field(primary_key=True, max_length=40)
    position: int = Field(primary_key=True)  # index in the matter's material list
    name: str = Field(max_length=200)
    mandatory: bool
    provided: bool = False
    blob_sha256: str | None = Field(default=None, max_length=64)
    licence_ref: str | None = Field(default=None, max_length=120)  # 无证明: held licence id
    promised: bool = False  # to be provided under 告知承诺制


class CaseNotice(SQLModel, table=True):
    """One-time notices of missing materials (一次性告知书 / 补齐补正通知书)."""

    __tablename__ = "case_notices"

    case_no: str = Field(primary_key=True, max_length=40)
    notice_no: int = Field(primary_key=True)
    missing: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of material names
    # JSON object: material name -> what is wrong with it; None when the notice gave no
    # reasons (and for every notice written before reasons existed).
    reasons: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    note: str | None = Field(default=None, max_length=500)  # a general note for the whole notice
    issued_on: str = Field(max_length=10)
    breach: bool = False
    issued_by: str = Field(max_length=64)


class CaseTask(SQLModel, table=True):
    """A department's review task (parallel approval), a review/approve step of
    一审一核, a 告知承诺 verification, or a rectification after a bad rating."""

    __tablename__ = "case_tasks"

    task_id: str = Field(primary_key=True, max_length=60)  # {case_no}/{kind}/{n}
    case_no: str = Field(max_length=40, index=True)
    kind: str = Field(max_length=20)  # review | verification | rectification
    department: str = Field(max_length=100, index=True)
    lead: bool = False
    state: str = Field(default="open", max_length=10)  # open | done
    opinion: str | None = Field(default=None, max_length=10)  # agree | disagree | passed | failed
    comment: str | None = Field(default=None, max_length=500)
    done_by: str | None = Field(default=None, max_length=64)
    opened_on: str = Field(max_length=10)
    due_on: str | None = Field(default=None, max_length=10)
    done_on: str | None = Field(default=None, max_length=10)


class CaseVisit(SQLModel, table=True):
    """An in-person journey for the case. Only the applicant's own visits are trips."""

    __tablename__ = "case_visits"

    case_no: str = Field(primary_key=True, max_length=40)
    seq: int = Field(primary_key=True)
    who: str = Field(max_length=10)  # applicant | agent | courier | staff
    place: str = Field(max_length=100)
    purpose: str = Field(max_length=200)
    visited_on: str = Field(max_length=10)
    counts: bool  # True when it is a trip of the applicant


class SpecialProcedure(SQLModel, table=True):
    """特别程序: kind 1 extension of approval (§42), 2 a §45 procedure (hearing, test, ...).

    ``subkind`` is a code of ``cases.clock.SPECIAL_KINDS``; rows of the retired
    ``inspection`` and ``other`` come from events written before §45 was applied
    strictly and do not stop the clock."""

    __tablename__ = "case_special_procedures"

    case_no: str = Field(primary_key=True, max_length=40)
    seq: int = Field(primary_key=True)
    kind: int
    subkind: str = Field(max_length=20)  # extension | hearing | tendering | ... | expert_review
    reason: str = Field(max_length=500)
    started_on: str = Field(max_length=10)
    ended_on: str | None = Field(default=None, max_length=10)
    result: str | None = Field(default=None, max_length=500)
    # Working days the clock stood still, fixed by the action that ended it (§45 kinds only).
    paused_days: int = 0
    extension_days: int = 0  # extensions approved while this (kind 1) procedure was open

    @property
    def subkind_label(self) -> str:
        known = SPECIAL_KINDS.get(self.subkind)
        return known.label if known else self.subkind

    @property
    def pauses_clock(self) -> bool:
        """Whether its days are left out of the limit (§45); 现场勘查 and "other" count."""
        return pauses_clock(self.kind, self.subkind)


class CaseCustody(SQLModel, table=True):
    """The chain of custody after filing: one row per accepted handoff (seq 2, 3, ...).

    Seq 1, the origin node holding the case from ``case.filed`` on, has no row (its
    handler belongs to intake); ``handoff.service.custody_chain`` derives the whole
    chain, origin included, from the signed events and agrees with these rows.
    """

    __tablename__ = "case_custody"

    case_no: str = Field(primary_key=True, max_length=40)
    seq: int = Field(primary_key=True)  # 2 for the first node the case was handed to
    node_id: str = Field(max_length=12)  # the new custodian (the acceptance's author)
    from_sseq: int  # sseq of handoff.accepted: the first event written as custodian
    offer_event_id: str = Field(max_length=64)
    accept_event_id: str = Field(max_length=64)
