"""The face of a printed licence follows its type (common.documents.licence_fields): a
营业执照 prints the enterprise's USCC in full, a person's identity number stays masked
even where it passes the USCC checksum, and a type not in the table prints the default
rows. Each licence is issued through the real flow: filed, accepted, agreed, approved."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from common.cases.intake import service as intake
from common.cases.models import CaseTask
from common.cases.review import service as review
from common.catalog.service import get_published
from common.db import transaction
from common.documents import licence_document
from common.documents.licence_fields import DEFAULT_FACE, FACES, HOLDER_IDENTIFIER
from common.identifiers import mask_identifier, validate_resident_id, validate_uscc
from common.node import ThisNode
from common.users.roles import Actor

COOPERATIVE = "11430424MB1C5953154000119004001"  # 农民专业合作社设立登记: YYZZ, 即办件
SOCIAL_SECURITY_CARD = "1243042444815032274002007003001"  # 社会保障卡申领: SBK, 即办件
COOPERATIVE_USCC = "93430424MA4L3C8K2N"  # 9 market regulation, 3 farmers' cooperative
COOPERATIVE_NAME = "衡东县洣水果蔬种植专业合作社"
FOOD_COMPANY_USCC = "91430424MA4L7R2N0L"
FOOD_COMPANY_NAME = "衡东县湘衡食品有限公司"
# A resident identity number that also passes the USCC checksum: a person's all the same.
USCC_SHAPED_PERSON_ID = "43042419850612123X"


def issued_licence(
    node: ThisNode,
    clerk: Actor,
    decider: Actor,
    matter: str,
    applicant: dict[str, Any],
    k: SimpleNamespace,
    sha: str,
) -> str:
    """File with every mandatory material, accept, agree to every task, approve: the licence id."""
    with transaction(node.engine) as session:
        specs = get_published(session, matter).to_matter().materials
    case_no = k.file(
        node,
        clerk,
        matter,
        applicant=applicant,
        materials=[{"position": i, "blob_sha256": sha} for i, m in enumerate(specs) if m.mandatory],
    )
    k.do(node, intake.accept_case, clerk, case_no)
    with transaction(node.engine) as session:
        tasks = session.execute(select(CaseTask.task_id).where(CaseTask.case_no == case_no))
        task_ids = list(tasks.scalars())
    for task_id in task_ids:
        k.do(node, review.record_opinion, decider, case_no, task_id, "agree", "同意")
    return k.do(node, review.decide_case, decider, case_no, "approved", None).body["licence_id"]


def issued_on(node: ThisNode, licence_id: str) -> str:
    from common.licences.models import Licence

    with transaction(node.engine) as session:
        licence = session.get(Licence, licence_id)
        assert licence is not None
        day = json.loads(licence.data)["decided_on"]
    year, month, day_of_month = (int(part) for part in day.split("-"))
    return f"{year}年{month}月{day_of_month}日"


def printed(node: ThisNode, pdf: SimpleNamespace, licence_id: str, name: str) -> str:
    text: str = pdf.text(pdf.render(node, licence_document, licence_id), name)
    assert "第2页" not in text, "the licence no longer fits one page"
    return text


def face(*rows: tuple[str, str]) -> str:
    """The rows as pdftotext reads them, whitespace removed: label, value, label, value..."""
    return "".join(label + value for label, value in rows).replace(" ", "")


def test_a_business_licence_prints_the_uscc_in_full_and_its_own_fields(
    published: ThisNode, actors: dict[str, Actor], k: SimpleNamespace, stored_pdf: str, pdf: Any
) -> None:
    applicant = k.applicant("enterprise", COOPERATIVE_USCC, COOPERATIVE_NAME)
    clerk = actors["clerk"]
    licence_id = issued_licence(published, clerk, clerk, COOPERATIVE, applicant, k, stored_pdf)
    text = printed(published, pdf, licence_id, "yyzz")

    assert "营业执照" in text
    assert (
        face(
            ("统一社会信用代码", COOPERATIVE_USCC),
            ("名称", COOPERATIVE_NAME),
            ("登记机关", k.MARKET_DEPT),
        )
        in text
    )
    assert f"{k.MARKET_DEPT}（印章）{issued_on(published, licence_id)}" in text  # seal and date
    assert mask_identifier(COOPERATIVE_USCC) not in text
    # The default rows are not the face of a 营业执照.
    for label in ("持证主体", "主体类型", "发证日期", "有效期限"):
        assert label not in text, label
    # The electronic licence's own particulars follow the face.
    assert "电子证照信息" in text and licence_id in text and "YYZZ" in text


def test_a_food_licence_of_an_enterprise_prints_its_uscc_in_full(
    published: ThisNode, actors: dict[str, Actor], k: SimpleNamespace, stored_pdf: str, pdf: Any
) -> None:
    applicant = k.applicant("enterprise", FOOD_COMPANY_USCC, FOOD_COMPANY_NAME)
    licence_id = issued_licence(
        published, actors["clerk"], actors["reviewer"], k.FOOD_LICENCE, applicant, k, stored_pdf
    )
    text = printed(published, pdf, licence_id, "spjyxkz")
    assert (
        face(
            ("经营者名称", FOOD_COMPANY_NAME),
            ("统一社会信用代码", FOOD_COMPANY_USCC),
        )
        in text
    )
    assert "有效期至" in text and face(("发证机关", k.MARKET_DEPT)) in text
    assert mask_identifier(FOOD_COMPANY_USCC) not in text


def test_a_person_holder_shows_the_masked_identity_number_never_the_whole(
    published: ThisNode, actors: dict[str, Actor], k: SimpleNamespace, stored_pdf: str, pdf: Any
) -> None:
    validate_uscc(USCC_SHAPED_PERSON_ID)  # the trap: a valid USCC by shape and checksum
    validate_resident_id(USCC_SHAPED_PERSON_ID)
    applicant = k.applicant("person", USCC_SHAPED_PERSON_ID, "李四")
    clerk = actors["clerk"]
    licence_id = issued_licence(published, clerk, clerk, k.SOLE_TRADER, applicant, k, stored_pdf)
    text = printed(published, pdf, licence_id, "gtgshyyzz")

    assert (
        face(
            ("证件号码", mask_identifier(USCC_SHAPED_PERSON_ID)),
            ("类型", "个体工商户"),
            ("经营者", "李四"),
            ("登记机关", k.MARKET_DEPT),
        )
        in text
    )
    assert USCC_SHAPED_PERSON_ID not in text
    assert "统一社会信用代码" not in text


def test_a_type_not_in_the_table_prints_the_default_fields(
    published: ThisNode, actors: dict[str, Actor], k: SimpleNamespace, stored_pdf: str, pdf: Any
) -> None:
    assert "SBK" not in FACES
    clerk = actors["clerk"]
    licence_id = issued_licence(
        published, clerk, clerk, SOCIAL_SECURITY_CARD, k.applicant(), k, stored_pdf
    )
    text = printed(published, pdf, licence_id, "sbk")
    with transaction(published.engine) as session:
        issuer = get_published(session, SOCIAL_SECURITY_CARD).to_matter().implementing_body
    day = issued_on(published, licence_id)
    assert (
        face(
            ("持证主体", "张三"),
            ("主体类型", "自然人"),
            ("证件号码", mask_identifier(k.PERSON_ID)),
            ("发证机关", issuer),
            ("发证日期", day),
            ("有效期限", f"{day} 至 长期"),
        )
        in text
    )
    assert k.PERSON_ID not in text


@pytest.mark.parametrize("type_code", sorted(FACES))
def test_every_face_in_the_table_prints_the_holder_identifier_and_names_what_it_lacks(
    type_code: str,
) -> None:
    entry = FACES[type_code]
    assert HOLDER_IDENTIFIER in entry.fields
    assert entry.not_held, f"{type_code}: say which real fields have no source"
    labels = {field.label for field in entry.fields}
    assert not labels & set(entry.not_held)


def test_the_table_lists_only_types_the_catalogue_issues() -> None:
    from pathlib import Path

    import common.catalog

    sample = Path(common.catalog.__file__).parent / "data" / "sample_catalogue.json"
    issued = {m["result_licence_type"] for m in json.loads(sample.read_text())["matters"]}
    assert set(FACES) <= issued
    assert HOLDER_IDENTIFIER in DEFAULT_FACE.fields
