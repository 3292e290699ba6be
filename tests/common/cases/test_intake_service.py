"""Intake action functions on real nodes: filing, case numbers, identity checks,
无证明, 告知承诺, the one-time notice, acceptance, refusal, withdrawal, trips, delivery."""

from __future__ import annotations

import json
from datetime import date

import pytest
from onetrip_testing import COUNTY_ID, VILLAGE_ID
from sqlalchemy import func, select

from common.calendar.service import working_calendar
from common.cases.access import today_on
from common.cases.intake import filing as service_filing
from common.cases.intake import service as intake
from common.cases.models import Case, CaseMaterial, CaseTask
from common.catalog.service import withdraw_matter
from common.db import transaction
from common.errors import Conflict, DomainError, Forbidden, NotFound
from common.identifiers import make_licence_id
from common.ledger.envelope import parse_event
from common.ledger.models import Event
from common.users.roles import Actor

PUBLIC_SECURITY_USCC = (
    "11430424006813555Q"  # 衡东县公安局, which the catalogue entitles to issue JMSFZ
)


def _events(node) -> int:
    with transaction(node.engine) as session:
        return session.execute(select(func.count()).select_from(Event)).scalar()


def _hold_licence(node, holder_id, type_code, serial="00000001", holder_kind="person"):
    licence_id = make_licence_id(type_code, issuer_uscc=licence_issuer(), serial=serial)
    body = {
        "licence_id": licence_id,
        "type_code": type_code,
        "name": "居民身份证",
        "holder": {"kind": holder_kind, "name": "张三", "id_number": holder_id},
        "issuer": {"node": node.node_id, "body": "衡东县公安局", "uscc": licence_issuer()},
        "valid_from": "2020-01-01",
        "valid_to": None,
        "data": {},
        "case_no": None,
    }
    with transaction(node.engine) as session:
        node.append(session, f"licence:{licence_id}", "licence.issued", body)
    return licence_id


def licence_issuer() -> str:
    from common.identifiers.uscc import uscc_check_char

    return PUBLIC_SECURITY_USCC[:17] + uscc_check_char(PUBLIC_SECURITY_USCC[:17])


# -- filing ------------------------------------------------------------------------


def test_filing_a_person_case_at_the_county(published, actors, k, stored_pdf):
    case_no = k.file(
        published,
        actors["clerk"],
        materials=[{"position": 0, "blob_sha256": stored_pdf}],
        visit={"who": "applicant", "place": "县政务服务中心", "purpose": "提交申请"},
    )
    today = today_on(published)
    assert case_no == f"{COUNTY_ID}-{today.replace('-', '')}-0001"
    case = k.case(published, case_no)
    assert (case.state, case.custodian, case.origin_node, case.window) == (
        "filed",
        COUNTY_ID,
        COUNTY_ID,
        "business",
    )
    assert (
        case.applicant_id == k.PERSON_ID
        and case.applicant_id_masked == k.PERSON_ID[:4] + "*" * 10 + k.PERSON_ID[-4:]
    )
    assert (case.materials_required, case.visits, case.over_visit_limit, case.agent) == (
        5,
        1,
        False,
        None,
    )
    with transaction(published.engine) as session:
        rows = (
            session.execute(
                select(CaseMaterial)
                .where(CaseMaterial.case_no == case_no)
                .order_by(CaseMaterial.position)
            )
            .scalars()
            .all()
        )
        assert [r.provided for r in rows] == [True, False, False, False, False, False]
        raw = session.execute(select(Event.raw).where(Event.subject == f"case:{case_no}")).scalar()
    body = parse_event(published.network_id, raw).body
    assert body["matter"]["departments"] == [k.MARKET_DEPT] and body["filed_by"] == "clerk"
    assert body["visit"] == {
        "who": "applicant",
        "place": "县政务服务中心",
        "purpose": "提交申请",
        "counts": True,
        "over_limit": False,
        "over_limit_reason": None,
    }


