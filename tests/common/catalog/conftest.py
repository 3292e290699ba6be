"""Catalogue-only fixtures: small hand-made matters with known codes and visits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from common.catalog.schema import Matter
from common.identifiers.uscc import uscc_check_char

# 衡东县行政审批服务局 (a made-up organisation code under the county's division code).
BODY_FIRST17 = "11430424MB1A2B3C4"
BODY_CODE = BODY_FIRST17 + uscc_check_char(BODY_FIRST17)


def build_matter(
    serial: int, *, visits: int = 0, window: str = "social", **overrides: Any
) -> Matter:
    """A valid county-level licence matter; ``serial`` makes the codes unique."""
    basic = f"4301{serial:05d}000"
    data: dict[str, Any] = {
        "basic_code": basic,
        "implementation_code": f"{BODY_CODE}4{basic}",
        "name": f"示例事项{serial}号审批",
        "matter_type": "01",
        "exercise_level": "4",
        "service_objects": ["1", "2"],
        "case_type": "2",
        "handling_level": "county",
        "delivery_method": "window_courier",
        "window": window,
        "implementing_body": "衡东县行政审批服务局",
        "implementing_body_code": BODY_CODE,
        "lead_department": "衡东县行政审批服务局",
        "departments": ["衡东县行政审批服务局", "衡东县自然资源局"],
        "legal_basis": "《中华人民共和国行政许可法》第二十九条",
        "statutory_limit_days": 20,
        "promised_limit_days": 5,
        "conditions": "申请人符合法定条件",
        "procedure": "申请→受理→审查→决定→送达",
        "materials": [
            {
                "name": "申请书",
                "issuer": "申请人自备",
                "originals": 1,
                "copies": 0,
                "mandatory": True,
                "licence_type": "",
            },
            {
                "name": "居民身份证",
                "issuer": "公安机关",
                "originals": 0,
                "copies": 1,
                "mandatory": False,
                "licence_type": "111",
            },
        ],
        "fees": [{"item": "工本费", "amount": "10.50", "basis": "湘价费〔2018〕1号"}],
        "result_name": "许可证",
        "place": "衡东县政务服务中心一楼",
        "hours": "工作日 8:00-12:00 14:30-17:30",
        "consult_phone": "0734-5222222",
        "complaint_phone": "12345",
        "online": True,
        "courier": True,
        "appointment": False,
        "commitment_allowed": False,
        "required_visits": visits,
    }
    data.update(overrides)
    return Matter.model_validate(data)


@pytest.fixture
def make_matter() -> Callable[..., Matter]:
    """make_matter(serial, *, visits=0, window="social", **fields) -> a valid Matter."""
    return build_matter
