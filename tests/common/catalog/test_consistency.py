"""A matter that contradicts itself is refused at import (sheet, row, column) and at
publish (matter and column), and nothing is half-written. Matters published before the
rules existed still read: the rules are not part of the ``Matter`` model."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from common.catalog import service
from common.catalog.consistency import (
    CatalogueInconsistentError,
    inconsistencies,
)
from common.catalog.io import CatalogueImportError, read_catalogue, write_catalogue
from common.catalog.models import CatalogueBatch, MatterDraft, PublishedMatter, matter_data_json
from common.catalog.projection import BATCH_PUBLISHED, CATALOGUE_SUBJECT
from common.catalog.sample import load_sample_matters
from common.catalog.schema import Matter
from common.db import transaction
from common.identifiers.uscc import uscc_check_char
from common.node import ThisNode
from common.users.roles import Actor

BODY_FIRST17 = "11430424MB1A2B3C4"  # the body of this directory's conftest (make_matter)
BODY_CODE = BODY_FIRST17 + uscc_check_char(BODY_FIRST17)
BAD_BODY = BODY_CODE[:17] + ("0" if BODY_CODE[17] != "0" else "1")  # wrong check character
LETTER_LED = "N2430424MFA182409L"  # a village collective: valid, led by a letter


def _with_body(serial: int, body: str) -> dict[str, Any]:
    """Overrides giving a matter this implementing body (codes kept consistent)."""
    basic = f"4301{serial + 90000:05d}000"
    return {
        "basic_code": basic,
        "implementing_body_code": body,
        "implementation_code": f"{body}4{basic}",
    }


def _with_region(serial: int, region: str) -> dict[str, Any]:
    """Overrides giving a matter these region digits in its basic code."""
    basic = f"{region}01{serial + 90000:05d}000"
    return {"basic_code": basic, "implementation_code": f"{BODY_CODE}4{basic}"}


# (rule, overrides of a valid matter, column header at import, field, words of the message)
BROKEN: list[tuple[str, dict[str, Any], str, str, str]] = [
    (
        "zero_visit_visits",
        {"delivery_method": "zero_visit", "required_visits": 2},
        "到现场次数",
        "required_visits",
        "办理方式为“零上门”，到现场次数应为0，填写的是2",
    ),
    (
        "window_courier_courier",
        {"delivery_method": "window_courier", "courier": False},
        "快递送达",
        "courier",
        "办理方式为“窗口受理快递送达”，快递送达应为“是”",
    ),
    (
        "online_precheck_online",
        {"delivery_method": "online_precheck", "online": False},
        "网上办理",
        "online",
        "办理方式为“网上预审”，网上办理应为“是”",
    ),
    (
        "body_code_uscc",
        _with_body(4, BAD_BODY),
        "实施主体编码",
        "implementing_body_code",
        "不是有效的统一社会信用代码：统一社会信用代码校验位错误",
    ),
    (
        "basic_code_region",
        _with_region(5, "44"),
        "基本编码",
        "basic_code",
        "基本编码第1-2位（区划代码）应为00（国家设定的事项）或实施主体所在省的代码43，填写的是44",
    ),
]
IDS = [rule for rule, *_ in BROKEN]


def test_each_rule_names_its_field_and_valid_matters_pass(make_matter):
    # Each broken matter is well formed field by field (``Matter`` accepts it).
    for number, (rule, overrides, _, field, words) in enumerate(BROKEN, start=1):
        found = inconsistencies(make_matter(number, **overrides))
        assert [(i.rule, i.field) for i in found] == [(rule, field)]
        assert words in found[0].message
    assert inconsistencies(make_matter(1)) == []
    assert inconsistencies(make_matter(2, **_with_region(2, "00"))) == []  # national
    assert inconsistencies(make_matter(3, **_with_body(3, LETTER_LED))) == []
    assert uscc_check_char(LETTER_LED[:17]) == LETTER_LED[17]


def test_the_sample_catalogue_is_consistent():
    matters, _ = load_sample_matters()  # read_catalogue applies the rules
    assert len(matters) == 170
    assert [m.implementation_code for m in matters if inconsistencies(m)] == []


# -- at import: sheet, row, column --------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
@pytest.mark.parametrize(("rule", "overrides", "column", "field", "words"), BROKEN, ids=IDS)
def test_import_refuses_an_inconsistent_row_naming_row_and_column(
    make_matter, fmt, rule, overrides, column, field, words
):
    good, bad = make_matter(10), make_matter(11, **overrides)
    with pytest.raises(CatalogueImportError) as caught:
        read_catalogue(write_catalogue([good, bad], fmt), fmt)
    problems = [(p.sheet, p.row, p.column, p.message_zh) for p in caught.value.problems]
    sheet, row, where = {
        "xlsx": ("事项", 3, column),  # header row 1, the bad matter on row 3
        "csv": ("CSV", 3, column),
        "json": ("matters", 2, field),  # second object; the column is the field path
    }[fmt]
    assert len(problems) == 1 and problems[0][:3] == (sheet, row, where)
    assert words in problems[0][3]
    assert caught.value.status_code == 422


def test_import_drafts_refuses_inconsistent_matters_by_matter_and_column(
    root_node: ThisNode, admin: Actor, make_matter
):
    good, bad = make_matter(1), make_matter(2, **BROKEN[0][1])
    with (
        transaction(root_node.engine) as session,
        pytest.raises(CatalogueInconsistentError) as caught,
    ):
        service.import_drafts(session, root_node, admin, [good, bad])
    assert caught.value.field == "implementation_code"
    assert f"事项{bad.implementation_code}（{bad.name}）的“到现场次数”" in caught.value.message
    with transaction(root_node.engine) as session:
        assert session.execute(select(func.count()).select_from(MatterDraft)).scalar_one() == 0


# -- at publish: matter and column, nothing written ---------------------------------


def _old_draft(node: ThisNode, matter: Matter) -> None:
    """A draft stored before the rules existed (import_drafts would now refuse it)."""
    with transaction(node.engine) as session:
        session.add(
            MatterDraft(
                implementation_code=matter.implementation_code,
                basic_code=matter.basic_code,
                name=matter.name,
                window=matter.window.value,
                data=matter_data_json(matter.model_dump(mode="json")),
                imported_at=datetime.now(UTC),
                updated_by="admin",
            )
        )


def _written(node: ThisNode) -> tuple[int, int, int]:
    with transaction(node.engine) as session:
        return (
            service.catalogue_version(session),
            session.execute(select(func.count()).select_from(CatalogueBatch)).scalar_one(),
            session.execute(select(func.count()).select_from(PublishedMatter)).scalar_one(),
        )


@pytest.mark.parametrize(("rule", "overrides", "column", "field", "words"), BROKEN, ids=IDS)
def test_publish_refuses_an_inconsistent_draft_and_writes_nothing(
    root_node: ThisNode, admin: Actor, make_matter, rule, overrides, column, field, words
):
    good, bad = make_matter(10), make_matter(11, **overrides)
    for matter in (good, bad):
        _old_draft(root_node, matter)
    with (
        transaction(root_node.engine) as session,
        pytest.raises(CatalogueInconsistentError) as caught,
    ):
        service.publish_batch(
            session,
            root_node,
            admin,
            name="第一批",
            published_on=date(2018, 7, 24),
            codes=[good.implementation_code, bad.implementation_code],
        )
    error = caught.value
    assert (error.code, error.field, error.status_code) == (
        "catalogue.matter_inconsistent",
        "codes",
        422,
    )
    assert f"事项{bad.implementation_code}（{bad.name}）的“{column}”" in error.message
    assert words in error.message and good.implementation_code not in error.message
    assert [
        (p["implementation_code"], p["field"], p["rule"]) for p in error.as_dict()["problems"]
    ] == [(bad.implementation_code, field, rule)]
    assert _written(root_node) == (0, 0, 0)
    with transaction(root_node.engine) as session:  # the good one alone still publishes
        service.publish_batch(
            session,
            root_node,
            admin,
            name="第一批",
            published_on=date(2018, 7, 24),
            codes=[good.implementation_code],
        )
    assert _written(root_node) == (1, 1, 1)


def test_a_matter_published_before_the_rules_still_reads(root_node: ThisNode, make_matter):
    """Signed history is not judged again: the projection applies it and filing reads it."""
    bad = make_matter(1, **BROKEN[0][1])
    body = {
        "batch_no": 1,
        "name": "第一批",
        "published_on": "2018-07-24",
        "matters": [json.loads(matter_data_json(bad.model_dump(mode="json")))],
    }
    with transaction(root_node.engine) as session:
        root_node.append(session, CATALOGUE_SUBJECT, BATCH_PUBLISHED, body)
    with transaction(root_node.engine) as session:
        matter, withdrawn = service.published_matter(session, bad.implementation_code)
    assert (matter, withdrawn) == (bad, False)
