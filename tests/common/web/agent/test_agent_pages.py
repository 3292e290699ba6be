"""The village agent's screens (issue 5, item 2): find a matter, read its guide, file a
case through the form with scanned materials, follow it in "my cases", the one-time
notice and supplement, hand-up, delivery and rating; refusals shown on the forms."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from onetrip_testing import ADMIN_PASSWORD, COUNTY_ID
from sqlalchemy import func, select
from web_testing import csrf_of, post_form, web_login

from common.blobs.models import Blob
from common.cases.models import Case, CaseMaterial
from common.db import transaction
from common.node import ThisNode
from common.ratings.models import Rating


def case_of(node: ThisNode, case_no: str) -> Case:
    with transaction(node.engine) as session:
        case = session.get(Case, case_no)
        assert case is not None
        return case


def count(node: ThisNode, model: Any) -> int:
    with transaction(node.engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def applicant(kit: Any, **extra: str) -> dict[str, str]:
    return {
        "applicant_kind": "person",
        "applicant_name": "李大爷",
        "applicant_id": kit.PERSON_ID,
        "applicant_phone": "13800000000",
        "present": "1",
        **extra,
    }


def file_through_form(client: TestClient, code: str, data: dict[str, str], files: list[Any]) -> Any:
    return post_form(client, f"/agent/file/{code}", data, files=files)


def case_no_of(answer: Any) -> str:
    assert answer.status_code == 303, answer.text
    match = re.fullmatch(r"/agent/cases/(\d{12}-\d{8}-\d{4})", answer.headers["location"])
    assert match, answer.headers["location"]
    return match.group(1)


def test_search_browse_and_read_a_guide(agent_client: TestClient, kit: Any) -> None:
    page = agent_client.get("/agent/matters", params={"q": "高龄津贴"})
    assert page.status_code == 200 and "<title>代办受理：查找事项" in page.text
    assert (
        f'data-code="{kit.ELDERLY}"' in page.text and f'data-code="{kit.PENSION}"' not in page.text
    )
    assert 'data-testid="sync-banner"' in page.text  # the sync banner on every logged-in page
    by_code = agent_client.get("/agent/matters", params={"q": kit.SOLE_TRADER[:25]})
    assert f'data-code="{kit.SOLE_TRADER}"' in by_code.text
    social = agent_client.get("/agent/matters", params={"window": "social"})
    assert (
        f'data-code="{kit.PENSION}"' in social.text
        and f'data-code="{kit.SOLE_TRADER}"' not in social.text
    )
    organisations = agent_client.get("/agent/matters", params={"objects": "organisation"})
    assert f'data-code="{kit.FOOD_LICENCE}"' in organisations.text
    assert f'data-code="{kit.PENSION}"' not in organisations.text

    guide = agent_client.get(f"/agent/matters/{kit.FOOD_LICENCE}")
    assert guide.status_code == 200 and "<h1>食品经营许可（新办）</h1>" in guide.text
    assert "食品经营许可申请书" in guide.text and "可以：申请人书面承诺" in guide.text
    assert f'href="/api/v1/catalogue/matters/{kit.FOOD_LICENCE}/guide.pdf"' in guide.text
    assert f'href="/agent/file/{kit.FOOD_LICENCE}"' in guide.text
    assert agent_client.get("/agent/matters/NOSUCHCODE").status_code == 404


def test_file_a_village_case_on_the_spot_then_rate_it(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    form = agent_client.get(f"/agent/file/{kit.PENSION}")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    assert '<label for="f-applicant_id">' in form.text and "/static/agent.js" in form.text
    answer = file_through_form(
        agent_client,
        kit.PENSION,
        {**applicant(kit), "m0_ok": "1", "then": "on_the_spot"},
        [
            ("m0_file", ("身份证.pdf", kit.PDF, "application/pdf")),
            ("m1_file", ("", b"", "application/octet-stream")),
        ],
    )  # an empty file input
    case_no = case_no_of(answer)
    case = case_of(village, case_no)
    assert case.state == "delivered" and case.agent == kit.AGENT and case.catalogue_version > 0
    assert (
        case.visits == 1 and case.delivery_method == "window"
    )  # one trip: filing and pickup the same day
    with transaction(village.engine) as session:
        first = session.get(CaseMaterial, (case_no, 0))
        assert first is not None and first.provided and first.blob_sha256

    page = agent_client.get(answer.headers["location"])
    assert "当场办结并送达" in page.text and 'data-testid="rate-form"' in page.text
    assert kit.PERSON_ID not in page.text and 'data-testid="applicant-id-masked"' in page.text
    mine = agent_client.get("/agent/cases")
    assert f'data-case-no="{case_no}"' in mine.text and kit.PERSON_ID not in mine.text
    assert "已送达" in mine.text and "本代办点" in mine.text

    rated = post_form(
        agent_client,
        f"/agent/cases/{case_no}/rate",
        {"level": "1", "comment": "很方便"},
        page=f"/agent/cases/{case_no}",
    )
    assert rated.status_code == 303
    with transaction(village.engine) as session:
        rating = session.get(Rating, case_no)
        assert rating is not None and rating.level == 1


def test_a_bad_identity_number_is_refused_next_to_the_field(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    wrong = kit.PERSON_ID[:-1] + ("0" if kit.PERSON_ID[-1] != "0" else "1")
    blobs = count(village, Blob)
    answer = file_through_form(
        agent_client,
        kit.PENSION,
        {**applicant(kit, applicant_id=wrong), "m0_ok": "1", "then": "on_the_spot"},
        [("m0_file", ("身份证.pdf", kit.PDF, "application/pdf"))],
    )
    assert answer.status_code == 400
    assert re.search(r'id="f-applicant_id"[^>]*aria-invalid="true"', answer.text, re.DOTALL)
    assert '<p class="field-error" id="d-applicant_id">身份证号码校验位错误' in answer.text
    assert (
        f'value="{wrong}"' in answer.text and 'value="李大爷"' in answer.text
    )  # kept for correcting
    # No case; the scan is stored and kept on the form, so it is not chosen again.
    assert count(village, Case) == 0 and count(village, Blob) == blobs + 1
    assert 'data-testid="kept-file-0"' in answer.text


def test_a_ticked_material_without_its_scan_and_a_wrong_file_type(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    no_scan = file_through_form(agent_client, kit.PENSION, {**applicant(kit), "m0_ok": "1"}, [])
    assert (
        no_scan.status_code == 400
        and 'id="d-m0_file"' in no_scan.text
        and "请上传它的扫描件" in no_scan.text
    )
    text_file = file_through_form(
        agent_client,
        kit.PENSION,
        applicant(kit),
        [("m0_file", ("身份证.txt", b"hello", "text/plain"))],
    )
    assert (
        text_file.status_code == 415
        and "只接受" in text_file.text
        and 'id="d-m0_file"' in text_file.text
    )
    assert count(village, Case) == 0


def test_missing_materials_one_time_notice_and_supplement(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    answer = file_through_form(
        agent_client, kit.PENSION, {**applicant(kit), "then": "on_the_spot"}, []
    )
    case_no = case_no_of(answer)
    assert case_of(village, case_no).state == "filed"  # not settled: the ID card scan is missing
    page = agent_client.get(f"/agent/cases/{case_no}")
    assert "材料不齐" in page.text and 'data-testid="missing-materials"' in page.text
    assert "申请人居民身份证" in page.text and 'data-testid="notice-form"' in page.text

    # A notice that leaves out a missing mandatory material is refused, naming it.
    incomplete = post_form(
        agent_client,
        f"/agent/cases/{case_no}/notice",
        {"miss_1": "1"},
        page=f"/agent/cases/{case_no}",
    )
    assert incomplete.status_code == 400 and "还缺：申请人居民身份证" in incomplete.text
    notice = post_form(
        agent_client,
        f"/agent/cases/{case_no}/notice",
        {"miss_0": "1"},
        page=f"/agent/cases/{case_no}",
    )
    assert notice.status_code == 303
    assert case_of(village, case_no).state == "supplement"
    page = agent_client.get(f"/agent/cases/{case_no}")
    assert 'data-testid="one-time-notice"' in page.text and "复印件" in page.text
    assert f"/api/v1/cases/{case_no}/documents/notice.pdf" in page.text

    supplied = post_form(
        agent_client,
        f"/agent/cases/{case_no}/supplement",
        {},
        page=f"/agent/cases/{case_no}",
        files=[("s0_file", ("身份证.pdf", kit.PDF, "application/pdf"))],
    )
    assert supplied.status_code == 303
    assert case_of(village, case_no).state == "filed"
    settled = post_form(
        agent_client, f"/agent/cases/{case_no}/on-the-spot", {}, page=f"/agent/cases/{case_no}"
    )
    assert settled.status_code == 303 and case_of(village, case_no).state == "approved"


def test_the_plain_words_notice_shows_each_reason_and_the_note(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    from common.cases.intake.service import request_supplement
    from common.users.roles import Actor, Role

    case_no = case_no_of(file_through_form(agent_client, kit.PENSION, applicant(kit), []))
    agent = Actor(username=kit.AGENT, node_id=village.node_id, role=Role.VILLAGE_AGENT)
    with transaction(village.engine) as session:
        request_supplement(
            session,
            village,
            agent,
            case_no,
            [{"name": "申请人居民身份证", "reason": "复印件太模糊，看不清号码"}, "居民户口簿"],
            "下次来时请带上身份证原件",
        )
    page = agent_client.get(f"/agent/cases/{case_no}")
    assert page.status_code == 200 and 'data-testid="one-time-notice"' in page.text
    assert page.text.count('data-testid="notice-reason"') == 1  # only the item that has a reason
    assert (
        '<span data-testid="notice-reason">要改正的地方：复印件太模糊，看不清号码</span>'
        in page.text
    )
    assert '<p data-testid="notice-note">另外请注意：下次来时请带上身份证原件</p>' in page.text
    assert "居民户口簿" in page.text and kit.PERSON_ID not in page.text


def test_hand_up_a_county_matter_then_deliver_and_rate(
    agent_client: TestClient, village: ThisNode, published: ThisNode, county_clerk: Any, kit: Any
) -> None:
    from common.cases.handoff.service import accept_handoff, return_if_decided, settle_custody
    from common.cases.intake.service import accept_case
    from common.cases.review.service import decide_case

    scans = [(f"m{i}_file", (f"材料{i}.pdf", kit.PDF, "application/pdf")) for i in range(3)]
    answer = file_through_form(
        agent_client, kit.SOLE_TRADER, {**applicant(kit), "then": "handoff"}, scans
    )
    case_no = case_no_of(answer)
    assert case_of(village, case_no).pending_offer_to == COUNTY_ID
    page = agent_client.get(answer.headers["location"])
    # No sync here: the offer waits in the outbox, and the agent is told so.
    assert "转交衡东县政务服务中心已排队，尚未上传" in page.text and "已转交" not in page.text
    mine = agent_client.get("/agent/cases")
    assert "转交衡东县政务服务中心已排队" in mine.text

    # The county takes it on and decides on the spot; the result comes home.
    with transaction(published.engine) as session:
        accept_handoff(session, published, county_clerk, case_no)
        accept_case(session, published, county_clerk, case_no)
        decide_case(session, published, county_clerk, case_no, "approved", None)
        return_if_decided(session, published, case_no)
    with transaction(village.engine) as session:
        assert settle_custody(session, village, case_no) == "accepted"
    case = case_of(village, case_no)
    assert case.state == "approved" and case.licence_id

    page = agent_client.get(f"/agent/cases/{case_no}")
    assert f"/api/v1/licences/{case.licence_id}.pdf" in page.text and case.licence_id in page.text
    assert 'data-testid="deliver-form"' in page.text
    assert "delivery-receipt.pdf" in page.text and "acceptance.pdf" in page.text
    # Courier without a tracking number: refused next to the field.
    courier = post_form(
        agent_client,
        f"/agent/cases/{case_no}/deliver",
        {"method": "courier"},
        page=f"/agent/cases/{case_no}",
    )
    assert (
        courier.status_code == 400
        and 'id="d-tracking_no"' in courier.text
        and "快递单号" in courier.text
    )
    delivered = post_form(
        agent_client,
        f"/agent/cases/{case_no}/deliver",
        {"method": "agent", "receiver": "李大爷"},
        page=f"/agent/cases/{case_no}",
    )
    assert delivered.status_code == 303
    case = case_of(village, case_no)
    assert case.state == "delivered" and case.delivery_method == "agent" and case.visits == 1
    no_level = post_form(
        agent_client, f"/agent/cases/{case_no}/rate", {}, page=f"/agent/cases/{case_no}"
    )
    assert no_level.status_code == 400 and "评价等级" in no_level.text
    rated = post_form(
        agent_client,
        f"/agent/cases/{case_no}/rate",
        {"level": "4", "comment": "等得久"},
        page=f"/agent/cases/{case_no}",
    )
    assert rated.status_code == 303 and case_of(village, case_no).rating == 4


def test_withdraw_a_filed_case(agent_client: TestClient, village: ThisNode, kit: Any) -> None:
    answer = file_through_form(
        agent_client, kit.SOLE_TRADER, {**applicant(kit), "then": "file"}, []
    )
    case_no = case_no_of(answer)
    empty = post_form(
        agent_client, f"/agent/cases/{case_no}/withdraw", {}, page=f"/agent/cases/{case_no}"
    )
    assert empty.status_code == 400 and 'id="d-withdraw_reason"' in empty.text
    done = post_form(
        agent_client,
        f"/agent/cases/{case_no}/withdraw",
        {"withdraw_reason": "申请人不办了"},
        page=f"/agent/cases/{case_no}",
    )
    assert done.status_code == 303 and case_of(village, case_no).state == "withdrawn"


def test_agent_pages_refuse_other_roles_and_anonymous(
    published: ThisNode, make_client: Any, kit: Any
) -> None:
    # The county administrator on a node that mounts the village screens.
    node = kit.member(published, published.node_id, "village", published.key)
    anonymous = make_client(node, username=None)
    away = anonymous.get("/agent/matters", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/login?next=")
    client = web_login(make_client(node, username=None), "admin", ADMIN_PASSWORD)
    refused = client.get("/agent/matters")
    assert refused.status_code == 403 and "此页面仅限村代办员使用" in refused.text
    token = csrf_of(client.get("/portal").text)
    post = client.post(
        f"/agent/file/{kit.PENSION}", data={"csrf_token": token, "applicant_name": "x"}
    )
    assert post.status_code == 403 and count(published, Case) == 0


def test_the_search_form_with_all_windows_is_no_filter(agent_client) -> None:  # type: ignore[no-untyped-def]
    """The form's "全部窗口" option sends window= (empty): a search, not a 422."""
    page = agent_client.get("/agent/matters", params={"q": "养老", "window": "", "objects": ""})
    assert page.status_code == 200
    assert 'data-testid="matter-row"' in page.text
