"""办事指南: a published matter's service guide with every element the catalogue holds
("六统一": name, code, legal basis, conditions, materials, time limits; plus fees,
place and hours, phones, how it can be handled and the visits required).

Public: it is printed from the published catalogue only, never from drafts.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from sqlmodel import Session

from common.catalog.models import CatalogueBatch
from common.catalog.schema import Matter
from common.catalog.service import get_published
from common.documents.layout import Document, chinese_date
from common.errors import NotFound
from common.labels import (
    CASE_TYPE_LABELS,
    DELIVERY_METHOD_LABELS,
    EXERCISE_LEVEL_LABELS,
    HANDLING_LEVEL_LABELS,
    MATTER_TYPE_LABELS,
    SERVICE_OBJECT_LABELS,
    WINDOW_LABELS,
)
from common.node import ThisNode
from common.timeutil import local_today


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _days(days: int) -> str:
    return "即时办结" if days == 0 else f"{days}个工作日"


def _materials(doc: Document, matter: Matter) -> None:
    if not matter.materials:
        doc.paragraph("无需提交申请材料。")
        return
    rows = []
    for index, m in enumerate(matter.materials, start=1):
        licence = f"可用电子证照（{m.licence_type}）代替" if m.licence_type else "—"
        rows.append(
            [
                index,
                m.name,
                m.issuer,
                m.originals,
                m.copies,
                "必要" if m.mandatory else "非必要",
                licence,
            ]
        )
    doc.table(
        ["序号", "材料名称", "来源（出具单位）", "原件", "复印件", "必要性", "无证明办理"],
        rows,
        [0.08, 0.26, 0.19, 0.08, 0.1, 0.1, 0.19],
    )


def _fees(doc: Document, matter: Matter) -> None:
    if not matter.fees:
        doc.paragraph("不收费。")
        return
    doc.table(
        ["收费项目", "金额（元）", "收费依据"],
        [[f.item, f.amount, f.basis or "—"] for f in matter.fees],
        [0.3, 0.15, 0.55],
    )


def guide_labels(matter: Matter) -> dict[str, str]:
    """A matter's coded elements in words, as the service guide prints them; the guide
    screens (``common.web``) show the same words."""
    return {
        "matter_type": MATTER_TYPE_LABELS.get(matter.matter_type.value, matter.matter_type.value),
        "exercise_level": EXERCISE_LEVEL_LABELS.get(
            matter.exercise_level.value, matter.exercise_level.value
        ),
        "service_objects": "、".join(
            SERVICE_OBJECT_LABELS.get(o.value, o.value) for o in matter.service_objects
        ),
        "case_type": CASE_TYPE_LABELS.get(matter.case_type.value, matter.case_type.value),
        "handling_level": HANDLING_LEVEL_LABELS.get(
            matter.handling_level.value, matter.handling_level.value
        ),
        "delivery_method": DELIVERY_METHOD_LABELS.get(
            matter.delivery_method.value, matter.delivery_method.value
        ),
        "window": WINDOW_LABELS.get(matter.window.value, matter.window.value),
    }


def _ways(matter: Matter, labels: dict[str, str]) -> str:
    ways = [
        f"办理方式：{labels['delivery_method']}",
        f"网上办理：{_yes(matter.online)}",
        f"快递送达：{_yes(matter.courier)}",
        f"预约办理：{_yes(matter.appointment)}",
        f"告知承诺制：{'适用' if matter.commitment_allowed else '不适用'}",
    ]
    return "；".join(ways) + "。"


def service_guide(session: Session, node: ThisNode, code: str) -> bytes:
    """The service guide of the published matter ``code`` (implementation code)."""
    row = get_published(session, code)  # NotFound, field implementation_code
    if row.withdrawn:
        raise NotFound(
            "document.matter_withdrawn",
            f"事项 {code} 已停止实施，不再提供办事指南",
            field="implementation_code",
        )
    matter = row.to_matter()
    batch = session.get(CatalogueBatch, row.batch_no)
    doc = Document(node.settings)
    doc.header(matter.implementing_body, "办事指南", matter.name)
    labels = guide_labels(matter)
    doc.fields(
        [
            ("事项名称", matter.name),
            ("基本编码", matter.basic_code),
            ("实施编码", matter.implementation_code),
            ("事项类型", labels["matter_type"]),
            ("行使层级", labels["exercise_level"]),
            ("服务对象", labels["service_objects"]),
            ("办件类型", labels["case_type"]),
            ("办理层级", labels["handling_level"]),
            ("综合窗口", labels["window"]),
        ],
        label_width=30 * mm,
    )
    sections = [
        ("一、设定依据", matter.legal_basis),
        (
            "二、实施主体",
            f"{matter.implementing_body}（统一社会信用代码：{matter.implementing_body_code}）；"
            f"牵头部门：{matter.lead_department}"
            + (
                f"；协办部门：{'、'.join(matter.departments[1:])}"
                if len(matter.departments) > 1
                else ""
            ),
        ),
        ("三、受理条件", matter.conditions or "无特别条件。"),
        ("四、办理流程", matter.procedure or "申请→受理→审查→决定→送达。"),
    ]
    for heading, text in sections:
        doc.heading(heading)
        doc.paragraph(text)
    doc.heading("五、申请材料")
    _materials(doc, matter)
    doc.heading("六、办理时限")
    doc.paragraph(
        f"法定办结时限：{_days(matter.statutory_limit_days)}；承诺办结时限：{_days(matter.promised_limit_days)}"
        "（自受理之日的次一工作日起计算，依法需要听证、检验、检测、鉴定、专家评审的时间不计算在内）。"
    )
    doc.heading("七、收费标准")
    _fees(doc, matter)
    doc.heading("八、办理结果")
    doc.paragraph(matter.result_name or "办理结果告知。")
    doc.heading("九、办理地点和时间")
    doc.paragraph(f"办理地点：{matter.place or '—'}；办理时间：{matter.hours or '—'}。")
    doc.heading("十、咨询和投诉")
    doc.paragraph(
        f"咨询电话：{matter.consult_phone or '—'}；投诉电话：{matter.complaint_phone or '—'}。"
    )
    doc.heading("十一、办理方式")
    doc.paragraph(_ways(matter, labels))
    doc.heading("十二、到办事现场次数")
    one_trip = "，属于“最多跑一次”事项" if matter.at_most_one_trip else ""
    doc.paragraph(f"{matter.required_visits}次{one_trip}。")
    doc.space(4)
    published = f"（第{row.batch_no}批{('，' + chinese_date(batch.published_on)) if batch else ''}公布，目录版本{row.version}）"
    doc.note(f"本指南依据已公布的政务服务事项目录生成{published}。")
    doc.signature(matter.implementing_body, local_today(node.settings.tz), seal=False)
    return doc.render(
        title=f"办事指南 {matter.name}",
        author=matter.implementing_body,
        footer=f"办事指南 {matter.implementation_code}",
    )
