"""Shaping for the public portal: the search form's choices and page links, the labels
a guide page shows, the steps of the public progress answer and the licence
verification verdict as the page shows it. Nothing here reads the database (the guide
search is ``common.catalog.queries.search_guides``, the progress answer
``common.cases.queries.public_progress``) or sees unmasked data.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from common.catalog.queries import case_type_label
from common.catalog.schema import Matter
from common.documents.guide import guide_labels as printed_labels
from common.labels import SERVICE_OBJECT_LABELS, WINDOW_LABELS
from common.licences.verification import QR_PREFIX


def window_options() -> list[tuple[str, str]]:
    return [("", "全部窗口"), *WINDOW_LABELS.items()]


def service_object_options() -> list[tuple[str, str]]:
    return [("", "全部服务对象"), *SERVICE_OBJECT_LABELS.items()]


def page_number(value: str | None) -> int:
    """A page number from the query string; anything odd is the first page."""
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1


def guide_labels(matter: Matter) -> dict[str, Any]:
    """The readable labels of a matter's coded elements: the printed guide's, with an
    一审一核件 shown to residents as the 承诺件 it is."""
    return {**printed_labels(matter), "case_type": case_type_label(matter.case_type.value)}


def search_base(q: str, window: str, service_object: str) -> str:
    """The guide search's address with its conditions, ready for ``page=`` (the pager)."""
    params = [("q", q), ("window", window), ("object", service_object)]
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params if v)
    return "/guides?" + (f"{query}&" if query else "")


# The steps a resident sees, in order, with the date field of public_progress that marks each done.
PROGRESS_STEPS = (
    ("filed_on", "申请已提交"),
    ("accepted_on", "窗口已受理"),
    ("decided_on", "已作出办理决定"),
    ("delivered_on", "结果已送达，办结"),
)
DEADLINE_CLASSES = {
    "normal": "deadline-ok",
    "yellow": "deadline-near",
    "red": "deadline-over",
    "paused": "deadline-paused",
    "delivering": "deadline-ok",
    "stopped": "deadline-paused",
    "not_started": "deadline-paused",
}


def progress_steps(progress: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps with their dates; ``current`` marks the latest one reached."""
    steps = [
        {
            "label": label,
            "date": progress.get(key),
            "done": bool(progress.get(key)),
            "current": False,
        }
        for key, label in PROGRESS_STEPS
    ]
    reached = [step for step in steps if step["done"]]
    if reached:
        reached[-1]["current"] = True
    return steps


LAST4_RE = re.compile(r"^[0-9A-Za-z]{4}$")
MAX_CASE_NO = 40


# Verification checks, in the order they are made, as a verifier reads them.
CHECK_LABELS = (
    ("signature", "电子签名"),
    ("issuer_is_author", "签名节点即颁发节点"),
    ("issuer_entitled", "事项目录授权该节点颁发此类证照"),
    ("issuer_registered", "颁发节点在注册表中"),
    ("signed_before_key_revocation", "签发于密钥撤销之前"),
    ("check_character", "证照标识校验位"),
    ("not_revoked", "未被撤销"),
    ("in_validity", "在有效期内"),
)


def check_rows(checks: dict[str, bool]) -> list[tuple[str, bool]]:
    return [(label, checks[key]) for key, label in CHECK_LABELS if key in checks]


def payload_of(text: str) -> str:
    """The ``OT2:`` (or older ``OT1:``) payload from what was pasted: the payload itself or a verify URL."""
    text = text.strip()
    if text.startswith(QR_PREFIX) or "?" not in text:
        return text
    values = parse_qs(urlsplit(text).query).get("p")
    return values[0].strip() if values else text
