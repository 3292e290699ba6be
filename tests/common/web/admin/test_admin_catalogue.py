"""/admin/catalogue: import a file (every problem shown, nothing imported), review the
unpublished drafts, publish a batch, refusals at the field."""

from __future__ import annotations

import io
import json
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlmodel import Session
from web_testing import post_form

from common.catalog.io import write_catalogue
from common.catalog.models import CatalogueBatch, MatterDraft, PublishedMatter
from common.catalog.sample import load_sample_matters
from common.users.roles import Role

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def matters():
    return load_sample_matters()[0][:6]


def _count(node, model) -> int:
    with Session(node.engine) as session:
        query = select(func.count()).select_from(model)
        if model is PublishedMatter:
            query = query.where(PublishedMatter.withdrawn.is_(False))
        return int(session.execute(query).scalar_one())


def _import(client, name: str, data: bytes, media: str = "application/octet-stream", **form):
    return post_form(
        client,
        "/admin/catalogue/import",
        {"replace_existing": "true", **form},
        page="/admin/catalogue",
        files={"file": (name, data, media)},
    )


def test_a_file_with_problems_shows_every_one_and_imports_nothing(root_node, admin_web, matters):
    assert _import(admin_web, "first.json", write_catalogue(matters[:2], "json")).status_code == 303
    before = _count(root_node, MatterDraft)
    broken = [m.model_dump(mode="json") for m in matters]
    broken[2]["name"] = ""
    broken[3]["window"] = "nowhere"
    broken[5]["statutory_limit_days"] = "twenty"
    answer = _import(admin_web, "broken.json", json.dumps({"matters": broken}).encode())
    assert answer.status_code == 422
    rows = re.findall(
        r'<tr data-testid="import-problem"><td>(\w+)</td><td>(\d+|—)</td>\s*<td>([\w.\[\]—]+)</td>',
        answer.text,
    )
    assert rows == [
        ("matters", "3", "name"),
        ("matters", "4", "window"),
        ("matters", "6", "statutory_limit_days"),
    ]
    assert "3处问题，未导入任何事项" in answer.text
    assert 'id="d-file"' in answer.text  # the refusal sits at the file field
    assert _count(root_node, MatterDraft) == before == 2


def test_a_workbook_with_problems_names_sheet_row_and_column(root_node, admin_web, matters):
    book = load_workbook(io.BytesIO(write_catalogue(matters, "xlsx")))
    sheet = book.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    sheet.cell(row=3, column=headers.index("事项名称") + 1, value="")
    sheet.cell(row=5, column=headers.index("事项名称") + 1, value="")
    out = io.BytesIO()
    book.save(out)
    answer = _import(admin_web, "目录.xlsx", out.getvalue(), XLSX)
    assert answer.status_code == 422
    problems = answer.text.count('data-testid="import-problem"')
    assert problems == 2 and ">3</td>" in answer.text and ">5</td>" in answer.text
    assert _count(root_node, MatterDraft) == 0


