"""Electronic licence identifiers and their ISO/IEC 7064 MOD 37,36 check character."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.identifiers import (
    IdentifierError,
    LicenceIdParts,
    make_licence_id,
    parse_licence_id,
    validate_licence_id,
)

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ISSUER = "11430000006122244L"
TYPE_CODE = "11100000000013338W011"


def mod_37_36(text: str) -> str:
    """ISO/IEC 7064 hybrid MOD 37,36 written out from the standard's recursion:
    p = 36; for each character s = (p + value) mod 36 (0 -> 36), p = 2s mod 37;
    the check character c makes (p + c) mod 36 == 1."""
    p = 36
    for char in text:
        s = (p + ALPHABET.index(char)) % 36 or 36
        p = (2 * s) % 37
    return ALPHABET[(1 - p) % 36]


def test_independent_mod_37_36_matches_the_iso_7064_example():
    assert mod_37_36("A12425GABC1234002") == "M"


# Identifiers as published by licence platforms (public sample code): they verify
# with the check over the fields after the root OID, which is what we implement.
@pytest.mark.parametrize(
    "published",
    [
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
        "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
    ],
)
def test_published_identifiers_validate(published):
    assert validate_licence_id(published) == published
    body = "".join(published.split(".")[5:-1])
    assert mod_37_36(body) == published[-1]


def test_make_and_parse_round_trip():
    value = make_licence_id(TYPE_CODE, ISSUER, "HD2026000001", version=2)
    body = TYPE_CODE + ISSUER + "HD2026000001" + "002"
    assert value == f"1.2.156.3005.2.{TYPE_CODE}.{ISSUER}.HD2026000001.002.{mod_37_36(body)}"
    assert parse_licence_id(value) == LicenceIdParts(
        TYPE_CODE, ISSUER, "HD2026000001", 2, mod_37_36(body)
    )
    assert str(parse_licence_id(value)) == value


def test_validate_normalises_case_and_whitespace():
    value = make_licence_id(TYPE_CODE, ISSUER, "HD1")
    assert validate_licence_id(f"  {value.lower()} ") == value


def test_letter_led_issuer_is_accepted():
    issuer = "N2430424MA4L00001A"
    assert parse_licence_id(make_licence_id(TYPE_CODE, issuer, "1")).issuer_uscc == issuer


def code_of(value: str) -> str:
    with pytest.raises(IdentifierError) as info:
        parse_licence_id(value)
    return info.value.code


def test_rejections_name_the_part():
    good = make_licence_id(TYPE_CODE, ISSUER, "HD1")
    root, rest = good[:14], good[15:]
    assert code_of("") == "licence.required"
    assert code_of("1.2.156.3005.1." + rest) == "licence.root"
    assert code_of(good + ".X") == "licence.format"
    assert code_of(good.replace(".HD1.", ".HD-1.")) == "licence.serial"
    assert code_of(good.replace(TYPE_CODE, "")) == "licence.type_code"
    assert code_of(good.replace(ISSUER, "11430000006122244M")) == "licence.issuer"
    assert code_of(good.replace(".001.", ".01.")) == "licence.version"
    assert code_of(good[:-1] + ("0" if good[-1] != "0" else "1")) == "licence.checksum"
    assert root == "1.2.156.3005.2"


def test_make_rejects_bad_arguments():
    with pytest.raises(IdentifierError, match=r"licence\.version"):
        make_licence_id(TYPE_CODE, ISSUER, "1", version=1000)
    with pytest.raises(IdentifierError, match=r"licence\.issuer"):
        make_licence_id(TYPE_CODE, "not-a-uscc", "1")
    with pytest.raises(IdentifierError, match=r"licence\.serial"):
        make_licence_id(TYPE_CODE, ISSUER, "")


alnum = st.text(ALPHABET, min_size=1, max_size=30)


@given(type_code=alnum, serial=alnum, version=st.integers(1, 999), data=st.data())
def test_check_character_and_single_substitutions(type_code, serial, version, data):
    value = make_licence_id(type_code, ISSUER, serial, version)
    assert value[-1] == mod_37_36(type_code + ISSUER + serial + f"{version:03d}")
    # MOD 37,36 detects every single substitution in the serial.
    position = data.draw(st.integers(0, len(serial) - 1))
    replacement = data.draw(st.sampled_from(ALPHABET).filter(lambda c: c != serial[position]))
    changed_serial = serial[:position] + replacement + serial[position + 1 :]
    forged = value.replace(f".{serial}.{version:03d}.", f".{changed_serial}.{version:03d}.")
    with pytest.raises(IdentifierError, match=r"licence\.checksum"):
        parse_licence_id(forged)
