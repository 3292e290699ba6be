"""Real-browser checks shared by the browser tests: Debian's Chromium driven by
Playwright, every visited page checked (HTTP 200, no console errors, a title, every
field labelled) and photographed into the artifacts folder."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(os.environ.get("ONETRIP_ARTIFACTS_DIR", Path(__file__).parents[1] / "artifacts"))
CHROMIUM_FLAGS = [
    # As root in a container, and on a machine with no way out: no sandbox, no GPU, and
    # none of Chromium's background calls home (each would be a refused connection).
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# Labels: every visible field must be named by a <label for>, a wrapping <label>,
# aria-label or aria-labelledby.
UNLABELLED_FIELDS_JS = """
() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes((el.type || '').toLowerCase()))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))
"""


def chromium_executable() -> str:
    path = os.environ.get("ONETRIP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            "Chromium not found: install Debian's chromium package (.ci/run does) or set ONETRIP_CHROMIUM"
        )
    return path


class CheckedTab:
    """One browser tab whose every page is checked as it is visited."""

    def __init__(self, page: Any, who: str) -> None:
        self.page = page
        self.who = who
        self.console_errors: list[str] = []
        self.last_status: int | None = None  # of the last navigation
        page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))

    def check(self, name: str, status: int | None = 200) -> None:
        """The page now shown: status, console, title, labels; then a screenshot."""
        page = self.page
        page.wait_for_load_state("load")
        # The picture first: a failing check leaves the page it failed on behind.
        shots = ARTIFACTS / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^0-9A-Za-z_.-]+", "-", f"{self.who}-{name}")
        page.screenshot(path=str(shots / f"{safe}.png"), full_page=True)
        title = page.title()
        assert title.strip(), f"{name}: page has no title"
        unlabelled = page.evaluate(UNLABELLED_FIELDS_JS)
        assert not unlabelled, f"{name}: fields without a label: {unlabelled}"
        errors = self.console_errors
        if status is not None and status != 200:
            # Chromium reports the document's own 4xx status as a console error.
            errors = [
                e
                for e in errors
                if not e.startswith(
                    f"Failed to load resource: the server responded with a status of {status}"
                )
            ]
        assert not errors, f"{name}: console errors: {errors}"
        self.console_errors.clear()
        if status is not None:
            assert self.last_status == status, f"{name}: HTTP {self.last_status}"

    def visit(self, url: str, name: str) -> None:
        response = self.page.goto(url)
        self.last_status = response.status if response else None
        self.check(name)

    def submit(self, button_selector: str, name: str, status: int = 200) -> None:
        """Click a submit button and check the page the form leads to (after redirects)."""
        with self.page.expect_navigation() as navigation:
            self.page.click(button_selector)
        response = navigation.value
        self.last_status = response.status if response else None
        self.check(name, status)

    def log_in(self, base_url: str, username: str, password: str, status: int = 200) -> None:
        self.visit(f"{base_url}/login", "login")
        self.page.fill("#f-username", username)
        self.page.fill("#f-password", password)
        self.submit(
            "button[type=submit].primary",
            "after-login" if status == 200 else "login-refused",
            status,
        )