def test_import_a_good_file_review_and_publish(root_node, admin_web, matters):
    answer = _import(admin_web, "目录.xlsx", write_catalogue(matters, "xlsx"), XLSX)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/catalogue"
    page = admin_web.get("/admin/catalogue")
    assert "已导入6个事项：新增6个" in page.text
    assert page.text.count('data-testid="draft-row"') == 6
    assert page.text.count('data-testid="draft-marker">新增<') == 6
    assert _count(root_node, MatterDraft) == 6 and _count(root_node, PublishedMatter) == 0

    codes = [m.implementation_code for m in matters]
    published = post_form(
        admin_web,
        "/admin/catalogue/publish",
        {"name": "第一批“最多跑一次”事项", "published_on": "2018-07-24", "codes": codes[:4]},
        page="/admin/catalogue",
    )
    assert published.status_code == 303, published.text
    assert _count(root_node, PublishedMatter) == 4
    with Session(root_node.engine) as session:
        batch = session.execute(select(CatalogueBatch)).scalar_one()
    assert (batch.batch_no, batch.name, batch.matter_count) == (1, "第一批“最多跑一次”事项", 4)

    page = admin_web.get("/admin/catalogue")
    assert "已发布第1批" in page.text
    assert re.search(r'data-testid="published-count">4<', page.text)
    assert page.text.count('data-testid="draft-row"') == 2  # the two left unpublished
    assert f'href="/guides/{codes[0]}"' in page.text
    assert 'data-testid="batch-share"' in page.text and "第1批" in page.text

    # Re-import with one matter changed: it comes back marked as changed.
    changed = [
        m.model_copy(update={"place": "衡东县政务服务中心二楼"}) if i == 0 else m
        for i, m in enumerate(matters)
    ]
    assert _import(admin_web, "again.json", write_catalogue(changed, "json")).status_code == 303
    page = admin_web.get("/admin/catalogue")
    assert page.text.count('data-testid="draft-marker">有改动<') == 1

    found = admin_web.get("/admin/catalogue", params={"q": matters[1].name})
    assert found.text.count('data-testid="published-row"') == 1


def test_publish_refusals_are_shown_at_the_field(root_node, admin_web, matters):
    _import(admin_web, "a.json", write_catalogue(matters[:2], "json"))
    code = matters[0].implementation_code
    empty_name = post_form(
        admin_web,
        "/admin/catalogue/publish",
        {"name": "  ", "published_on": "2018-07-24", "codes": [code]},
        page="/admin/catalogue",
    )
    assert empty_name.status_code == 400
    assert re.search(r'id="f-name"[^>]*aria-invalid="true"', empty_name.text)
    assert '<p class="field-error" id="d-name">请填写批次名称</p>' in empty_name.text
    no_codes = post_form(
        admin_web,
        "/admin/catalogue/publish",
        {"name": "第一批", "published_on": "2018-07-24"},
        page="/admin/catalogue",
    )
    assert no_codes.status_code == 400 and 'id="d-codes">批次中至少要有一个事项' in no_codes.text
    bad_day = post_form(
        admin_web,
        "/admin/catalogue/publish",
        {"name": "第一批", "published_on": "2018-13-01", "codes": [code]},
        page="/admin/catalogue",
    )
    assert bad_day.status_code == 400 and 'id="d-published_on"' in bad_day.text
    assert _count(root_node, PublishedMatter) == 0


def test_import_refusals_name_the_file(root_node, admin_web, matters):
    wrong_type = _import(admin_web, "目录.xls", write_catalogue(matters, "csv"))
    assert wrong_type.status_code == 400 and "只支持 .xlsx、.csv、.json" in wrong_type.text
    missing = _import(admin_web, "", b"")
    assert missing.status_code == 400 and "请选择要导入的文件" in missing.text, missing.text[-3000:]
    assert _count(root_node, MatterDraft) == 0


def test_a_window_clerk_cannot_open_or_post_to_the_catalogue(root_node, county_user, matters):
    clerk = county_user(Role.COUNTY_WINDOW_CLERK)
    assert clerk.get("/admin/catalogue").status_code == 403
    answer = post_form(
        clerk,
        "/admin/catalogue/import",
        {},
        page="/portal",
        files={"file": ("a.json", write_catalogue(matters, "json"), "application/json")},
    )
    assert answer.status_code == 403
    assert _count(root_node, MatterDraft) == 0


ELDERLY = "54430424MEB423186J6432004015000"  # 高龄津贴申请代办: a village matter of the sample


def _agent(published, village, admin, make_client):
    """A village agent logged in on the village node (which reads the root's database here)."""
    from web_testing import web_login

    from common.db import transaction
    from common.users.service import provision_user

    with transaction(published.engine) as session:
        provision_user(
            session,
            published,
            admin,
            node_id=village.node_id,
            username="agent1",
            display_name="王代办",
            role=Role.VILLAGE_AGENT,
            password="hengdong-agent-2026",
        )
    return web_login(make_client(village, username=None), "agent1", "hengdong-agent-2026")


