"""Calendar fixtures: a plausible 2027 schedule (test data, not the official one) and
a node that holds the root's database but not the root key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from onetrip_testing import TOWNSHIP_ID

from common.calendar import YearSchedule, parse_year_schedule_csv
from common.identity.keys import NodeKey
from common.node import ThisNode

NOTICE_2027 = "国务院办公厅关于2027年部分节假日安排的通知（测试数据）"

# 2027-01-01 is a Friday; 春节 (Feb 6) is a Saturday. Made-up but shaped like the
# real ones: 元旦 3 days, 春节 9 days with two make-up Saturdays, 国庆 7 days.
SCHEDULE_2027_CSV = """date,kind,name
2027-01-01,休,元旦
2027-01-02,休,元旦
2027-01-03,休,元旦
2027-01-30,班,春节调休上班
2027-02-05,休,春节
2027-02-06,休,春节
2027-02-07,休,春节
2027-02-08,休,春节
2027-02-09,休,春节
2027-02-10,休,春节
2027-02-11,休,春节
2027-02-12,休,春节
2027-02-13,休,春节
2027-02-20,班,春节调休上班
2027-04-03,休,清明
2027-04-04,休,清明
2027-04-05,休,清明
2027-05-01,休,劳动节
2027-05-02,休,劳动节
2027-05-03,休,劳动节
2027-06-09,休,端午
2027-09-15,休,中秋
2027-09-26,班,国庆节调休上班
2027-10-01,休,国庆节
2027-10-02,休,国庆节
2027-10-03,休,国庆节
2027-10-04,休,国庆节
2027-10-05,休,国庆节
2027-10-06,休,国庆节
2027-10-07,休,国庆节
2027-10-09,班,国庆节调休上班
"""


@pytest.fixture
def notice_2027() -> str:
    return NOTICE_2027


@pytest.fixture
def schedule_2027_csv() -> str:
    return SCHEDULE_2027_CSV


@pytest.fixture
def schedule_2027() -> YearSchedule:
    return parse_year_schedule_csv(SCHEDULE_2027_CSV, source=NOTICE_2027)


@pytest.fixture
def township_view(root_node: ThisNode) -> ThisNode:
    """The root's database and settings with a township's key: ``is_root`` is False."""
    key = NodeKey(node_id=TOWNSHIP_ID, private_key=Ed25519PrivateKey.generate())
    settings = root_node.settings.model_copy(update={"node_id": TOWNSHIP_ID, "tier": "township"})
    node = ThisNode(settings=settings, engine=root_node.engine, key=key)
    assert not node.is_root
    return node
