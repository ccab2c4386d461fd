"""The page a recipient's confirmation link opens, in a real browser: it says what the address is
agreeing to, confirms only on the button, and a used link says so."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveServer
from tests.dashboard.conftest import SCREENSHOTS
from tests.standin.sendgrid_api import StandInSendGrid

_LINK = re.compile(r"http://[^\s\"<>]+/confirm-recipient\?token=[A-Za-z0-9_\-]+")


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_recipient_confirms_with_the_button_and_a_used_link_says_so(browser: Any, tmp_path: Path) -> None:
    with StandInSendGrid() as sendgrid:
        server = LiveServer(
            tmp_path / "data", env={"SENDGRID_API_KEY": sendgrid.api_key, "LLMOBSERVE_SENDGRID_HOST": sendgrid.url}
        ).start()
        try:
            admin = server.create_key("confirm-page", "admin")
            made = httpx.post(
                f"{server.http_url}/api/v1/caps",
                json={"scope": "global", "limit_usd": "5", "recipients": ["ops@page.example"]},
                headers={"authorization": f"Bearer {admin}"},
                timeout=60,
            )
            assert made.status_code == 201, made.text
            [mail] = sendgrid.messages
            text = next(c["value"] for c in mail.json["content"] if c["type"] == "text/plain")
            link = _LINK.search(text)
            assert link is not None, text

            page = browser.new_context(viewport={"width": 1000, "height": 700}).new_page()
            opened = page.goto(link.group(0))
            assert opened.status == 200 and "ops@page.example" in page.inner_text("body")
            _shot(page, "confirm-recipient-pending")
            with page.expect_navigation():
                page.click("button[type=submit]")
            assert "confirmed" in page.inner_text("body").lower()
            _shot(page, "confirm-recipient-done")
            again = page.goto(link.group(0))
            assert again.status == 410
            _shot(page, "confirm-recipient-used")
            page.context.close()

            [cap] = httpx.get(
                f"{server.http_url}/api/v1/caps", headers={"authorization": f"Bearer {admin}"}, timeout=60
            ).json()["data"]
            assert [s["confirmed"] for s in cap["recipients_status"]] == [True]
        finally:
            server.stop()
