"""Every logger a node runs (its own, uvicorn's, APScheduler's) writes through the one
masking handler: no identity number, phone number or token reaches the log, in the
message, its arguments, ``extra`` values or a formatted traceback."""

from __future__ import annotations

import io
import logging

import pytest

from common.logs import configure_logging, masked_handler

RESIDENT = "430424199001011232"
USCC = "91430424MA4L12345W"
MOBILE = "13812345678"
LANDLINE = "0734-5221234"
TOKEN = "ot_Zm9vYmFyYmF6cXV4LXRva2VuLXNlY3JldA"
COOKIE = "onetrip_session_430424=Qk9HVVMtU0VTU0lPTi1JRA"
SECRETS = (RESIDENT, USCC, MOBILE, "5221234", TOKEN[3:], "Qk9HVVMtU0VTU0lPTi1JRA")
LOGGERS = ("onetrip.sync", "uvicorn.error", "uvicorn.access", "apscheduler.scheduler", "x.other")


@pytest.fixture(params=[True, False], ids=["json", "plain"])
def log_text(request):
    configure_logging()  # what a node does at start: library loggers propagate to root
    stream = io.StringIO()
    handler = masked_handler(stream, json_lines=request.param)
    root = logging.getLogger()
    root.addHandler(handler)
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _log_everything(logger: logging.Logger) -> None:
    logger.warning("applicant %s of %s phoned from %s", RESIDENT, USCC, MOBILE)
    logger.warning(f"landline {LANDLINE}, token {TOKEN}, cookie: {COOKIE}")
    logger.warning("extra fields", extra={"peer": RESIDENT, "code": MOBILE})
    try:
        raise ValueError(f"bad applicant {RESIDENT} phone {MOBILE} token {TOKEN}")
    except ValueError:
        logger.exception("failed for %s", USCC)


@pytest.mark.parametrize("name", LOGGERS)
def test_no_personal_data_through_any_logger(log_text, name):
    logger = logging.getLogger(name)
    assert logger.propagate or name == "x.other"
    _log_everything(logger)
    text = log_text.getvalue()
    assert "ValueError" in text and "Traceback" in text  # the traceback is there, masked
    assert "4304**********1232" in text and "138****5678" in text and "ot_***" in text
    for secret in SECRETS:
        assert secret not in text, f"{secret} leaked through {name}: {text}"


def test_library_loggers_have_no_handler_of_their_own():
    configure_logging()
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler"):
        assert logging.getLogger(name).handlers == [] and logging.getLogger(name).propagate


def test_case_numbers_and_dates_are_not_taken_for_phone_numbers():
    from common.identifiers.masking import mask_log_text

    line = "case 430424100202-20261204-0009 at 2026-12-04 node 430424100202 ms 1733300000000"
    assert mask_log_text(line) == line
