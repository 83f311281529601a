"""The portal in headless Chromium: log in, browse the history, request service, switch
to Spanish, log out; every page checked with axe (no serious or critical violations)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from fieldlink.accounts.models import User
from fieldlink.accounts.service import create_company
from tests.browser import LiveServer, axe_violations
from tests.portal.helpers import PASSWORD, Seed, seed, set_portal


@pytest.fixture(scope="module")
def portal_seed(live_server: LiveServer) -> Seed:
    with live_server.session() as session:
        company = create_company(session, name="Acme Heating & Air", company_code="acme")
        company.brand_color = "#c2410c"
        company.website = "https://acme.example"
        company.sender_email = "office@acme.example"
        session.add(
            User(company_id=company.id, name="Olga", email="olga@acme.example", role="owner")
        )
        session.flush()
        result = seed(session, company.id)
        set_portal(session, result.company, allow_uploads=True, job_types=["Repair", "Tune-up"])
        session.commit()
        return result


def _shot(live_server: LiveServer, page: Any, name: str) -> None:
    page.screenshot(path=str(live_server.screenshots / f"portal-{name}.png"), full_page=True)


def test_customer_logs_in_browses_requests_service_and_switches_to_spanish(
    live_server: LiveServer, browser_page: Any, portal_seed: Seed
) -> None:
    page = browser_page
    base = f"{live_server.url}/portal/{portal_seed.code}"
    page.goto(f"{base}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Customer portal"
    assert axe_violations(page) == []
    _shot(live_server, page, "login")

    page.get_by_label("Login ID").fill("oakstreet")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    assert "not right" in page.get_by_role("alert").inner_text()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/dashboard")
    assert "Welcome, Oak Street Offices" in page.get_by_role("heading", level=1).inner_text()
    assert axe_violations(page) == []
    _shot(live_server, page, "dashboard")

    page.get_by_role("link", name="Service history").first.click()
    page.wait_for_url(f"{base}/history")
    assert page.locator("#history tbody tr").count() == 3
    page.get_by_label("Search").fill("furnace")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("#history tbody tr").count() == 1
    assert axe_violations(page) == []
    _shot(live_server, page, "history")
    page.get_by_role("link", name=f"View job {portal_seed.old_job.id}").click()
    assert "Furnace repair" in page.content()
    assert axe_violations(page) == []

    for path in ("history", "sales", "payments", "payment-methods", "uploads", "sub-customers"):
        page.goto(f"{base}/{path}")
        assert axe_violations(page) == [], path
        # Mobile first: wide tables scroll in their box; the page itself never sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.goto(f"{base}/invoices/{portal_seed.invoice.id}")
    assert axe_violations(page) == []

    page.get_by_role("link", name="Request service").first.click()
    assert axe_violations(page) == []
    page.get_by_label("Service address").select_option(label="120 Oak St, Raleigh, NC, 27601")
    page.get_by_label("Job type").select_option("Repair")
    page.get_by_label("Preferred date").fill((date.today() + timedelta(days=2)).isoformat())
    page.get_by_label("Preferred time").select_option("pm")
    page.get_by_label("What do you need?").fill("The AC is making a grinding noise.")
    _shot(live_server, page, "service-request")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(f"{base}/dashboard?requested=1")
    assert "Your service request was sent" in page.get_by_role("status").inner_text()
    assert "Repair" in page.content()

    # Pay the open invoice from the dashboard with a new (test) card.
    page.get_by_role("link", name=f"Pay {portal_seed.invoice.number}").first.click()
    assert axe_violations(page) == []
    page.get_by_label("A new card").check()
    page.get_by_label("Visa ending 0002 (declined)").check()
    page.get_by_role("button", name="Pay now").click()
    assert "Your card was declined" in page.get_by_role("alert").inner_text()
    page.get_by_label("A new card").check()
    page.get_by_label("Visa ending 4242 (approved)").check()
    page.get_by_role("button", name="Pay now").click()
    assert "Your payment of $289.00 was received" in page.get_by_role("status").inner_text()
    _shot(live_server, page, "paid")
    page.goto(f"{base}/payments")
    assert portal_seed.invoice.number in page.locator("#payments").inner_text()
    page.goto(f"{base}/dashboard")

    page.get_by_role("link", name="Español").click()
    assert "Bienvenido" in page.get_by_role("heading", level=1).inner_text()
    assert page.evaluate("document.documentElement.lang") == "es"
    assert axe_violations(page) == []
    _shot(live_server, page, "dashboard-es")
    page.get_by_role("link", name="Historial de servicios").first.click()
    assert "Historial de servicios" in page.get_by_role("heading", level=1).inner_text()

    page.get_by_role("button", name="Cerrar sesión").click()
    assert "Ha cerrado sesión" in page.content()
    page.goto(f"{base}/dashboard")
    assert page.url == f"{base}/login"


def test_request_account_form_is_accessible(
    live_server: LiveServer, browser_page: Any, portal_seed: Seed
) -> None:
    page = browser_page
    page.goto(f"{live_server.url}/portal/{portal_seed.code}/request-account")
    page.get_by_role("button", name="Send request").click()  # the browser's own checks first
    page.get_by_label("Your name").fill("Maria")
    page.get_by_label("Email").fill("maria@example.com")
    page.get_by_label("Login ID you would like").fill("maria")
    page.get_by_label("Password (at least 10 characters)").fill("short-pw-1")
    page.get_by_role("button", name="Send request").click()
    assert "will check your request" in page.get_by_role("status").inner_text()
    assert axe_violations(page) == []
    _shot(live_server, page, "request-account")
