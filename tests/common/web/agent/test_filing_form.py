"""The agent's filing form (issue 13, item 14): every problem in one answer, next to its
field and linked from a summary at the top; what was typed and the scans already chosen
survive a refusal (the scans stored once, carried by hidden inputs, never an arbitrary
hash); phone numbers checked by the rule the API and ``file_case`` use."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_testing import post_form

from common.blobs.models import Blob
from common.cases.models import Case, CaseMaterial
from common.db import transaction
from common.node import ThisNode
from common.timeutil import utcnow

OTHER_PDF = b"%PDF-1.7\n% a second scan\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def count(node: ThisNode, model: Any) -> int:
    with transaction(node.engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def applicant(kit: Any, **extra: str) -> dict[str, str]:
    return {
        "applicant_kind": "person",
        "applicant_name": "李大爷",
        "applicant_id": kit.PERSON_ID,
        "applicant_phone": "13800000000",
        "present": "1",
        "then": "file",
        **extra,
    }


def submit(client: TestClient, code: str, data: dict[str, str], files: Any = None) -> Any:
    return post_form(client, f"/agent/file/{code}", data, files=files)


def hidden_inputs(html: str) -> dict[str, str]:
    """The hidden inputs a browser would send back (the CSRF token aside)."""
    found = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    found.pop("csrf_token", None)
    return found


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="d-{field}">([^<]*)</p>', html)
    assert match, f"no refusal next to {field}"
    return match.group(1)


def summary_links(html: str) -> list[str]:
    return re.findall(r'<li data-testid="error-summary-item"><a href="#(f-[^"]+)">', html)


def material_blob(node: ThisNode, case_no: str, position: int) -> str | None:
    with transaction(node.engine) as session:
        row = session.get(CaseMaterial, (case_no, position))
        assert row is not None
        return row.blob_sha256


def filed_case_no(answer: Any) -> str:
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].rsplit("/", 1)[1]


def test_three_bad_fields_are_answered_at_once(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    wrong_id = kit.PERSON_ID[:-1] + ("0" if kit.PERSON_ID[-1] != "0" else "1")
    answer = submit(
        agent_client,
        kit.PENSION,
        applicant(kit, applicant_name="  ", applicant_id=wrong_id, applicant_phone="1380000"),
    )
    assert answer.status_code == 400
    assert field_error(answer.text, "applicant_name") == "请填写申请人名称"
    assert field_error(answer.text, "applicant_id").startswith("身份证号码校验位错误")
    assert "联系电话" in field_error(answer.text, "applicant_phone")
    # The summary at the top links to each field, in the order of the form.
    assert summary_links(answer.text) == ["f-applicant_name", "f-applicant_id", "f-applicant_phone"]
    assert "共有 3 处需要修改" in answer.text
    texts = re.findall(r'<li data-testid="error-summary-item"><a [^>]*>([^<]*)</a>', answer.text)
    assert texts == [
        "申请人姓名或名称：请填写申请人名称",
        "证件号码：身份证号码校验位错误，请核对是否输错",
        "联系电话：手机号码应为11位，现在是7位",  # the message names the field already
    ]
    for name in ("applicant_name", "applicant_id", "applicant_phone"):
        assert re.search(rf'id="f-{name}"[^>]*aria-invalid="true"', answer.text, re.DOTALL)
    assert count(village, Case) == 0


def test_a_refusal_keeps_what_was_typed_and_the_scan_then_files_with_it(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    blobs = count(village, Blob)
    first = submit(
        agent_client,
        kit.PENSION,
        applicant(kit, applicant_phone="1380000", m0_ok="1"),
        files=[("m0_file", ("身份证.pdf", kit.PDF, "application/pdf"))],
    )
    assert first.status_code == 400 and summary_links(first.text) == ["f-applicant_phone"]
    # Typed values come back as typed, the tick too.
    assert 'value="李大爷"' in first.text and f'value="{kit.PERSON_ID}"' in first.text
    assert 'value="1380000"' in first.text and re.search(
        r'name="m0_ok" value="1"\s+checked', first.text
    )
    # The scan is stored now and carried by hidden inputs: the agent does not choose it again.
    sha = hashlib.sha256(kit.PDF).hexdigest()
    kept = hidden_inputs(first.text)
    assert kept == {"m0_kept": sha, "m0_kept_name": "身份证.pdf"}
    shown = re.search(r'data-testid="kept-file-0">(.*?)</p>', first.text)
    assert (
        shown and re.sub(r"<[^>]+>", "", shown.group(1)) == "已上传：身份证.pdf（可重新选择替换）"
    )
    assert count(village, Blob) == blobs + 1 and count(village, Case) == 0

    # Corrected and sent again with no file at all: the case has the kept scan.
    second = submit(
        agent_client,
        kit.PENSION,
        {**applicant(kit, m0_ok="1"), **kept},
        files=[("m1_file", ("", b"", "application/octet-stream"))],
    )
    case_no = filed_case_no(second)
    assert material_blob(village, case_no, 0) == sha
    assert count(village, Blob) == blobs + 1


def test_a_new_file_replaces_the_kept_one(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    first = submit(
        agent_client,
        kit.PENSION,
        applicant(kit, applicant_name=""),
        files=[("m0_file", ("旧.pdf", kit.PDF, "application/pdf"))],
    )
    assert first.status_code == 400
    assert hidden_inputs(first.text)["m0_kept"] == hashlib.sha256(kit.PDF).hexdigest()
    again = submit(
        agent_client,
        kit.PENSION,
        {**applicant(kit), **hidden_inputs(first.text)},
        files=[("m0_file", ("新.pdf", OTHER_PDF, "application/pdf"))],
    )
    case_no = filed_case_no(again)
    assert material_blob(village, case_no, 0) == hashlib.sha256(OTHER_PDF).hexdigest()


def test_a_kept_hash_this_node_does_not_hold_is_refused(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    never_stored = hashlib.sha256(b"%PDF-1.7 never uploaded").hexdigest()
    known_not_held = hashlib.sha256(b"%PDF-1.7 known by a case event only").hexdigest()
    with transaction(village.engine) as session:  # a hash heard of, its file not here
        session.add(
            Blob(
                sha256=known_not_held,
                size=10,
                media_type="application/pdf",
                original_name="x.pdf",
                received_at=utcnow(),
                stored=False,
            )
        )
    for forged in (never_stored, known_not_held, "../../etc/passwd", "A" * 64):
        answer = submit(
            agent_client,
            kit.PENSION,
            {**applicant(kit), "m0_kept": forged, "m0_kept_name": "申请书.pdf"},
        )
        assert answer.status_code == 400, forged
        assert "此前上传的文件在本节点找不到" in field_error(answer.text, "m0_file")
        assert forged not in answer.text and 'data-testid="kept-file-0"' not in answer.text
    assert count(village, Case) == 0


def test_a_refused_file_type_and_a_bad_phone_together(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    answer = submit(
        agent_client,
        kit.PENSION,
        applicant(kit, applicant_phone="0734-12"),
        files=[
            ("m0_file", ("身份证.pdf", kit.PDF, "application/pdf")),
            ("m1_file", ("户口簿.txt", b"hello", "text/plain")),
        ],
    )
    assert answer.status_code == 400  # a 415 and a 400: the form as a whole is a 400
    assert summary_links(answer.text) == ["f-applicant_phone", "f-m1_file"]
    assert "只接受" in field_error(answer.text, "m1_file")
    assert hidden_inputs(answer.text)["m0_kept"] == hashlib.sha256(kit.PDF).hexdigest()
    assert "m1_kept" not in hidden_inputs(answer.text) and count(village, Case) == 0


def test_phones_the_form_accepts_and_refuses(
    agent_client: TestClient, village: ThisNode, kit: Any
) -> None:
    refused = submit(agent_client, kit.PENSION, applicant(kit, applicant_phone="1380000"))
    assert refused.status_code == 400
    assert field_error(refused.text, "applicant_phone") == "联系电话：手机号码应为11位，现在是7位"
    for typed, stored in (("13800000000", "13800000000"), ("0734-5221234", "0734-5221234")):
        case_no = filed_case_no(
            submit(agent_client, kit.PENSION, applicant(kit, applicant_phone=typed))
        )
        with transaction(village.engine) as session:
            case = session.get(Case, case_no)
            assert case is not None and case.applicant_phone == stored