def test_case_numbers_run_per_node_per_day(published, village, actors, k, monkeypatch):
    first = k.file(published, actors["clerk"])
    second = k.file(published, actors["clerk"])
    at_village = k.file(village, actors["agent"], k.VILLAGE_PENSION)
    day = today_on(published).replace("-", "")
    assert [first, second, at_village] == [
        f"{COUNTY_ID}-{day}-0001",
        f"{COUNTY_ID}-{day}-0002",
        f"{VILLAGE_ID}-{day}-0001",
    ]
    monkeypatch.setattr(service_filing, "today_on", lambda node: "2031-01-02")
    assert k.file(published, actors["clerk"]) == f"{COUNTY_ID}-20310102-0001"
    assert k.file(published, actors["clerk"]) == f"{COUNTY_ID}-20310102-0002"


def test_serial_past_9999_keeps_counting(published, actors, k, monkeypatch):
    # A five-digit serial sorts before "9999" as text; the allocator must not reuse numbers.
    day = today_on(published).replace("-", "")
    with transaction(published.engine) as session:
        for serial in (9999, 10000):
            session.add(
                Case(
                    case_no=f"{COUNTY_ID}-{day}-{serial:04d}",
                    version=1,
                    origin_node=COUNTY_ID,
                    custodian=COUNTY_ID,
                    state="filed",
                    matter_code="x",
                    matter_name="x",
                    catalogue_version=1,
                    case_type="2",
                    handling_level="county",
                    window="social",
                    lead_department="x",
                    required_visits=1,
                    applicant_kind="person",
                    applicant_name="x",
                    applicant_id="x",
                    applicant_id_masked="x",
                    filed_at="x",
                    filed_on=today_on(published),
                )
            )
        assert service_filing.next_case_no(session, published, today_on(published)).endswith(
            "-10001"
        )
        session.rollback()


@pytest.mark.parametrize("code_name", ["N_USCC", "Y_USCC"])
def test_enterprise_with_a_letter_led_credit_code(published, village, actors, k, code_name):
    code = getattr(k, code_name)
    case_no = k.file(
        village,
        actors["agent"],
        k.LAND_TRANSFER,
        applicant=k.applicant("enterprise", code, name="长岭村股份经济合作社"),
    )
    case = k.case(village, case_no)
    assert (case.applicant_kind, case.applicant_id, case.agent) == ("enterprise", code, "agent")
    assert case.applicant_id_masked == code[:4] + "*" * 10 + code[-4:]


@pytest.mark.parametrize(
    "kind,number,code",
    [
        ("person", "430424198001011230", "id.checksum"),
        ("person", "43042419800101", "id.length"),
        ("enterprise", "91430424MA4L12345A", "uscc.checksum"),
        ("enterprise", "", "uscc.required"),
    ],
)
def test_a_bad_identity_number_is_refused_and_nothing_is_written(
    published, actors, k, kind, number, code
):
    before = _events(published)
    with pytest.raises(DomainError) as refused:
        k.file(published, actors["clerk"], applicant=k.applicant(kind, number))
    assert (refused.value.code, refused.value.field) == (code, "applicant.id_number")
    assert _events(published) == before
    with transaction(published.engine) as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar() == 0


def test_filing_needs_a_name_a_known_matter_and_the_right_level(published, village, actors, k):
    with pytest.raises(DomainError) as no_name:
        k.file(published, actors["clerk"], applicant=k.applicant(name="  "))
    assert no_name.value.field == "applicant.name"
    with pytest.raises(NotFound) as unknown:
        k.file(published, actors["clerk"], "11430424MB1C5953154000119999999")
    assert (unknown.value.code, unknown.value.field) == ("case.matter_unknown", "matter_code")
    with pytest.raises(DomainError) as level:
        k.file(published, actors["clerk"], k.VILLAGE_PENSION)
    assert level.value.code == "case.level_mismatch"
    # A county matter may be filed at a village (it is handed up later).
    assert (
        k.case(village, k.file(village, actors["agent"], k.FOOD_LICENCE)).handling_level == "county"
    )


def test_a_withdrawn_matter_cannot_be_filed(published, actors, k):
    k.do(published, withdraw_matter, Actor.node_system(COUNTY_ID), k.SOLE_TRADER, "并入其他事项")
    with pytest.raises(Conflict) as refused:
        k.file(published, actors["clerk"], k.SOLE_TRADER)
    assert refused.value.code == "case.matter_withdrawn"


