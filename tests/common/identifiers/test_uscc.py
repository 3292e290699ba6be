"""Unified social credit codes, including letter-led ones stdnum rejects."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from common.identifiers import (
    IdentifierError,
    uscc_authority,
    uscc_check_char,
    uscc_division_code,
    validate_uscc,
)

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_char(first17: str) -> str:
    """GB 32100 formula, written out independently of the code under test."""
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=False))
    return CHARSET[(31 - total % 31) % 31]


def make(first17: str) -> str:
    return first17 + check_char(first17)


def code_of(value) -> str:
    with pytest.raises(IdentifierError) as info:
        validate_uscc(value)
    return info.value.code


@pytest.mark.parametrize("code", ["91110000600037341L", "11430000006122244L", "11100000000013338W"])
def test_published_codes(code):
    assert validate_uscc(code) == code


@pytest.mark.parametrize(
    "first17", ["N2430424MA4L00001", "N1430424MF0000012", "A1100000MB0000003", "Y1430424MA4L12345"]
)
def test_letter_led_codes_are_valid_and_stdnum_wrongly_rejects_them(first17):
    code = make(first17)
    assert validate_uscc(code) == code
    # The reason we own this validator; if this starts failing stdnum was fixed.
    assert not stdnum_uscc.is_valid(code)


def test_check_char_matches_formula_and_hengdong_sample():
    assert uscc_check_char("91430424MA4PABCDE") == check_char("91430424MA4PABCDE")
    sample = make("12430424006122244")
    assert uscc_division_code(sample) == "430424"
    assert uscc_authority(sample) == "机构编制"
    assert uscc_authority(make("N2430424MA4L00001")) == "农业"


def test_normalises_case_and_whitespace():
    assert validate_uscc(" 91110000600037341l ") == "91110000600037341L"


@pytest.mark.parametrize("value", ["", None, "  "])
def test_missing(value):
    assert code_of(value) == "uscc.required"


@pytest.mark.parametrize("value", ["9111000060003734", "91110000600037341LL"])
def test_length(value):
    assert code_of(value) == "uscc.length"


@pytest.mark.parametrize("bad", "IOSVZ-")
def test_excluded_letters(bad):
    with pytest.raises(IdentifierError) as info:
        validate_uscc("91110000" + bad + "00037341L")
    assert info.value.code == "uscc.charset"
    assert "第9位" in info.value.message


@pytest.mark.parametrize("authority", "0BCDEFGHJKLMPQRTUWX")
def test_unknown_registering_authority(authority):
    assert code_of(make(authority + "1430424MA4L00001")) == "uscc.authority"


def test_division_code_must_be_digits():
    assert code_of(make("914304A4MA4L00001")) == "uscc.division"


def test_checksum():
    assert code_of("91110000600037341M") == "uscc.checksum"


def test_check_char_rejects_bad_input():
    for bad in ["9111000060003734", "9111000060003734I"]:
        with pytest.raises(IdentifierError):
            uscc_check_char(bad)


authorities = st.sampled_from("123456789ANY")
charset = st.sampled_from(CHARSET)


@given(
    authority=authorities,
    kind=charset,
    division=st.from_regex(r"[0-9]{6}", fullmatch=True),
    org=st.lists(charset, min_size=9, max_size=9),
    position=st.integers(0, 17),
    replacement=charset,
)
def test_valid_codes_pass_and_every_single_substitution_fails(
    authority, kind, division, org, position, replacement
):
    code = make(authority + kind + division + "".join(org))
    assert validate_uscc(code) == code
    if code[position] != replacement:
        # Weights are powers of 3 mod 31 (a prime): one changed character always shows.
        with pytest.raises(IdentifierError):
            validate_uscc(code[:position] + replacement + code[position + 1 :])
