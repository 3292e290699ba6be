"""The synthetic generator produces valid, realistic matters that never collide with the sample."""

import json
from pathlib import Path

import pytest

from common.catalog.schema import HandlingLevel, IntegratedWindow, Matter
from simulation.synthetic import generate_synthetic_catalogue, uscc_with_check

REPO = Path(__file__).resolve().parents[2]
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
def matters() -> list[Matter]:
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return [Matter.model_validate(m) for m in sample["matters"]]


def test_uscc_with_check_agrees_with_independent_check():
    code = uscc_with_check("11430424006813213")
    assert gb32100_valid(code)
    assert gb32100_valid(uscc_with_check("N2430424MFA182409"))
    with pytest.raises(ValueError):
        uscc_with_check("1143042400681321I")


def test_synthetic_catalogue_has_910_valid_unique_matters():
    raw = generate_synthetic_catalogue()
    matters = [Matter.model_validate(m) for m in raw]
    assert len(matters) == 910
    assert len({m.implementation_code for m in matters}) == 910
    assert len({m.name for m in matters}) == 910
    assert all(gb32100_valid(m.implementing_body_code) for m in matters)
    share = sum(m.at_most_one_trip for m in matters) / len(matters)
    assert 0.75 <= share <= 0.95
    assert {m.window for m in matters} == set(IntegratedWindow)
    assert {m.handling_level for m in matters} == set(HandlingLevel)


def test_synthetic_catalogue_is_deterministic_per_seed():
    assert generate_synthetic_catalogue(200, seed=7) == generate_synthetic_catalogue(200, seed=7)
    assert generate_synthetic_catalogue(200, seed=7) != generate_synthetic_catalogue(200, seed=8)


def test_synthetic_codes_do_not_collide_with_the_sample(matters):
    sample_codes = {m.implementation_code for m in matters}
    synthetic_codes = {m["implementation_code"] for m in generate_synthetic_catalogue()}
    assert not sample_codes & synthetic_codes
