"""The Jinja2 environment of the screens and the filters people read through."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from common.cases.states import STATE_LABELS, CaseState
from common.identifiers.masking import mask_identifier
from common.timeutil import SHANGHAI, parse_iso

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def local_time(value: datetime | str | None, with_time: bool = True) -> str:
    """A moment as people in Hengdong read it: 2026年11月27日 14:05 (Asia/Shanghai)."""
    if value is None or value == "":
        return "—"
    moment = parse_iso(value) if isinstance(value, str) else value
    local = moment.astimezone(SHANGHAI)
    text = f"{local.year}年{local.month}月{local.day}日"
    return f"{text} {local:%H:%M}" if with_time else text


def chinese_date(value: date | str | None) -> str:
    if value is None or value == "":
        return "—"
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.year}年{day.month}月{day.day}日"


def state_label(value: str | None) -> str:
    if value is None:
        return "—"
    try:
        return STATE_LABELS[CaseState(value)]
    except ValueError:
        return value or "—"


def masked(value: Any) -> str:
    return mask_identifier(str(value)) if value else "—"


templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
templates.env.filters.update(
    local_time=local_time, chinese_date=chinese_date, state_label=state_label, masked=masked
)
