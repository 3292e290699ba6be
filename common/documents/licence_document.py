"""The printed electronic licence (电子证照): the face of the certificate as the real one of
its type prints it (``common.documents.licence_fields``: an enterprise's USCC in full, a
person's identity number masked), then the electronic licence's own particulars (GB/T
36904 identifier, matter, case, signing node, trust level) and a QR code carrying the
licence's signed public credential (``OT2:``, holder masked; ``OT1:`` for a licence
issued before credentials existed; from ``common.licences.service``), so that anyone
can verify the paper offline against the registry.
"""

from __future__ import annotations

import json

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle
from sqlmodel import Session

from common.documents.case_data import node_name
from common.documents.layout import FRAME_WIDTH, Document, chinese_date, esc
from common.documents.licence_fields import printed_face
from common.documents.qr import QrCode
from common.licences.service import get_licence, licence_qr_payload
from common.node import ThisNode

TRUST_LABELS = {"A": "A级（由发证机关签发并签章）", "B": "B级", "C": "C级", "D": "D级"}
VERIFY_HINT = (
    "本证照为电子证照的打印件。二维码内容为发证节点签名的证照信息（证件号码已脱敏），"
    "可在任一政务服务节点“电子证照核验”处扫码或粘贴核验，离线亦可验证真伪。"
)


def _qr_and_seal(doc: Document, qr: QrCode, issuer: str, on: str) -> Table:
    """The QR code on the left; the hint, the issuer (seal) and the date on the right."""
    s = doc.styles
    right = [
        Paragraph(esc(VERIFY_HINT), s.note),
        Spacer(1, 18 * mm),
        Paragraph(f"{esc(issuer)}（印章）<br/>{esc(chinese_date(on))}", s.sign),
    ]
    table = Table([[qr, right]], colWidths=[qr.size + 4 * mm, FRAME_WIDTH - qr.size - 4 * mm])
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (0, 0), 0)])
    )
    return table


def licence_document(session: Session, node: ThisNode, licence_id: str) -> bytes:
    """The licence as a one-page PDF with its verification QR code."""
    licence = get_licence(session, licence_id)  # validates the identifier (field licence_id)
    payload = licence_qr_payload(session, licence.licence_id)
    data = json.loads(licence.data)
    doc = Document(node.settings)
    doc.header("电子证照", licence.name, f"证照标识：{licence.licence_id}")
    if licence.state == "revoked":
        doc.add(
            Paragraph(
                esc(
                    f"【已撤销】本证照已于{chinese_date(licence.revoked_on)}被发证机关撤销："
                    f"{licence.revoked_reason or ''}"
                ),
                doc.styles.heading,
            )
        )
    doc.fields(printed_face(licence, data), label_width=36 * mm)  # 统一社会信用代码 on one line
    doc.heading("电子证照信息")
    doc.fields(
        [
            ("证照标识", f"{licence.licence_id}\n（GB/T 36904，证照类型代码 {licence.type_code}）"),
            ("办理事项", data.get("matter_name") or data.get("result_name") or licence.name),
            ("办件编号", licence.case_no or "—"),
            ("签发节点", f"{node_name(session, licence.issuer_node)}（{licence.issuer_node}）"),
            ("发证机关代码", licence.issuer_uscc),
            (
                "可信级别",
                TRUST_LABELS.get(data.get("trust_level", ""), data.get("trust_level") or "—"),
            ),
        ],
        label_width=28 * mm,  # the longest licence identifier on one line
    )
    doc.space(5)
    doc.add(
        _qr_and_seal(
            doc,
            QrCode(payload, size=70 * mm),
            licence.issuer_body,
            data.get("decided_on") or licence.valid_from,
        )
    )
    return doc.render(
        title=f"{licence.name} {licence.licence_id}",
        author=licence.issuer_body,
        footer=f"证照标识 {licence.licence_id}",
    )
