"""The handoff inbox and escalation on the screens: a village's county matter waits in
the county's inbox; the window clerk declines it (with a reason) or accepts it; a
township clerk escalates a county matter filed at the township."""

from __future__ import annotations

from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID
from web_testing import post_form

from common.cases.handoff import service as handoff


def test_county_clerk_declines_then_accepts_an_offer(
    published, village, actors, browser, k, stored_pdf, case_of
):
    case_no = k.file(
        village,
        actors["agent"],
        k.FOOD_LICENCE,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(5)],
    )
    k.do(village, handoff.offer_handoff, actors["agent"], case_no)
    clerk = browser(published, "clerk")
    inbox = clerk.get("/staff/inbox")
    assert inbox.status_code == 200
    assert inbox.text.count('data-testid="inbox-item"') == 1 and case_no in inbox.text
    assert "示例村代办点" in inbox.text and k.PERSON_ID not in inbox.text

    empty = post_form(clerk, f"/staff/inbox/{case_no}/decline", {"reason": ""}, page="/staff/inbox")
    assert (
        empty.status_code == 400
        and "请填写拒收理由" in empty.text
        and 'aria-invalid="true"' in empty.text
    )
    assert case_of(case_no).pending_offer_to == COUNTY_ID

    declined = post_form(
        clerk,
        f"/staff/inbox/{case_no}/decline",
        {"reason": "材料扫描件不清晰，请重新上传后再上报"},
        page="/staff/inbox",
    )
    assert declined.status_code == 303 and declined.headers["location"] == "/staff/inbox"
    case = case_of(case_no)
    assert (case.custodian, case.pending_offer_to) == (VILLAGE_ID, None)
    assert 'data-testid="inbox-empty"' in clerk.get("/staff/inbox").text

    k.do(village, handoff.offer_handoff, actors["agent"], case_no)
    accepted = post_form(clerk, f"/staff/inbox/{case_no}/accept", {}, page="/staff/inbox")
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/staff/cases/{case_no}"
    case = case_of(case_no)
    assert (case.custodian, case.pending_offer_to) == (COUNTY_ID, None)
    bench = clerk.get(accepted.headers["location"]).text
    assert 'data-testid="accept-button"' in bench  # now the county can accept it
    assert (
        bench.count("<li>") >= 2 and "衡东县政务服务中心（430424000000）" in bench
    )  # custody chain


def test_township_clerk_escalates_a_county_matter(
    published, township, actors, browser, k, stored_pdf, case_of
):
    case_no = k.file(
        township,
        actors["tclerk"],
        k.FOOD_LICENCE,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(5)],
    )
    tclerk = browser(township, "tclerk")
    queue = tclerk.get("/staff/queue").text
    assert case_no in queue and "须上报" in queue and 'data-testid="window-tabs"' not in queue
    bench = tclerk.get(f"/staff/cases/{case_no}").text
    assert 'data-testid="escalate-button"' in bench and 'data-testid="accept-button"' not in bench
    answer = post_form(
        tclerk, f"/staff/cases/{case_no}/escalate", {"to": ""}, page=f"/staff/cases/{case_no}"
    )
    assert answer.status_code == 303
    case = case_of(case_no)
    assert (case.custodian, case.pending_offer_to) == (TOWNSHIP_ID, COUNTY_ID)
    assert 'data-testid="pending-offer"' in tclerk.get(f"/staff/cases/{case_no}").text
    # Its own offer is not in its inbox; the county's it is.
    assert case_no not in tclerk.get("/staff/inbox").text
    assert case_no in browser(published, "clerk").get("/staff/inbox").text
