"""The shared layout in a real browser: readable on a phone, keyboard-usable, axe-clean."""

from __future__ import annotations

from typing import Any

from tests.browser import LiveServer, axe_violations


def test_error_page_in_chromium_is_accessible_and_switches_language(
    live_server: LiveServer, browser_page: Any
) -> None:
    page = browser_page
    response = page.goto(f"{live_server.url}/o/no/such/page")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    # The skip link is the first thing a keyboard user reaches.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert axe_violations(page) == []
    page.get_by_role("link", name="Español").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Página no encontrada"
    assert page.evaluate("document.documentElement.lang") == "es"
    page.screenshot(path=str(live_server.screenshots / "error-page-es.png"))
