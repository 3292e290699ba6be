"""The intake API over HTTP: every answer masked, every refusal a 4xx naming the field,
and the resident's public progress query that tells nothing to a stranger."""

from __future__ import annotations

from sqlalchemy import func, select

from common.cases.access import today_on
from common.db import transaction
from common.ledger.models import Event


def _events(node) -> int:
    with transaction(node.engine) as session:
        return session.execute(select(func.count()).select_from(Event)).scalar()


def _upload(client, data, name="申请书.pdf", content_type="application/pdf"):
    response = client.post("/api/v1/blobs", files={"file": (name, data, content_type)})
    assert response.status_code == 201, response.text
    return response.json()["sha256"]


def _file(client, k, matter, *, materials=(), **extra):
    body = {
        "matter_code": matter,
        "applicant": k.applicant(),
        "materials": list(materials),
        **extra,
    }
    return client.post("/api/v1/cases", json=body)


def test_filing_answers_the_case_with_the_identity_number_masked(published, staff_client, k):
    clerk = staff_client(published, "clerk")
    sha = _upload(clerk, k.PDF_BYTES)
    response = _file(
        clerk,
        k,
        k.FOOD_LICENCE,
        materials=[{"position": 0, "blob_sha256": sha}],
        visit={"who": "applicant", "place": "县政务服务中心", "purpose": "提交申请"},
    )
    assert response.status_code == 201, response.text
    view = response.json()
    assert view["case_no"].endswith("-0001") and view["state_label"] == "已申请"
    assert view["applicant"]["id_masked"] == k.PERSON_ID[:4] + "*" * 10 + k.PERSON_ID[-4:]
    assert k.PERSON_ID not in response.text
    assert view["materials"][0] == {
        "position": 0,
        "name": "食品经营许可申请书",
        "mandatory": True,
        "provided": True,
        "blob_sha256": sha,
        "licence_ref": None,
        "promised": False,
    }
    assert view["trips"] == {"count": 1, "limit": 1, "over_limit": False, "reason": None}
    again = clerk.get(f"/api/v1/cases/{view['case_no']}")
    assert again.status_code == 200 and again.json()["case_no"] == view["case_no"]
    assert k.PERSON_ID not in again.text


def test_refusals_name_the_field_and_write_nothing(published, staff_client, k):
    clerk, reviewer = staff_client(published, "clerk"), staff_client(published, "reviewer")
    before = _events(published)
    bad_id = clerk.post(
        "/api/v1/cases",
        json={
            "matter_code": k.FOOD_LICENCE,
            "applicant": k.applicant(id_number="430424198001011230"),
        },
    )
    assert bad_id.status_code == 400
    assert (bad_id.json()["code"], bad_id.json()["field"]) == ("id.checksum", "applicant.id_number")
    shape = clerk.post(
        "/api/v1/cases", json={"matter_code": k.FOOD_LICENCE, "applicant": {"kind": "robot"}}
    )
    assert shape.status_code == 422 and shape.json()["field"].startswith("applicant.")
    unknown = _file(clerk, k, "11430424MB1C5953154000119999999")
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["field"]) == (
        404,
        "case.matter_unknown",
        "matter_code",
    )
    blob = _file(clerk, k, k.FOOD_LICENCE, materials=[{"position": 0, "blob_sha256": "a" * 64}])
    assert (blob.status_code, blob.json()["field"]) == (400, "materials[0].blob_sha256")
    malformed = clerk.get("/api/v1/cases/not-a-case")
    assert malformed.status_code == 422 and malformed.json()["field"] == "case_no"
    missing = clerk.get(f"/api/v1/cases/{published.node_id}-20260101-0001")
    assert (missing.status_code, missing.json()["code"]) == (404, "case.not_found")
    not_a_window = reviewer.post(
        "/api/v1/cases", json={"matter_code": k.FOOD_LICENCE, "applicant": k.applicant()}
    )
    assert (not_a_window.status_code, not_a_window.json()["code"]) == (403, "auth.role")
    assert _events(published) == before


