"""The sample catalogue holds valid, realistic matters (the synthetic generator:
tests/simulation/test_synthetic.py)."""

import json
from collections import Counter
from pathlib import Path

import pytest

from common.catalog.schema import CaseType, DeliveryMethod, HandlingLevel, IntegratedWindow, Matter

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "common" / "catalog" / "data" / "sample_catalogue.json"

# GB 32100-2015, computed here independently of any project code.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def gb32100_valid(code: str) -> bool:
    if len(code) != 18 or any(c not in CHARSET for c in code):
        return False
    total = sum(CHARSET.index(c) * w for c, w in zip(code[:17], WEIGHTS, strict=False))
    return code[17] == CHARSET[(31 - total % 31) % 31]


@pytest.fixture(scope="module")
def sample() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def matters(sample) -> list[Matter]:
    return [Matter.model_validate(m) for m in sample["matters"]]


def test_sample_is_marked_as_sample(sample):
    assert sample["sample"] is True
    assert "示例" in sample["note"] and "不是" in sample["note"]


def test_every_sample_matter_validates_and_there_are_enough(sample, matters):
    assert len(matters) == len(sample["matters"]) >= 100


def test_implementation_codes_unique(matters):
    codes = [m.implementation_code for m in matters]
    assert len(codes) == len(set(codes))


def test_every_uscc_passes_gb32100(matters):
    bad = {m.implementing_body_code for m in matters if not gb32100_valid(m.implementing_body_code)}
    assert not bad
    assert all(m.implementation_code[:18] == m.implementing_body_code for m in matters)


def test_letter_led_usccs_present(matters):
    assert any(m.implementing_body_code[0].isalpha() for m in matters)


def test_all_categories_occur(matters):
    assert {m.window for m in matters} == set(IntegratedWindow)
    assert {m.case_type for m in matters} == set(CaseType)
    assert {m.delivery_method for m in matters} == set(DeliveryMethod)
    assert {m.handling_level for m in matters} == set(HandlingLevel)


def test_handling_level_matches_exercise_level(matters):
    expected = {"county": "4", "township": "5", "village": "6"}
    assert all(m.exercise_level.value == expected[m.handling_level.value] for m in matters)


def test_batches_reference_existing_codes_once(sample, matters):
    codes = {m.implementation_code for m in matters}
    batches = sample["batches"]
    assert len(batches) == 2
    seen = Counter(code for batch in batches for code in batch["codes"])
    assert set(seen) <= codes
    assert max(seen.values()) == 1
    assert 0 < len(codes - set(seen)) < len(codes) // 4  # some matters remain unpublished


def test_batched_matters_need_at_most_one_trip(sample, matters):
    by_code = {m.implementation_code: m for m in matters}
    for batch in sample["batches"]:
        assert all(by_code[c].at_most_one_trip for c in batch["codes"])


def test_a_material_can_be_replaced_by_a_licence_issued_in_the_catalogue(matters):
    issued = {m.result_licence_type for m in matters if m.result_licence_type}
    referenced = {x.licence_type for m in matters for x in m.materials if x.licence_type}
    assert issued & referenced
    assert referenced <= issued  # every 无证明 substitution resolves to a matter here


def test_at_most_one_trip_share_is_realistic(matters):
    share = sum(m.at_most_one_trip for m in matters) / len(matters)
    assert 0.75 <= share <= 0.95


def test_immediate_matters_have_zero_promised_days(matters):
    assert all(m.promised_limit_days == 0 for m in matters if m.case_type == CaseType.IMMEDIATE)