def _agent_search(agent, text: str) -> str:
    page = agent.get("/agent/matters", params={"q": text})
    assert page.status_code == 200
    return page.text


def _withdrawn(node, code: str) -> tuple[bool, str | None]:
    with Session(node.engine) as session:
        row = session.get(PublishedMatter, code)
        return row.withdrawn, row.withdrawn_reason


def test_withdraw_a_published_matter_with_a_reason(
    published, village, admin, admin_web, make_client
):
    agent = _agent(published, village, admin, make_client)
    assert f'data-code="{ELDERLY}"' in _agent_search(agent, "高龄津贴")
    listed = admin_web.get("/admin/catalogue", params={"q": "高龄津贴"})
    path = f"/admin/catalogue/matters/{ELDERLY}/withdraw"
    assert f'href="{path}"' in listed.text

    form = admin_web.get(path)
    assert form.status_code == 200 and "高龄津贴申请代办" in form.text and ELDERLY in form.text
    assert '<label for="f-reason">' in form.text and 'data-testid="withdraw-button"' in form.text
    empty = post_form(admin_web, path, {"reason": "   "})
    assert (
        empty.status_code == 400
        and '<p class="field-error" id="d-reason">请填写撤销原因</p>' in empty.text
    )
    too_long = post_form(admin_web, path, {"reason": "因" * 301})
    assert too_long.status_code == 400 and 'id="d-reason">撤销原因不得超过300个字' in too_long.text
    assert _withdrawn(published, ELDERLY) == (False, None)
    before = _count(published, PublishedMatter)

    reason = "依据县政府通知，高龄津贴改由民政部门主动发放，无需申请"
    answer = post_form(admin_web, path, {"reason": reason})
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/catalogue"
    assert _withdrawn(published, ELDERLY) == (True, reason)
    page = admin_web.get("/admin/catalogue", params={"q": "高龄津贴"})
    assert "已撤销事项“高龄津贴申请代办”" in page.text
    rows = re.findall(r'<tr data-testid="published-row"><td><code>(\w+)</code>', page.text)
    assert rows and ELDERLY not in rows and f'href="{path}"' not in page.text
    assert _count(published, PublishedMatter) == before - 1
    # Its draft is offered again, marked as withdrawn: publishing it brings it back.
    assert 'data-testid="draft-marker">已撤销，重新发布<' in page.text
    # The agent no longer finds it (the village reads the same catalogue here; in the field
    # the withdrawal reaches it with the next sync).
    assert f'data-code="{ELDERLY}"' not in _agent_search(agent, "高龄津贴")

    done = admin_web.get(path)
    assert (
        done.status_code == 200
        and f"已撤销：{reason}" in done.text
        and 'data-testid="withdraw-form"' not in done.text
    )
    again = post_form(admin_web, path, {"reason": "再撤销一次"}, page="/admin/catalogue")
    assert again.status_code == 409 and f"事项 {ELDERLY} 已撤销" in again.text
    assert _withdrawn(published, ELDERLY) == (True, reason)


def test_withdrawing_an_unknown_matter_or_without_the_role(published, admin_web, county_user):
    assert (
        admin_web.get(
            "/admin/catalogue/matters/11430424MB1C5953154000119999001/withdraw"
        ).status_code
        == 404
    )
    assert admin_web.get("/admin/catalogue/matters/not-a-code/withdraw").status_code == 422
    clerk = county_user(Role.COUNTY_WINDOW_CLERK)
    path = f"/admin/catalogue/matters/{ELDERLY}/withdraw"
    assert clerk.get(path).status_code == 403
    refused = post_form(clerk, path, {"reason": "越权撤销"}, page="/portal")
    assert refused.status_code == 403 and _withdrawn(published, ELDERLY) == (False, None)
