"""Masking for display and for log records."""

import io
import logging

import pytest

from common.identifiers import (
    PersonalDataFilter,
    mask_identifier,
    mask_resident_id,
    mask_text,
    mask_uscc,
)

RESIDENT = "430424199001011232"
USCC = "12430424006122244Y"


def test_resident_id_keeps_first_and_last_four_and_length():
    assert mask_resident_id("430424199001011234") == "4304**********1234"
    assert len(mask_resident_id(RESIDENT)) == 18


def test_uscc():
    assert mask_uscc(USCC) == "1243**********244Y"


@pytest.mark.parametrize(
    "value, masked",
    [
        (RESIDENT, "4304**********1232"),
        ("11010519491231002x", "1101**********002x"),
        (USCC, "1243**********244Y"),
        ("13812345678", "13*******78"),  # a phone number: a quarter each side
        ("abc", "***"),
        ("", ""),
    ],
)
def test_mask_identifier_by_shape(value, masked):
    assert mask_identifier(value) == masked


def test_mask_text_finds_ids_inside_chinese_text_but_not_inside_longer_numbers():
    text = f"申请人{RESIDENT}代表{USCC}办理；流水号{RESIDENT}9不是身份证"
    assert mask_text(text) == (
        f"申请人4304**********1232代表1243**********244Y办理；流水号{RESIDENT}9不是身份证"
    )


@pytest.fixture
def log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    logger = logging.getLogger("tests.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_filter_masks_message_and_args_of_every_kind(log):
    logger, stream = log
    logger.info("accepted case for %s", RESIDENT)
    logger.info("int id %d", 430424199001011232)
    logger.info("mapping %(org)s", {"org": USCC})
    logger.info(f"inline {USCC.lower()}")
    output = stream.getvalue()
    assert RESIDENT not in output and USCC not in output and USCC.lower() not in output
    assert output.count("4304**********1232") == 2
    assert "1243**********244Y" in output


def test_filter_masks_tracebacks(log):
    logger, stream = log
    try:
        raise RuntimeError(f"lookup failed for {RESIDENT}")
    except RuntimeError:
        logger.exception("failed")
    output = stream.getvalue()
    assert "Traceback" in output and "4304**********1232" in output
    assert RESIDENT not in output


def test_filter_survives_a_broken_format_string(log):
    logger, stream = log
    logger.info("%d %d", RESIDENT)  # noqa: PLE1206 - broken on purpose
    output = stream.getvalue()
    assert RESIDENT not in output and "4304**********1232" in output