def test_notice_supplement_accept_and_illegal_moves(published, staff_client, k):
    clerk = staff_client(published, "clerk")
    sha = _upload(clerk, k.PDF_BYTES)
    case_no = _file(
        clerk, k, k.SOLE_TRADER, materials=[{"position": 0, "blob_sha256": sha}]
    ).json()["case_no"]
    missing = clerk.post(f"/api/v1/cases/{case_no}/accept")
    assert (missing.status_code, missing.json()["code"], missing.json()["field"]) == (
        400,
        "case.materials_missing",
        "materials",
    )
    everything = ["申请人居民身份证", "经营场所使用证明（产权证明或租赁协议）"]
    notice = clerk.post(f"/api/v1/cases/{case_no}/supplement-notice", json={"missing": everything})
    assert (
        notice.status_code == 201
        and notice.json()["breach"] is False
        and notice.json()["missing"] == everything
    )
    early = clerk.post(f"/api/v1/cases/{case_no}/accept")
    assert (early.status_code, early.json()["code"]) == (409, "case.illegal_transition")
    supplied = clerk.post(
        f"/api/v1/cases/{case_no}/supplement",
        json={
            "materials": [
                {"position": 1, "blob_sha256": sha},
                {"name": everything[1], "blob_sha256": sha},
            ]
        },
    )
    assert supplied.status_code == 200 and supplied.json()["state"] == "filed"
    accepted = clerk.post(f"/api/v1/cases/{case_no}/accept")
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert (body["state"], body["dates"]["accepted_on"], body["tasks"]) == (
        "accepted",
        today_on(published),
        [],
    )
    assert body["notices"] == 1 and body["notice_breaches"] == 0
    for path, payload in (
        ("refuse", {"reason": "太晚了"}),
        ("supplement-notice", {"missing": everything}),
    ):
        late = clerk.post(f"/api/v1/cases/{case_no}/{path}", json=payload)
        assert (late.status_code, late.json()["code"], late.json()["field"]) == (
            409,
            "case.illegal_transition",
            "state",
        )
    empty = clerk.post(f"/api/v1/cases/{case_no}/withdraw", json={"reason": ""})
    assert empty.status_code == 422 and empty.json()["field"] == "reason"
    withdrawn = clerk.post(f"/api/v1/cases/{case_no}/withdraw", json={"reason": "申请人撤回"})
    assert withdrawn.json()["state_label"] == "已撤回"


def test_a_second_notice_is_a_counted_breach(published, staff_client, k):
    clerk = staff_client(published, "clerk")
    sha = _upload(clerk, k.PDF_BYTES)
    case_no = _file(
        clerk, k, k.SOLE_TRADER, materials=[{"position": 0, "blob_sha256": sha}]
    ).json()["case_no"]
    names = ["申请人居民身份证", "经营场所使用证明（产权证明或租赁协议）"]
    clerk.post(f"/api/v1/cases/{case_no}/supplement-notice", json={"missing": names})
    clerk.post(
        f"/api/v1/cases/{case_no}/supplement",
        json={"materials": [{"position": 1, "blob_sha256": sha}]},
    )
    second = clerk.post(f"/api/v1/cases/{case_no}/supplement-notice", json={"missing": [names[1]]})
    assert second.status_code == 201 and (second.json()["notice_no"], second.json()["breach"]) == (
        2,
        True,
    )
    view = clerk.get(f"/api/v1/cases/{case_no}").json()
    assert (view["notices"], view["notice_breaches"]) == (2, 1)
    listed = clerk.get("/api/v1/cases", params={"state": "supplement"}).json()
    assert [(c["case_no"], c["notice_breaches"]) for c in listed] == [(case_no, 1)]


def test_a_notice_with_reasons_and_a_note_over_http(published, staff_client, k):
    clerk = staff_client(published, "clerk")
    sha = _upload(clerk, k.PDF_BYTES)
    case_no = _file(
        clerk, k, k.SOLE_TRADER, materials=[{"position": 0, "blob_sha256": sha}]
    ).json()["case_no"]
    names = ["申请人居民身份证", "经营场所使用证明（产权证明或租赁协议）"]
    reason = "身份证复印件不清晰，请提供原件扫描件"
    before = _events(published)
    too_long = clerk.post(
        f"/api/v1/cases/{case_no}/supplement-notice",
        json={"missing": [names[0], {"name": names[1], "reason": "很" * 201}]},
    )
    assert (too_long.status_code, too_long.json()["field"]) == (422, "missing.1.reason")
    stray = clerk.post(
        f"/api/v1/cases/{case_no}/supplement-notice",
        json={"missing": [{"name": names[0], "why": reason}, names[1]]},
    )
    assert (stray.status_code, stray.json()["field"]) == (422, "missing.0.why")
    long_note = clerk.post(
        f"/api/v1/cases/{case_no}/supplement-notice", json={"missing": names, "note": "说" * 501}
    )
    assert (long_note.status_code, long_note.json()["field"]) == (422, "note")
    assert (
        _events(published) == before
        and clerk.get(f"/api/v1/cases/{case_no}").json()["notices"] == 0
    )

    notice = clerk.post(
        f"/api/v1/cases/{case_no}/supplement-notice",
        json={"missing": [{"name": names[0], "reason": reason}, names[1]], "note": "请带原件核对"},
    )
    assert notice.status_code == 201, notice.text
    body = notice.json()
    assert body["missing"] == names and body["note"] == "请带原件核对"
    assert body["items"] == [
        {"name": names[0], "reason": reason},
        {"name": names[1], "reason": None},
    ]
    view = clerk.get(f"/api/v1/cases/{case_no}").json()
    assert (
        view["notice_list"][0]["items"] == body["items"]
        and view["notice_list"][0]["note"] == "请带原件核对"
    )