def test_only_the_tiers_intake_role_files(published, village, actors, k):
    for name in ("tclerk", "reviewer", "auditor", "admin", "agent"):
        with pytest.raises(Forbidden):
            k.file(published, actors[name])
    with pytest.raises(Forbidden):
        k.file(village, actors["clerk"], k.VILLAGE_PENSION)


def test_materials_must_be_held_blobs_of_the_matter(published, actors, k, stored_pdf):
    cases = [
        (
            [{"position": 0, "blob_sha256": "0" * 64}],
            "case.blob_unknown",
            "materials[0].blob_sha256",
        ),
        (
            [{"position": 9, "blob_sha256": stored_pdf}],
            "case.material_unknown",
            "materials[0].position",
        ),
        (
            [{"name": "不相干的材料", "blob_sha256": stored_pdf}],
            "case.material_unknown",
            "materials[0].name",
        ),
        ([{"position": 0}], "case.material_source", "materials[0]"),
        (
            [
                {"position": 0, "blob_sha256": stored_pdf},
                {"name": "食品经营许可申请书", "blob_sha256": stored_pdf},
            ],
            "case.material_duplicate",
            "materials[1]",
        ),
    ]
    for materials, code, field in cases:
        with pytest.raises(DomainError) as refused:
            k.file(published, actors["clerk"], materials=materials)
        assert (refused.value.code, refused.value.field) == (code, field)
    by_name = k.file(
        published,
        actors["clerk"],
        materials=[{"name": "食品经营许可申请书", "blob_sha256": stored_pdf}],
    )
    with transaction(published.engine) as session:
        assert session.get(CaseMaterial, (by_name, 0)).blob_sha256 == stored_pdf


def test_a_held_licence_stands_in_for_a_material(published, actors, k):
    """无证明: the applicant's identity card licence satisfies 申请人居民身份证 by itself."""
    held = _hold_licence(published, k.PERSON_ID, "JMSFZ")
    case_no = k.file(published, actors["clerk"], k.SOLE_TRADER)
    case = k.case(published, case_no)
    assert case.materials_saved == 1
    with transaction(published.engine) as session:
        assert session.get(CaseMaterial, (case_no, 1)).licence_ref == held
    # Given explicitly it must be the applicant's own valid licence of that type.
    explicit = k.file(
        published, actors["clerk"], k.SOLE_TRADER, materials=[{"position": 1, "licence_ref": held}]
    )
    assert k.case(published, explicit).materials_saved == 1
    for ref, position in ((held, 0), (held + "0", 1)):
        with pytest.raises(DomainError) as refused:
            k.file(
                published,
                actors["clerk"],
                k.SOLE_TRADER,
                materials=[{"position": position, "licence_ref": ref}],
            )
        assert refused.value.code == "case.licence_ref_invalid"
    with pytest.raises(DomainError) as someone_elses:
        k.file(
            published,
            actors["clerk"],
            k.SOLE_TRADER,
            applicant=k.applicant(id_number=k.OTHER_PERSON_ID),
            materials=[{"position": 1, "licence_ref": held}],
        )
    assert someone_elses.value.field == "materials[0].licence_ref"


def test_commitment_marks_missing_materials_promised_and_allows_acceptance(
    published, actors, k, stored_pdf
):
    case_no = k.file(
        published,
        actors["clerk"],
        commitment=True,
        materials=[{"position": 0, "blob_sha256": stored_pdf}],
    )
    with transaction(published.engine) as session:
        promised = (
            session.execute(
                select(CaseMaterial.promised)
                .where(CaseMaterial.case_no == case_no)
                .order_by(CaseMaterial.position)
            )
            .scalars()
            .all()
        )
    assert promised == [False, True, True, True, True, False]  # the optional one is not promised
    assert k.do(published, intake.accept_case, actors["clerk"], case_no).state == "accepted"
    with pytest.raises(DomainError) as refused:
        k.file(published, actors["clerk"], k.SOLE_TRADER, commitment=True)
    assert (refused.value.code, refused.value.field) == (
        "case.commitment_not_allowed",
        "commitment",
    )


