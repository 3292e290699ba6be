"""Resident identity numbers: check character, birth date, sex, and stdnum's gaps."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from common.identifiers import (
    IdentifierError,
    Sex,
    resident_id_birth_date,
    resident_id_sex,
    validate_resident_id,
)

TODAY = date(2026, 3, 1)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_char(first17: str) -> str:
    """GB 11643 formula, written out independently of the code under test."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=False)) % 11]


def make_id(address: str, born: str, serial: str) -> str:
    body = address + born + serial
    return body + check_char(body)


def code_of(value: str, **kwargs) -> str:
    with pytest.raises(IdentifierError) as info:
        validate_resident_id(value, **kwargs)
    return info.value.code


def test_standard_example_with_x_check_character():
    assert check_char("11010519491231002") == "X"
    assert validate_resident_id("11010519491231002X") == "11010519491231002X"


def test_normalises_lower_x_whitespace_and_full_width_digits():
    assert validate_resident_id(" 11010519491231002x\n") == "11010519491231002X"
    assert validate_resident_id("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"


def test_hengdong_resident_born_before_1983_is_valid_though_stdnum_rejects_it():
    # 430424 (衡东县) exists since 1983; stdnum checks the code against the birth year.
    number = make_id("430424", "19500101", "123")
    assert validate_resident_id(number, today=TODAY) == number
    assert not ric.is_valid(number)


def test_address_code_unknown_to_stdnum_is_not_our_business():
    number = make_id("439999", "19900101", "123")
    assert validate_resident_id(number, today=TODAY) == number


@pytest.mark.parametrize("value", ["", "   ", None])
def test_missing(value):
    assert code_of(value) == "id.required"


@pytest.mark.parametrize("value", ["1101051949123100", "11010519491231002X1", "110105491231002"])
def test_wrong_length(value):
    assert code_of(value) == "id.length"


def test_fifteen_digit_first_generation_number_says_so():
    with pytest.raises(IdentifierError) as info:
        validate_resident_id("110105491231002")
    assert "15位" in info.value.message


@pytest.mark.parametrize(
    "value",
    ["1101051949123100XX", "A1010519491231002X", "11010519491231002Y", "110105 9491231002X"],
)
def test_bad_format(value):
    assert code_of(value) == "id.format"


@pytest.mark.parametrize("born", ["19490230", "19491301", "19490000", "18000101"])
def test_impossible_birth_date_with_correct_check_character(born):
    assert code_of(make_id("110105", born, "002"), today=TODAY) == "id.birth_date"


def test_birth_date_after_today_is_rejected_though_stdnum_accepts_it():
    number = make_id("430424", "20260302", "001")
    assert code_of(number, today=TODAY) == "id.birth_date"
    assert ric.is_valid(number)
    born_today = make_id("430424", "20260301", "001")
    assert validate_resident_id(born_today, today=TODAY) == born_today


@pytest.mark.parametrize("wrong", "0123456789")
def test_wrong_check_character(wrong):
    assert code_of("11010519491231002" + wrong) == "id.checksum"


def test_error_is_a_value_error_with_chinese_message_and_no_value():
    with pytest.raises(ValueError) as info:
        validate_resident_id("110105194912310021")
    assert info.value.message == "身份证号码校验位错误，请核对是否输错"
    assert "110105194912310021" not in str(info.value)


def test_sex_and_birth_date():
    male = make_id("430424", "19900101", "123")
    female = make_id("430424", "19900101", "124")
    assert resident_id_sex(male) is Sex.MALE and Sex.MALE.label_zh == "男"
    assert resident_id_sex(female) == "female" and Sex.FEMALE.label_zh == "女"
    assert resident_id_birth_date(male) == date(1990, 1, 1)
    with pytest.raises(IdentifierError):
        resident_id_sex("11010519491231002")


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
digits = st.text("0123456789", min_size=1, max_size=1)


@given(
    address=st.from_regex(r"[1-8][0-9]{5}", fullmatch=True),
    born=birth_dates,
    serial=st.from_regex(r"[0-9]{3}", fullmatch=True),
)
def test_every_well_formed_number_is_valid(address, born, serial):
    number = make_id(address, born.strftime("%Y%m%d"), serial)
    assert validate_resident_id(number, today=TODAY) == number
    assert resident_id_sex(number) == (Sex.MALE if int(serial[-1]) % 2 else Sex.FEMALE)


@given(born=birth_dates, position=st.integers(0, 17), replacement=st.sampled_from("0123456789X"))
def test_any_single_character_change_is_rejected(born, position, replacement):
    number = make_id("430424", born.strftime("%Y%m%d"), "123")
    if number[position] == replacement or (replacement == "X" and position < 17):
        return
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(IdentifierError):
        validate_resident_id(changed, today=TODAY)
