"""Customer journeys in headless Chromium: sign a service link on the canvas, pay an invoice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fieldlink.accounts.service import create_company
from fieldlink.jobs.models import Appointment, Invoice
from fieldlink.links.models import WorkAcknowledgement
from fieldlink.links.tokens import make_token
from tests.browser import LiveServer, axe_violations
from tests.factories.links import Visit, make_visit


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> Visit:
    with live_server.session() as session:
        company = create_company(session, name="Acme Heating & Air", company_code="acme-web")
        company.brand_color = "#c0392b"
        session.commit()
        return make_visit(session, company.id)


def _link(live_server: LiveServer, kind: str, company_id: int, object_id: int) -> str:
    token = make_token(
        live_server.settings.secret_key.get_secret_value(),
        kind=kind,
        company_id=company_id,
        object_id=object_id,
        now=datetime.now(UTC),
    )
    return f"{live_server.url}/{kind}/{token}"


def test_a_customer_signs_the_work_acknowledgement_with_the_mouse(
    live_server: LiveServer, browser_page: Any, seeded: Visit
) -> None:
    page = browser_page
    page.goto(_link(live_server, "s", seeded.company.id, seeded.job.id))
    assert page.get_by_role("heading", level=1).inner_text() == "Your visit summary"
    assert axe_violations(page) == []
    page.get_by_label("Your full name").fill("Pat Doe")
    canvas = page.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(
            box["x"] + 20 + step * 20, box["y"] + box["height"] * (0.7 - 0.4 * (step % 2))
        )
    page.mouse.up()
    assert page.get_by_label("Draw my signature").is_checked()  # drawing picks the method
    page.get_by_label("I confirm that the work described above was carried out.").check()
    page.screenshot(path=str(live_server.screenshots / "service-link-signing.png"), full_page=True)
    page.get_by_role("button", name="Sign and submit").click()
    page.wait_for_selector("text=Your signature was recorded")
    assert "Signed by Pat Doe" in page.inner_text("main")
    signature = page.get_by_role("img", name="Signature of Pat Doe")
    assert signature.is_visible()
    assert axe_violations(page) == []
    page.screenshot(path=str(live_server.screenshots / "service-link-signed.png"), full_page=True)
    with live_server.session() as session:
        ack = session.scalar(
            select(WorkAcknowledgement).where(WorkAcknowledgement.job_id == seeded.job.id)
        )
        assert ack is not None and ack.signature_method == "drawn"
        assert ack.signature_png is not None and ack.signature_png.startswith(b"\x89PNG")
        assert len(ack.signature_png) > 500  # real strokes, not an empty canvas
        assert ack.user_agent and "Chrome" in ack.user_agent


def test_a_customer_pays_an_invoice_with_a_test_card_after_a_decline(
    live_server: LiveServer, browser_page: Any, seeded: Visit
) -> None:
    page = browser_page
    page.goto(_link(live_server, "i", seeded.company.id, seeded.invoice.id))
    assert axe_violations(page) == []
    page.get_by_label("Visa ending 0002 (declined)").check()
    page.get_by_role("button", name="Pay now").click()
    page.wait_for_selector("text=Your card was declined.")
    assert axe_violations(page) == []
    page.screenshot(path=str(live_server.screenshots / "invoice-declined.png"), full_page=True)
    page.get_by_label("Visa ending 4242 (approved)").check()
    page.get_by_role("button", name="Pay now").click()
    page.wait_for_selector("text=Your payment of $289.00 was received")
    assert "Paid in full" in page.inner_text("main")
    assert axe_violations(page) == []
    page.screenshot(path=str(live_server.screenshots / "invoice-paid.png"), full_page=True)
    with live_server.session() as session:
        invoice = session.get(Invoice, seeded.invoice.id)
        assert invoice is not None and invoice.status == "paid"


def test_estimate_and_reschedule_pages_work_by_keyboard_and_pass_axe(
    live_server: LiveServer, browser_page: Any, seeded: Visit
) -> None:
    page = browser_page
    page.goto(_link(live_server, "e", seeded.company.id, seeded.estimate.id) + "?lang=es")
    assert axe_violations(page) == []
    page.get_by_label("Comentario (opcional)").fill("Empiecen el lunes, por favor.")
    page.keyboard.press("Tab")  # from the comment to the Approve button
    assert page.evaluate("document.activeElement.textContent") == "Aprobar presupuesto"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Aprobó este presupuesto")
    assert axe_violations(page) == []
    page.screenshot(path=str(live_server.screenshots / "estimate-approved-es.png"), full_page=True)
    with live_server.session() as session:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
        upcoming = Appointment(
            company_id=seeded.company.id,
            job_id=seeded.job.id,
            window_start=start,
            window_end=start + timedelta(hours=2),
            schedule_type="am",
            status="scheduled",
        )
        session.add(upcoming)
        session.commit()
        appointment_id = upcoming.id
    page.goto(_link(live_server, "r", seeded.company.id, appointment_id) + "?lang=en")
    assert axe_violations(page) == []
    page.get_by_label("Please call me to talk about it").check()
    page.get_by_label("Phone number to reach you (optional)").fill("+1 919 555 0142")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_selector("text=Your request was sent")
    assert axe_violations(page) == []
    page.screenshot(path=str(live_server.screenshots / "reschedule-sent.png"), full_page=True)
