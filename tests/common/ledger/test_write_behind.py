"""The batched ingest's write-behind buffer (common.ledger.write_behind.WriteBehind) leaves
exactly the rows that applying each event at once leaves: several events of one case
in one batch, SQL-expression updates (supplement counters, the materials recount,
extensions, visits) and reads (the handoff's custody check) in between."""

from __future__ import annotations

from onetrip_testing import TOWNSHIP_ID

from common.cases.access import case_subject
from common.db import transaction
from common.ledger.envelope import parse_event
from common.ledger.projection import apply_event, clear_projections, iter_events, snapshot
from common.ledger.write_behind import buffered_writes
from common.node import ThisNode


def _file(node: ThisNode, session, case_no: str, visit: bool) -> None:  # type: ignore[no-untyped-def]
    node.append(
        session,
        case_subject(case_no),
        "case.filed",
        {
            "case_no": case_no,
            "matter": {
                "code": "M1",
                "name": "测试事项",
                "catalogue_version": 1,
                "case_type": "2",
                "handling_level": "county",
                "window": "综合窗口",
                "lead_department": "衡东县市场监督管理局",
                "departments": ["衡东县市场监督管理局"],
                "required_visits": 1,
                "limit_days": 5,
                "commitment_allowed": False,
            },
            "applicant": {
                "kind": "person",
                "name": "张三",
                "id_number": "430424198001011238",
                "phone": None,
            },
            "agent": None,
            "commitment": False,
            "filed_on": "2026-11-02",
            "origin_node": node.node_id,
            "materials": [
                {"position": 0, "name": "申请书", "mandatory": True, "blob_sha256": None},
                {"position": 1, "name": "营业执照", "mandatory": True, "licence_ref": "YYZZ-1"},
                {"position": 2, "name": "身份证", "mandatory": False, "promised": True},
            ],
            "visit": {
                "who": "张三",
                "place": "县政务中心",
                "purpose": "申请",
                "counts": True,
                "over_limit": False,
                "over_limit_reason": None,
            }
            if visit
            else None,
        },
    )


def _lifecycle(node: ThisNode, session, case_no: str) -> None:  # type: ignore[no-untyped-def]
    subject = case_subject(case_no)
    node.append(
        session,
        subject,
        "case.supplement_requested",
        {
            "notice_no": 1,
            "missing": ["申请书", "身份证"],
            "issued_on": "2026-11-02",
            "breach": True,
            "issued_by": "clerk",
        },
    )
    node.append(
        session,
        subject,
        "case.supplement_received",
        {
            "materials": [
                {"position": 0, "blob_sha256": None, "licence_ref": "SQS-1"},
                {"position": 2, "licence_ref": None},
            ]
        },
    )
    node.append(
        session,
        subject,
        "case.visit_recorded",
        {
            "seq": 2,
            "who": "张三",
            "place": "县政务中心",
            "purpose": "补正",
            "counts": True,
            "over_limit": True,
            "over_limit_reason": "材料一次告知不全",
            "visited_on": "2026-11-03",
        },
    )
    node.append(
        session,
        subject,
        "case.accepted",
        {
            "accepted_on": "2026-11-03",
            "window": "综合窗口",
            "limit_days": 5,
            "deadline": "2026-11-10",
            "accepted_by": "clerk",
            "tasks": [
                {
                    "task_id": f"{case_no}/review/1",
                    "department": "衡东县市场监督管理局",
                    "lead": True,
                }
            ],
        },
    )
    node.append(
        session,
        subject,
        "case.special_started",
        {
            "seq": 1,
            "kind": 1,
            "subkind": "extension",
            "reason": "现场核查",
            "started_on": "2026-11-04",
        },
    )
    node.append(session, subject, "case.extension_approved", {"days": 3, "deadline": "2026-11-13"})
    node.append(session, subject, "case.extension_approved", {"days": 2, "deadline": "2026-11-17"})
    node.append(
        session,
        subject,
        "case.special_ended",
        {
            "seq": 1,
            "ended_on": "2026-11-05",
            "result": "结束",
            "paused_days": 1,
            "deadline": "2026-11-18",
        },
    )
    node.append(
        session,
        subject,
        "case.opinion_recorded",
        {
            "task_id": f"{case_no}/review/1",
            "opinion": "agree",
            "comment": "",
            "by": "r1",
            "on": "2026-11-06",
        },
    )
    node.append(
        session,
        subject,
        "case.decided",
        {"decision": "approved", "reason": "", "decided_on": "2026-11-06", "licence_id": None},
    )
    node.append(
        session,
        subject,
        "case.delivered",
        {"delivered_on": "2026-11-07", "method": "window", "tracking_no": None},
    )


def test_a_batch_applied_through_the_buffer_leaves_the_same_rows(
    root_node: ThisNode, tree: dict
) -> None:
    node = root_node
    with transaction(node.engine) as session:
        for n in range(3):  # three cases, their events interleaved
            _file(node, session, f"{node.node_id}-20261102-{n:04d}", visit=n != 1)
        for n in range(3):
            _lifecycle(node, session, f"{node.node_id}-20261102-{n:04d}")
        _file(node, session, f"{node.node_id}-20261102-0009", visit=False)
        node.append(
            session,
            case_subject(f"{node.node_id}-20261102-0009"),
            "case.accepted",
            {
                "accepted_on": "2026-11-03",
                "window": "综合窗口",
                "limit_days": 5,
                "deadline": "2026-11-10",
                "accepted_by": "clerk",
                "tasks": [],
            },
        )
        # The custody check reads the case row while the filing is still in the buffer.
        node.append(
            session,
            case_subject(f"{node.node_id}-20261102-0009"),
            "handoff.offered",
            {"to": TOWNSHIP_ID, "head_sseq": 2},
        )
        _file(node, session, f"{node.node_id}-20261102-0010", visit=True)
        node.append(
            session,
            case_subject(f"{node.node_id}-20261102-0010"),
            "case.withdrawn",
            {"reason": "撤回", "withdrawn_on": "2026-11-03"},
        )
    with transaction(node.engine) as session:
        before = snapshot(session)
        assert before["cases"] and before["case_notices"] and before["case_special_procedures"]
        events = [parse_event(node.network_id, raw) for raw in iter_events(session)]
        clear_projections(session)
        with buffered_writes(session) as buffer:
            for event in events:
                apply_event(session, event)
        assert snapshot(session) == before
        assert buffer.statements < len(events)  # writes were grouped
