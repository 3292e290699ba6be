"""一次性告知 with reasons: each listed material may say what is wrong with it, the notice
may carry a general note; bad input names its field and writes nothing; a notice event
of the first shape (names only) still applies, verifies and rebuilds identically."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from common.cases.access import append_case_event, load_case, today_on
from common.cases.intake import service as intake
from common.cases.models import CaseNotice
from common.db import transaction
from common.errors import DomainError
from common.ledger.models import Event
from common.ledger.projection import snapshot
from common.ledger.rebuild import rebuild_projections
from common.ledger.verify import verify_node

ID_CARD = "申请人居民身份证"
PREMISES = "经营场所使用证明（产权证明或租赁协议）"
UNREADABLE = "身份证复印件不清晰，请提供原件扫描件"


def _events(node) -> int:
    with transaction(node.engine) as session:
        return session.execute(select(func.count()).select_from(Event)).scalar()


def _notice_event(node, case_no: str, notice_no: int) -> dict:
    from common.ledger.envelope import parse_event

    with transaction(node.engine) as session:
        raws = (
            session.execute(
                select(Event.raw)
                .where(
                    Event.subject == f"case:{case_no}", Event.kind == "case.supplement_requested"
                )
                .order_by(Event.sseq)
            )
            .scalars()
            .all()
        )
        return parse_event(node.network_id, raws[notice_no - 1]).body


def _view(node, k, case_no: str) -> dict:
    return k.do(node, lambda s, n: intake.get_case_view(s, case_no, today_on(n)))


@pytest.fixture
def sole_trader(published, actors, k, stored_pdf) -> str:
    """个体工商户设立登记 at the county window with only the application form handed in."""
    return k.file(
        published,
        actors["clerk"],
        k.SOLE_TRADER,
        materials=[{"position": 0, "blob_sha256": stored_pdf}],
    )


def test_each_item_may_carry_its_reason_and_the_notice_a_note(published, actors, k, sole_trader):
    note = "补正时请携带申请人本人身份证原件核对"
    notice = k.do(
        published,
        intake.request_supplement,
        actors["clerk"],
        sole_trader,
        [{"name": ID_CARD, "reason": f"  {UNREADABLE} "}, PREMISES],
        note,
    )
    assert (notice.notice_no, notice.breach, notice.note) == (1, False, note)
    assert json.loads(notice.missing) == [ID_CARD, PREMISES]  # names only, as before
    assert json.loads(notice.reasons) == {ID_CARD: UNREADABLE}  # stripped, only where given

    body = _notice_event(published, sole_trader, 1)
    assert body["missing"] == [ID_CARD, PREMISES]
    assert (body["reasons"], body["note"]) == ({ID_CARD: UNREADABLE}, note)

    listed = _view(published, k, sole_trader)["notice_list"]
    assert listed[0]["items"] == [
        {"name": ID_CARD, "reason": UNREADABLE},
        {"name": PREMISES, "reason": None},
    ]
    assert listed[0]["note"] == note and listed[0]["missing"] == [ID_CARD, PREMISES]


def test_a_notice_without_reasons_keeps_the_first_shape(published, actors, k, sole_trader):
    k.do(
        published,
        intake.request_supplement,
        actors["clerk"],
        sole_trader,
        [ID_CARD, {"name": PREMISES, "reason": "   "}],
        "  ",
    )
    body = _notice_event(published, sole_trader, 1)
    assert set(body) == {"notice_no", "missing", "issued_on", "breach", "issued_by"}
    item = _view(published, k, sole_trader)["notice_list"][0]
    assert item["items"] == [{"name": ID_CARD, "reason": None}, {"name": PREMISES, "reason": None}]
    assert item["note"] is None


def test_a_name_listed_twice_keeps_its_first_reason(published, actors, k, sole_trader):
    notice = k.do(
        published,
        intake.request_supplement,
        actors["clerk"],
        sole_trader,
        [
            ID_CARD,
            {"name": ID_CARD, "reason": UNREADABLE},
            {"name": ID_CARD, "reason": "另一个原因"},
            PREMISES,
        ],
    )
    assert json.loads(notice.missing) == [ID_CARD, PREMISES]
    assert json.loads(notice.reasons) == {ID_CARD: UNREADABLE}


@pytest.mark.parametrize(
    ("missing", "note", "field", "code"),
    [
        (
            [ID_CARD, {"name": PREMISES, "reason": "很" * 201}],
            None,
            "missing[1].reason",
            "case.field_too_long",
        ),
        ([{"name": ID_CARD, "reason": 42}, PREMISES], None, "missing[0].reason", "case.field_type"),
        ([{"reason": UNREADABLE}, PREMISES], None, "missing[0].name", "case.field_required"),
        (
            [{"name": ID_CARD, "remark": "x"}, PREMISES],
            None,
            "missing[0].remark",
            "case.field_unknown",
        ),
        (
            [ID_CARD, {"name": "户口本", "reason": UNREADABLE}],
            None,
            "missing[1]",
            "case.material_unknown",
        ),
        ([ID_CARD, PREMISES], "说" * 501, "note", "case.field_too_long"),
        ([ID_CARD, PREMISES], ["not", "text"], "note", "case.field_type"),
    ],
)
def test_bad_input_names_its_field_and_writes_nothing(
    published, actors, k, sole_trader, missing, note, field, code
):
    before = _events(published)
    with pytest.raises(DomainError) as refused:
        k.do(published, intake.request_supplement, actors["clerk"], sole_trader, missing, note)
    assert (refused.value.code, refused.value.field, refused.value.status_code) == (
        code,
        field,
        400,
    )
    assert _events(published) == before
    case = k.case(published, sole_trader)
    assert (case.state, case.notices) == ("filed", 0)


def test_an_old_shape_notice_event_still_applies_verifies_and_rebuilds(
    published, actors, k, sole_trader, stored_pdf
):
    clerk = actors["clerk"]
    # Written as the first version of request_supplement wrote it: names only.
    with transaction(published.engine) as session:
        append_case_event(
            session,
            published,
            load_case(session, sole_trader),
            "case.supplement_requested",
            {
                "notice_no": 1,
                "missing": [ID_CARD, PREMISES],
                "issued_on": today_on(published),
                "breach": False,
                "issued_by": "clerk",
            },
        )
    with transaction(published.engine) as session:
        row = session.get(CaseNotice, (sole_trader, 1))
        assert (json.loads(row.missing), row.reasons, row.note) == ([ID_CARD, PREMISES], None, None)
    assert k.case(published, sole_trader).state == "supplement"
    first = _view(published, k, sole_trader)["notice_list"][0]
    assert first["items"] == [{"name": ID_CARD, "reason": None}, {"name": PREMISES, "reason": None}]

    # Then a notice of the new shape on the same case (the copy handed in was unreadable).
    k.do(
        published,
        intake.receive_supplement,
        clerk,
        sole_trader,
        [{"position": 1, "blob_sha256": stored_pdf}, {"position": 2, "blob_sha256": stored_pdf}],
    )
    second = k.do(
        published,
        intake.request_supplement,
        clerk,
        sole_trader,
        [{"name": ID_CARD, "reason": UNREADABLE}],
        "其余材料已齐",
    )
    assert (second.notice_no, second.breach) == (2, True)

    with transaction(published.engine) as session:
        report = verify_node(session, published)
    assert report.ok, report.summary()
    with transaction(published.engine) as session:
        live = snapshot(session)
        rebuild_projections(session)
        assert snapshot(session) == live
    with transaction(published.engine) as session:
        rows = (
            session.execute(
                select(CaseNotice)
                .where(CaseNotice.case_no == sole_trader)
                .order_by(CaseNotice.notice_no)
            )
            .scalars()
            .all()
        )
        assert [(r.reasons, r.note) for r in rows] == [
            (None, None),
            (json.dumps({ID_CARD: UNREADABLE}, ensure_ascii=False), "其余材料已齐"),
        ]
