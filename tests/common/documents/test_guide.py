"""办事指南: every element the catalogue holds for the matter, from the published catalogue."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.catalog.models import PublishedMatter
from common.catalog.service import get_published, withdraw_matter
from common.db import transaction
from common.documents import service_guide
from common.errors import NotFound
from common.users.roles import Actor


def test_the_guide_holds_every_element_of_the_matter(published, k, pdf):
    with transaction(published.engine) as session:
        matter = get_published(session, k.FOOD_LICENCE).to_matter()
    text = pdf.text(pdf.render(published, service_guide, k.FOOD_LICENCE), "guide")
    expected = [
        "办事指南",
        matter.name,
        matter.basic_code,
        matter.implementation_code,
        "行政许可",
        "县级",
        "承诺件",
        "自然人、企业法人",
        "商事登记窗口",
        matter.legal_basis,
        matter.implementing_body,
        matter.implementing_body_code,
        matter.conditions,
        matter.procedure,
        "法定办结时限：20个工作日",
        "承诺办结时限：5个工作日",
        "不收费",
        matter.result_name,
        matter.place,
        matter.hours,
        matter.consult_phone,
        "投诉电话：12345",
        "窗口受理快递送达",
        "快递送达：是",
        "告知承诺制：适用",
        "1次，属于“最多跑一次”事项",
        "可用电子证照（YYZZ）代替",
    ]
    expected += [m.name for m in matter.materials] + [m.issuer for m in matter.materials]
    for item in expected:
        assert "".join(item.split()) in text, item


def test_a_guide_with_fees_and_a_zero_visit_matter(published, k, pdf):
    with transaction(published.engine) as session:
        rows = list(session.execute(select(PublishedMatter)).scalars())
        with_fees = next((r.implementation_code for r in rows if r.to_matter().fees), None)
        zero = next(r.implementation_code for r in rows if r.required_visits == 0)
    text = pdf.text(pdf.render(published, service_guide, zero), "zero")
    assert "0次，属于“最多跑一次”事项" in text
    assert with_fees is not None, "the sample catalogue publishes matters with fees (不动产登记)"
    with transaction(published.engine) as session:
        fee = get_published(session, with_fees).to_matter().fees[0]
    fees = pdf.text(pdf.render(published, service_guide, with_fees), "fees")
    for item in (fee.item, fee.amount, fee.basis, "收费项目", "金额（元）"):
        assert "".join(item.split()) in fees, item


def test_unknown_and_withdrawn_matters_have_no_guide(published, k, pdf):
    with pytest.raises(NotFound) as unknown:
        pdf.render(published, service_guide, "11430424MB1C5953154000119999001")
    assert unknown.value.field == "implementation_code"
    with transaction(published.engine) as session:
        withdraw_matter(
            session, published, Actor.node_system(published.node_id), k.SOLE_TRADER, "合并办理"
        )
    with pytest.raises(NotFound) as withdrawn:
        pdf.render(published, service_guide, k.SOLE_TRADER)
    assert withdrawn.value.code == "document.matter_withdrawn"