def test_refusal_needs_a_reason_and_closes(published, staff_client, k):
    clerk = staff_client(published, "clerk")
    case_no = _file(clerk, k, k.FOOD_LICENCE).json()["case_no"]
    assert clerk.post(f"/api/v1/cases/{case_no}/refuse", json={}).json()["field"] == "reason"
    refused = clerk.post(f"/api/v1/cases/{case_no}/refuse", json={"reason": "不属于本机关职权范围"})
    assert refused.status_code == 200
    assert (refused.json()["state"], refused.json()["closed_reason"]) == (
        "refused",
        "不属于本机关职权范围",
    )


def test_trips_over_http(village, staff_client, k):
    agent = staff_client(village, "agent")
    case_no = _file(
        agent,
        k,
        k.VILLAGE_PENSION,
        visit={"who": "applicant", "place": "示例村代办点", "purpose": "提交申请"},
    ).json()["case_no"]
    journey = agent.post(
        f"/api/v1/cases/{case_no}/visits",
        json={"who": "agent", "place": "洣水镇便民服务中心", "purpose": "代为递交"},
    )
    assert journey.status_code == 201
    assert (
        journey.json()["counts"],
        journey.json()["visits"],
        journey.json()["over_visit_limit"],
    ) == (False, 1, False)
    second = agent.post(
        f"/api/v1/cases/{case_no}/visits",
        json={"who": "applicant", "place": "示例村代办点", "purpose": "补签字"},
    )
    assert (second.json()["visits"], second.json()["over_visit_limit"]) == (2, True)
    assert (
        second.json()["over_limit_reason"] == "跑动次数超过承诺的1次：第2次到现场（原因：补签字）"
    )
    view = agent.get(f"/api/v1/cases/{case_no}").json()
    assert [(v["who"], v["counts"]) for v in view["visit_list"]] == [
        ("applicant", True),
        ("agent", False),
        ("applicant", True),
    ]


def test_delivery_over_http(village, staff_client, k):
    agent = staff_client(village, "agent")
    sha = _upload(agent, k.PNG_BYTES, "身份证.png", "image/png")
    case_no = _file(
        agent, k, k.VILLAGE_PENSION, materials=[{"position": 0, "blob_sha256": sha}]
    ).json()["case_no"]
    assert agent.post(f"/api/v1/cases/{case_no}/accept").status_code == 200
    not_yet = agent.post(f"/api/v1/cases/{case_no}/deliver", json={"method": "agent"})
    assert (not_yet.status_code, not_yet.json()["code"]) == (409, "case.illegal_transition")
    with transaction(village.engine) as session:
        from common.cases.review.service import decide_case
        from common.users.roles import Actor, Role

        decide_case(
            session,
            village,
            Actor("agent", village.node_id, Role.VILLAGE_AGENT),
            case_no,
            "approved",
            None,
        )
    no_tracking = agent.post(f"/api/v1/cases/{case_no}/deliver", json={"method": "courier"})
    assert (no_tracking.status_code, no_tracking.json()["field"]) == (400, "tracking_no")
    delivered = agent.post(f"/api/v1/cases/{case_no}/deliver", json={"method": "window"})
    assert delivered.status_code == 200, delivered.text
    body = delivered.json()
    assert (body["state"], body["delivery"]["method"], body["trips"]["count"]) == (
        "delivered",
        "window",
        1,
    )


def test_lists_by_tier_and_the_window_queue(published, township, village, staff_client, k):
    clerk, tclerk, agent = (
        staff_client(published, "clerk"),
        staff_client(township, "tclerk"),
        staff_client(village, "agent"),
    )
    county_first = _file(clerk, k, k.FOOD_LICENCE).json()["case_no"]
    county_social = _file(clerk, k, "1243042444815032274002007003001").json()[
        "case_no"
    ]  # 社会保障卡申领
    county_second = _file(clerk, k, k.SOLE_TRADER).json()["case_no"]
    at_township = _file(tclerk, k, k.MINIMUM_LIVING).json()["case_no"]
    at_village = _file(agent, k, k.VILLAGE_PENSION).json()["case_no"]
    queue = clerk.get("/api/v1/cases/queues/business")
    assert queue.status_code == 200
    assert [c["case_no"] for c in queue.json()] == [county_first, county_second]
    assert [c["case_no"] for c in clerk.get("/api/v1/cases/queues/social").json()] == [
        county_social
    ]
    assert clerk.get("/api/v1/cases/queues/nowhere").status_code == 422
    everything = {c["case_no"] for c in tclerk.get("/api/v1/cases").json()}
    assert everything == {county_first, county_social, county_second, at_township, at_village}
    assert [c["case_no"] for c in agent.get("/api/v1/cases").json()] == [at_village]
    listing = clerk.get("/api/v1/cases", params={"window": "business"})
    assert {c["case_no"] for c in listing.json()} == {county_first, county_second}
    assert k.PERSON_ID not in listing.text
    assert clerk.get("/api/v1/cases", params={"state": "nonsense"}).json()["field"] == "state"


