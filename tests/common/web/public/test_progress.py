"""Case progress for residents (issue 5, item 5): case number + last four characters of
the identity number; one neutral answer for every wrong pair; nothing personal shown."""

from __future__ import annotations

from fastapi.testclient import TestClient
from web_testing import post_form

RESIDENT_ID = "430424199001011232"


def test_the_form_has_a_title_and_labelled_fields(browser: TestClient) -> None:
    page = browser.get("/progress")
    assert page.status_code == 200 and "<title>办件进度查询" in page.text
    assert '<label for="f-case_no">' in page.text and '<label for="f-id_last4">' in page.text
    assert 'name="csrf_token"' in page.text


def test_the_right_pair_shows_the_state_steps_and_deadline(
    browser: TestClient, filed_case: str
) -> None:
    answer = post_form(browser, "/progress", {"case_no": filed_case, "id_last4": RESIDENT_ID[-4:]})
    assert answer.status_code == 200
    assert 'data-testid="progress-result"' in answer.text
    assert 'data-testid="progress-state">已申请<' in answer.text
    assert "食品经营许可（新办）" in answer.text and "申请已提交" in answer.text
    assert 'data-testid="progress-current-step"' in answer.text and "受理后计算" in answer.text
    # Nothing personal: not the name, not the number (the answer carries none).
    assert "张三丰" not in answer.text and RESIDENT_ID not in answer.text


def test_wrong_digits_and_unknown_numbers_get_the_same_neutral_answer(
    browser: TestClient, filed_case: str
) -> None:
    wrong = post_form(browser, "/progress", {"case_no": filed_case, "id_last4": "0000"})
    unknown = post_form(
        browser, "/progress", {"case_no": filed_case[:-4] + "9999", "id_last4": "0000"}
    )
    assert wrong.status_code == unknown.status_code == 404

    def message(html: str) -> str:
        return html.split('data-testid="progress-not-found">', 1)[1].split("<", 1)[0]

    assert (
        message(wrong.text)
        == message(unknown.text)
        == "没有找到该办件，请核对办件编号和证件号码后四位"
    )
    assert 'data-testid="progress-result"' not in wrong.text
    assert 'aria-invalid="true"' not in wrong.text  # not pinned on either field


def test_malformed_input_is_refused_next_to_the_field(browser: TestClient, filed_case: str) -> None:
    answer = post_form(browser, "/progress", {"case_no": filed_case, "id_last4": "12"})
    assert answer.status_code == 400
    assert 'id="d-id_last4"' in answer.text and "最后四位" in answer.text
    answer = post_form(browser, "/progress", {"case_no": "", "id_last4": "1232"})
    assert answer.status_code == 400 and 'id="d-case_no"' in answer.text


def test_a_post_without_the_form_token_is_refused(browser: TestClient, filed_case: str) -> None:
    answer = browser.post("/progress", data={"case_no": filed_case, "id_last4": RESIDENT_ID[-4:]})
    assert answer.status_code == 403 and "表单已过期" in answer.text
