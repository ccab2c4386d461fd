"""Browser tests of the dashboard: Debian's ``chromium`` driven by Playwright for Python
(``chromium.launch(executable_path=...)``; ``playwright install`` cannot download here).

Without Chromium the tests are skipped, and the run's summary says so and why. Screenshots of
every page land in ``build/screenshots/`` (look at them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, LiveServer, run_cli

SCREENSHOTS = ROOT / "build" / "screenshots"
_CHROMIUM = os.environ.get("LLMOBSERVE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
_SKIP = (
    "browser tests skipped: no Chromium found (apt-get install chromium, or set LLMOBSERVE_CHROMIUM "
    "to its path); .ci/run installs it"
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _CHROMIUM is None and any(
        os.sep + "dashboard" + os.sep in str(r.fspath) for r in terminalreporter.stats.get("skipped", [])
    ):
        terminalreporter.write_line(f"NOTE: {_SKIP}", yellow=True, bold=True)


# Per module, not per session: Playwright's sync API keeps an event loop running in the main thread
# while it is open, and the suite's later asyncio.run() calls (the SDK's async tests) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if _CHROMIUM is None:
        pytest.skip(_SKIP)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=_CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Dash:
    """A tenant with the demo's runs, its keys, and a signed-in browser page on the live server."""

    server: LiveServer
    tenant: str
    admin: str
    reader: str
    page: Any

    @property
    def url(self) -> str:
        return self.server.http_url

    def api(self, path: str, **params: object) -> Any:
        """What the API answers the same tenant (the figures the pages must show)."""
        response = httpx.get(
            f"{self.url}{path}", params=params, timeout=60, headers={"authorization": f"Bearer {self.admin}"}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def open(self, path: str) -> Any:
        self.page.goto(self.url + path)  # returns at the load event: the page's script has drawn its charts
        return self.page

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target


def sign_in(page: Any, url: str, key: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=key]", key)
    with page.expect_navigation():  # the redirect to the page asked for, loaded
        page.click("form[action='/login'] button[type=submit]")


def open_session(browser: Any, url: str, key: str) -> Any:
    """A page in a browser context of its own (its own cookies), signed in with ``key``; close it
    with ``page.context.close()``."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, url, key)
    return page


_seeded: dict[str, tuple[str, str]] = {}


def seeded_tenant(server: LiveServer, tenant: str) -> tuple[str, str]:
    """(admin key, read key) of a tenant holding `llmobserve demo`'s 40 runs (196 spans), once per session."""
    if tenant not in _seeded:
        admin, reader = server.create_key(tenant, "admin"), server.create_key(tenant, "read")
        done = run_cli("demo", "--endpoint", server.grpc_target, "--api-key", admin)
        assert done.returncode == 0, done.stderr
        _seeded[tenant] = (admin, reader)
    return _seeded[tenant]


@pytest.fixture
def dash(server: LiveServer, browser: Any) -> Iterator[Dash]:
    admin, reader = seeded_tenant(server, "dash")
    page = open_session(browser, server.http_url, admin)
    yield Dash(server, "dash", admin, reader, page)
    page.context.close()
