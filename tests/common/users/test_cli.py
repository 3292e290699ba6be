"""``onetrip user ...`` on a real root data directory."""

from __future__ import annotations

from onetrip_testing import COUNTY_ID
from typer.testing import CliRunner

from common.db import transaction
from common.users.cli import users_app
from common.users.service import actor_for_token, get_user

runner = CliRunner()


def _run(node, *args: str, input: str | None = None):
    return runner.invoke(
        users_app, list(args), env={"ONETRIP_DATA_DIR": str(node.settings.data_dir)}, input=input
    )


def test_add_list_token_passwd(root_node) -> None:
    added = _run(
        root_node,
        "add",
        "--username",
        "clerk",
        "--display-name",
        "王窗口",
        "--role",
        "county_window_clerk",
        input="chuangkou-2026\nchuangkou-2026\n",
    )
    assert added.exit_code == 0, added.output
    assert "chuangkou-2026" not in added.output
    listed = _run(root_node, "list")
    assert "clerk\t王窗口\t县综合窗口人员" in listed.output

    issued = _run(root_node, "token", "--username", "clerk", "--label", "自助机")
    token = issued.output.strip()
    assert issued.exit_code == 0 and token.startswith("ot_")
    with transaction(root_node.engine) as session:
        assert actor_for_token(session, COUNTY_ID, token).username == "clerk"

    assert (
        _run(root_node, "passwd", "--username", "clerk", "--password", "new-chuangkou-1").exit_code
        == 0
    )
    with transaction(root_node.engine) as session:
        assert get_user(session, COUNTY_ID, "clerk").password_version == 2


def test_refusals_are_printed_not_raised(root_node) -> None:
    result = _run(
        root_node,
        "add",
        "--username",
        "agent",
        "--display-name",
        "李村代",
        "--role",
        "village_agent",
        "--password",
        "cunmin-2026",
    )
    assert result.exit_code == 1
    assert "users.role_tier" in result.output and "Traceback" not in result.output