# -- one-time notice, acceptance -----------------------------------------------------


def test_one_time_notice_then_supplement_then_acceptance(published, actors, k, stored_pdf):
    clerk = actors["clerk"]
    case_no = k.file(
        published, clerk, k.SOLE_TRADER, materials=[{"position": 0, "blob_sha256": stored_pdf}]
    )
    with pytest.raises(DomainError) as missing:
        k.do(published, intake.accept_case, clerk, case_no)
    assert missing.value.code == "case.materials_missing"
    assert (
        "申请人居民身份证" in missing.value.message and "经营场所使用证明" in missing.value.message
    )
    with pytest.raises(DomainError) as incomplete:
        k.do(published, intake.request_supplement, clerk, case_no, ["申请人居民身份证"])
    assert incomplete.value.code == "case.notice_incomplete"
    with pytest.raises(DomainError) as unknown:
        k.do(published, intake.request_supplement, clerk, case_no, ["户口本"])
    assert unknown.value.field == "missing[0]"

    everything = ["申请人居民身份证", "经营场所使用证明（产权证明或租赁协议）"]
    notice = k.do(published, intake.request_supplement, clerk, case_no, everything)
    assert (notice.notice_no, notice.breach, json.loads(notice.missing)) == (1, False, everything)
    assert k.case(published, case_no).state == "supplement"
    with pytest.raises(Conflict) as early:
        k.do(published, intake.accept_case, clerk, case_no)
    assert early.value.code == "case.illegal_transition"

    supplied = [
        {"position": 1, "blob_sha256": stored_pdf},
        {"position": 2, "blob_sha256": stored_pdf},
    ]
    assert k.do(published, intake.receive_supplement, clerk, case_no, supplied).state == "filed"
    accepted = k.do(published, intake.accept_case, clerk, case_no)
    assert (accepted.state, accepted.accepted_on, accepted.deadline) == (
        "accepted",
        today_on(published),
        today_on(published),
    )
    assert (accepted.notices, accepted.notice_breaches) == (1, 0)


def test_a_second_notice_is_allowed_but_counted_as_a_breach(published, actors, k, stored_pdf):
    clerk = actors["clerk"]
    case_no = k.file(
        published,
        clerk,
        k.SOLE_TRADER,
        materials=[
            {"position": 0, "blob_sha256": stored_pdf},
            {"position": 1, "blob_sha256": stored_pdf},
            {"position": 2, "blob_sha256": stored_pdf},
        ],
    )
    k.do(
        published, intake.request_supplement, clerk, case_no, ["申请人居民身份证"]
    )  # the copy is unreadable
    k.do(
        published,
        intake.receive_supplement,
        clerk,
        case_no,
        [{"name": "申请人居民身份证", "blob_sha256": stored_pdf}],
    )
    second = k.do(
        published,
        intake.request_supplement,
        clerk,
        case_no,
        ["经营场所使用证明（产权证明或租赁协议）"],
    )
    assert (second.notice_no, second.breach) == (2, True)
    case = k.case(published, case_no)
    assert (case.notices, case.notice_breaches, case.state) == (2, 1, "supplement")
    view = k.do(published, lambda s, n: intake.get_case_view(s, case_no, today_on(n)))
    assert [n["breach"] for n in view["notice_list"]] == [False, True]


def test_acceptance_opens_one_task_per_department_with_the_deadline(
    published, actors, k, stored_pdf
):
    materials = [{"position": i, "blob_sha256": stored_pdf} for i in range(5)]
    case_no = k.file(
        published,
        actors["clerk"],
        k.COMPANY,
        materials=materials,
        applicant=k.applicant("enterprise", k.Y_USCC, name="衡东示例有限公司"),
    )
    case = k.do(published, intake.accept_case, actors["clerk"], case_no)
    with transaction(published.engine) as session:
        expected = working_calendar(session).add_working_days(
            date.fromisoformat(today_on(published)), 1
        )
        tasks = (
            session.execute(
                select(CaseTask).where(CaseTask.case_no == case_no).order_by(CaseTask.task_id)
            )
            .scalars()
            .all()
        )
    assert (case.limit_days, case.deadline, case.window) == (1, expected.isoformat(), "business")
    assert [(t.task_id, t.department, t.lead, t.state) for t in tasks] == [
        (f"{case_no}/review/1", k.MARKET_DEPT, True, "open"),
        (f"{case_no}/review/2", "衡东县公安局", False, "open"),
        (f"{case_no}/review/3", "国家税务总局衡东县税务局", False, "open"),
    ]


