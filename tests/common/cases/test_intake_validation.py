"""The rules of a filing's own input (issue 13, item 14): one definition of each, asked
all at once by the filing form and one at a time by ``file_case``; a phone number is a
mainland mobile or a landline with its area code, in the API's schema too."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from common.cases.intake.validation import checked_applicant, filing_problems
from common.cases.models import Case
from common.catalog.service import published_matter
from common.db import transaction
from common.errors import DomainError
from common.identifiers import IdentifierError
from common.identifiers.phone import validate_phone

TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("13800000000", "13800000000"),
        ("19912345678", "19912345678"),
        ("138 0000 0000", "13800000000"),
        ("+86 138-0000-0000", "13800000000"),
        ("１３８００００００００", "13800000000"),  # full-width, as Chinese input methods type
        ("0734-5221234", "0734-5221234"),
        ("(0734)5221234", "0734-5221234"),
        ("07345221234", "0734-5221234"),
        ("010-62345678", "010-62345678"),
    ],
)
def test_phones_accepted_and_normalised(typed: str, normalised: str) -> None:
    assert validate_phone(typed) == normalised


@pytest.mark.parametrize(
    "typed",
    ["1380000", "138000000001", "12800000000", "5221234", "0734-123", "tel-abcd"],
)
def test_phones_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(IdentifierError) as refused:
        validate_phone(typed)
    assert refused.value.message.startswith("联系电话")


def test_every_problem_of_the_applicant_at_once(k) -> None:
    wrong_id = k.PERSON_ID[:-1] + ("0" if k.PERSON_ID[-1] != "0" else "1")
    _, problems = checked_applicant(
        {"kind": "person", "name": " ", "id_number": wrong_id, "phone": "1380000"}, today=TODAY
    )
    assert [(p.code, p.field) for p in problems] == [
        ("case.field_required", "applicant.name"),
        ("id.checksum", "applicant.id_number"),
        ("case.phone_invalid", "applicant.phone"),
    ]
    good, none = checked_applicant(k.applicant(phone="0734 5221234"), today=TODAY)
    assert none == [] and good["phone"] == "0734-5221234" and good["id_number"] == k.PERSON_ID


def test_filing_problems_add_the_commitment_choice(published, k) -> None:
    with transaction(published.engine) as session:
        no_commitment = published_matter(session, k.SOLE_TRADER)[0]
    problems = filing_problems(
        no_commitment, applicant=k.applicant(phone="1380000"), commitment=True, today=TODAY
    )
    assert [p.field for p in problems] == ["applicant.phone", "commitment"]


def test_the_action_refuses_a_short_phone_itself(published, actors, k) -> None:
    """``file_case`` asks the rule again, whoever calls it (the last word)."""
    with pytest.raises(DomainError) as refused:
        k.file(published, actors["clerk"], applicant=k.applicant(phone="1380000"))
    assert (refused.value.code, refused.value.field) == ("case.phone_invalid", "applicant.phone")
    assert "联系电话" in refused.value.message
    case_no = k.file(published, actors["clerk"], applicant=k.applicant(phone="0734-5221234"))
    assert k.case(published, case_no).applicant_phone == "0734-5221234"


def test_the_api_refuses_a_short_phone_and_accepts_mobiles_and_landlines(
    published, staff_client, k
) -> None:
    clerk = staff_client(published, "clerk")

    def filed(phone: str):
        body = {"matter_code": k.FOOD_LICENCE, "applicant": k.applicant(phone=phone)}
        return clerk.post("/api/v1/cases", json=body)

    short = filed("1380000")
    assert short.status_code == 422
    assert short.json()["field"] == "applicant.phone"
    assert "联系电话：手机号码应为11位" in short.json()["message"]
    with transaction(published.engine) as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar() == 0
    for phone in ("13800000000", "0734-5221234"):
        answer = filed(phone)
        assert answer.status_code == 201, answer.text
        assert answer.json()["applicant"]["phone"] == phone
    # The schema says what a phone number is.
    phone = clerk.app.openapi()["components"]["schemas"]["ApplicantIn"]["properties"]["phone"]
    assert "0734-5221234" in phone["description"]
