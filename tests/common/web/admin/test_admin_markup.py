"""Every admin screen: one <h1>, a title, unique ids, a label for every input, <th> in tables."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from onetrip_testing import VILLAGE_ID


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.inputs: list[tuple[str, str | None, bool]] = []  # (tag, id, inside a label)
        self.h1 = 0
        self.tables = 0
        self.th = 0
        self._label_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"] or "")
        if tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"] or "")
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.inputs.append((tag, a.get("id"), self._label_depth > 0))
        elif tag == "h1":
            self.h1 += 1
        elif tag == "table":
            self.tables += 1
        elif tag == "th":
            self.th += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1


@pytest.mark.parametrize(
    "path",
    [
        "/admin/health",
        "/admin/catalogue",
        "/admin/calendar",
        "/admin/nodes",
        "/admin/users",
        "/admin/users/430424000000/admin",
        f"/admin/nodes/{VILLAGE_ID}/revoke",
    ],
)
def test_admin_screens_are_labelled_and_structured(tree, admin_web, path):
    page = admin_web.get(path)
    assert page.status_code == 200
    markup = _Markup()
    markup.feed(page.text)
    assert markup.h1 == 1
    assert "<title>" in page.text and "<title> ·" not in page.text
    assert len(markup.ids) == len(set(markup.ids)), sorted(
        i for i in markup.ids if markup.ids.count(i) > 1
    )
    unlabelled = [
        (tag, id_)
        for tag, id_, wrapped in markup.inputs
        if not wrapped and id_ not in markup.label_for
    ]
    assert unlabelled == []
    assert markup.tables == 0 or markup.th >= markup.tables
