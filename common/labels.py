"""Every display label of onetrip's codes, in one place: what people read on screens,
documents and spreadsheets for a tier, a level, a matter's catalogue codes (GB/T 39046)
and an applicant kind. Code and identifiers stay English; these are the Chinese words.
"""

from __future__ import annotations

# One tier table: a node's tier and a matter's handling level use the same words.
TIER_LABELS = {
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "township": "乡镇级",
    "village": "村级",
}
HANDLING_LEVEL_LABELS = {level: TIER_LABELS[level] for level in ("village", "township", "county")}
APPLICANT_KIND_LABELS = {
    "person": "自然人",
    "enterprise": "法人或其他组织",
}  # also a licence holder's kind

# The matter catalogue's enumerations (GB/T 39046 codes and this project's own).
MATTER_TYPE_LABELS = {
    "01": "行政许可",
    "02": "行政处罚",
    "03": "行政强制",
    "04": "行政征收",
    "05": "行政给付",
    "06": "行政检查",
    "07": "行政确认",
    "08": "行政奖励",
    "09": "行政裁决",
    "10": "其他行政权力",
    "20": "公共服务",
}
EXERCISE_LEVEL_LABELS = {
    "1": "国家级",
    "2": "省级",
    "3": "市级",
    "4": "县级",
    "5": "乡镇级",
    "6": "村级",
}
SERVICE_OBJECT_LABELS = {
    "1": "自然人",
    "2": "企业法人",
    "3": "事业单位法人",
    "4": "社会组织法人",
    "5": "行政机关",
    "6": "其他组织",
}
CASE_TYPE_LABELS = {"1": "即办件", "2": "承诺件", "2A": "一审一核件", "9": "其他"}
DELIVERY_METHOD_LABELS = {
    "zero_visit": "零上门",
    "on_the_spot": "即办",
    "window_courier": "窗口受理快递送达",
    "online_precheck": "网上预审",
    "appointment_visit": "预约上门",
}
WINDOW_LABELS = {
    "investment": "投资项目窗口",
    "real_estate": "不动产登记窗口",
    "business": "商事登记窗口",
    "social": "社会事务窗口",
    "convenience": "综合便民窗口",
}


def tier_label(tier: str | None) -> str:
    return TIER_LABELS.get(tier or "", tier or "—")