def test_a_department_sees_a_case_only_through_its_own_tasks(published, staff_client, k):
    clerk, reviewer = staff_client(published, "clerk"), staff_client(published, "reviewer")
    sha = _upload(clerk, k.PDF_BYTES)
    company = _file(
        clerk,
        k,
        k.COMPANY,
        materials=[{"position": i, "blob_sha256": sha} for i in range(5)],
        applicant=k.applicant("enterprise", k.N_USCC, name="示例合作社"),
    ).json()["case_no"]
    other = _file(clerk, k, "1243042444815032274002007003001").json()["case_no"]
    assert clerk.post(f"/api/v1/cases/{company}/accept").status_code == 200
    view = reviewer.get(f"/api/v1/cases/{company}")
    assert view.status_code == 200
    # The market leads the case: it reads every department's task (it decides on them).
    assert [t["department"] for t in view.json()["tasks"]] == [
        k.MARKET_DEPT,
        "衡东县公安局",
        "国家税务总局衡东县税务局",
    ]
    assert reviewer.get(f"/api/v1/cases/{other}").status_code == 403
    assert [c["case_no"] for c in reviewer.get("/api/v1/cases").json()] == [company]


def test_public_progress_tells_nothing_to_a_stranger(published, staff_client, make_client, k):
    clerk = staff_client(published, "clerk")
    case_no = _file(clerk, k, k.FOOD_LICENCE).json()["case_no"]
    public = make_client(published, username=None)
    found = public.post(
        f"/api/v1/public/cases/{case_no}/progress", json={"id_last4": k.PERSON_ID[-4:]}
    )
    assert found.status_code == 200
    assert found.json() == {
        "case_no": case_no,
        "state_label": "已申请",
        "matter_name": "食品经营许可（新办）",
        "filed_on": today_on(published),
        "accepted_on": None,
        "deadline": None,
        "decided_on": None,
        "delivered_on": None,
        "deadline_status": "not_started",
        "deadline_status_label": "未受理",
        "days_left": None,
        "result_revoked": False,
    }
    assert (
        "张三" not in found.text and k.PERSON_ID[6:14] not in found.text
    )  # no name, no birth date
    wrong_digits = public.post(
        f"/api/v1/public/cases/{case_no}/progress", json={"id_last4": "0000"}
    )
    wrong_case = public.post(
        f"/api/v1/public/cases/{published.node_id}-20200101-0001/progress",
        json={"id_last4": k.PERSON_ID[-4:]},
    )
    assert wrong_digits.status_code == wrong_case.status_code == 404
    assert wrong_digits.json() == wrong_case.json()
    missing = public.post(f"/api/v1/public/cases/{case_no}/progress", json={})
    assert missing.status_code == 422 and missing.json()["field"] == "id_last4"
    # The digits never travel in the URL (proxies and access logs keep URLs).
    assert public.get(f"/api/v1/public/cases/{case_no}/progress").status_code == 405
    assert public.get(f"/api/v1/cases/{case_no}").status_code == 401


def test_the_openapi_schema_describes_the_intake_api(published, make_client):
    schema = make_client(published).get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/cases",
        "/api/v1/cases/{case_no}",
        "/api/v1/cases/{case_no}/supplement-notice",
        "/api/v1/cases/{case_no}/supplement",
        "/api/v1/cases/{case_no}/accept",
        "/api/v1/cases/{case_no}/refuse",
        "/api/v1/cases/{case_no}/withdraw",
        "/api/v1/cases/{case_no}/visits",
        "/api/v1/cases/{case_no}/deliver",
        "/api/v1/cases/queues/{window}",
        "/api/v1/public/cases/{case_no}/progress",
        "/api/v1/blobs",
        "/api/v1/blobs/{sha256}",
    ):
        assert path in paths, path
    assert "FileCaseRequest" in schema["components"]["schemas"]
    assert "CaseViewOut" in schema["components"]["schemas"]