def test_township_acceptance_opens_one_township_task(township, actors, k, stored_pdf):
    materials = [{"position": i, "blob_sha256": stored_pdf} for i in range(4)]
    case_no = k.file(township, actors["tclerk"], k.MINIMUM_LIVING, materials=materials)
    with pytest.raises(Forbidden):
        k.do(township, intake.accept_case, actors["tapprover"], case_no)
    k.do(township, intake.accept_case, actors["tclerk"], case_no)
    with transaction(township.engine) as session:
        tasks = session.execute(select(CaseTask).where(CaseTask.case_no == case_no)).scalars().all()
    assert [(t.department, t.lead) for t in tasks] == [("乡镇审批", True)]


def test_a_county_matter_filed_at_a_village_is_accepted_only_after_handoff(
    village, actors, k, stored_pdf
):
    case_no = k.file(
        village,
        actors["agent"],
        k.SOLE_TRADER,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(3)],
    )
    for action, args in ((intake.accept_case, ()), (intake.refuse_case, ("材料不符",))):
        with pytest.raises(Conflict) as refused:
            k.do(village, action, actors["agent"], case_no, *args)
        assert refused.value.code == "case.handoff_required"


def test_refusal_and_withdrawal_close_the_case_and_later_moves_are_illegal(published, actors, k):
    clerk = actors["clerk"]
    refused_no = k.file(published, clerk)
    with pytest.raises(DomainError) as no_reason:
        k.do(published, intake.refuse_case, clerk, refused_no, " ")
    assert no_reason.value.field == "reason"
    refused = k.do(published, intake.refuse_case, clerk, refused_no, "申请事项不属于本机关职权范围")
    assert (refused.state, refused.closed_reason) == ("refused", "申请事项不属于本机关职权范围")
    withdrawn_no = k.file(published, clerk)
    withdrawn = k.do(published, intake.withdraw_case, clerk, withdrawn_no, "申请人主动撤回")
    assert withdrawn.state == "withdrawn"
    for case_no in (refused_no, withdrawn_no):
        for action, args in (
            (intake.accept_case, ()),
            (intake.withdraw_case, ("再撤",)),
            (intake.request_supplement, (["食品经营许可申请书"],)),
        ):
            with pytest.raises(Conflict) as illegal:
                k.do(published, action, clerk, case_no, *args)
            assert illegal.value.code == "case.illegal_transition"


def test_withdrawal_after_acceptance_cancels_the_open_tasks(published, actors, k, stored_pdf):
    case_no = k.file(
        published,
        actors["clerk"],
        commitment=True,
        materials=[{"position": 0, "blob_sha256": stored_pdf}],
    )
    k.do(published, intake.accept_case, actors["clerk"], case_no)
    k.do(published, intake.withdraw_case, actors["clerk"], case_no, "申请人不再经营")
    with transaction(published.engine) as session:
        states = (
            session.execute(select(CaseTask.state).where(CaseTask.case_no == case_no))
            .scalars()
            .all()
        )
    assert states == ["cancelled"]


def test_at_a_village_only_the_filing_agent_withdraws(village, actors, k):
    case_no = k.file(village, actors["agent"], k.VILLAGE_PENSION)
    with pytest.raises(Forbidden) as other:
        k.do(village, intake.withdraw_case, actors["agent2"], case_no, "撤回")
    assert other.value.code == "case.not_filing_agent"
    assert (
        k.do(village, intake.withdraw_case, actors["agent"], case_no, "撤回").state == "withdrawn"
    )
