"""Office journeys in headless Chromium: sign in, edit a template with live preview, send
bulk reminders, reply in the inbox (a new text appears without reload), a technician marks
"on my way" on a phone; every page axe-clean (no serious or critical violations)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import create_company
from fieldlink.customers.models import Customer
from fieldlink.db import utcnow
from fieldlink.messaging.models import Message
from fieldlink.sms import inbound
from tests.browser import LiveServer, axe_violations
from tests.office.helpers import PASSWORD, make_staff
from tests.office.seed import TZ, make_visit


@dataclass(frozen=True)
class Seeded:
    owner: str
    tech: str
    conversation_id: int
    appointment_id: int
    company_id: int


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> Iterator[Seeded]:
    today = datetime.now(ZoneInfo(TZ))
    with live_server.session() as session:
        company = create_company(
            session,
            name="Acme Heating & Air",
            company_code="acme-browser",
            sms_number="+19195550199",
            sender_email="service@acme.example",
            brand_color="#c2410c",
            time_zone=TZ,
        )
        session.commit()
        owner = make_staff(
            session, company.id, "owner", email="olivia@acme.example", name="Olivia Owens"
        )
        tech = make_staff(
            session, company.id, "technician", email="tom@acme.example", name="Tom Torres"
        )
        visit = make_visit(
            session,
            company.id,
            day=today.date(),
            hour=min(today.hour + 1, 22),
            name="Maria Smith",
            technician_ids=(tech.id,),
        )
        make_visit(
            session,
            company.id,
            day=today.date(),
            hour=min(today.hour + 2, 22),
            name="Dee Nope",
            do_not_service=True,
        )
        result = inbound.receive_text(
            session,
            company=company,
            sender="+19195550777",
            body="Is the tech still coming?",
            sid="SM" + "1" * 32,
            base_url=live_server.url,
            now=utcnow(),
        )
        session.commit()
        yield Seeded(
            owner.email, tech.email, result.text.conversation_id, visit.appointment_id, company.id
        )


def sign_in(page: Any, live_server: LiveServer, email: str) -> None:
    page.goto(f"{live_server.url}/office/login")
    assert axe_violations(page) == []
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_template_editor_previews_as_you_type_and_saves(
    live_server: LiveServer, seeded: Seeded, browser_page: Any
) -> None:
    page = browser_page
    sign_in(page, live_server, seeded.owner)
    assert page.get_by_role("heading", level=1).inner_text().startswith("Dashboard")
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/office/settings/templates/service_reminder/sms")
    body = page.get_by_label("Text", exact=True)
    body.fill("Hi {{ contact.first_name }}! {{ company.name }} visits {{ appointment.date }}.")
    preview = page.get_by_test_id("preview-body")
    preview.filter(has_text="Hi Maria! Acme Heating & Air visits Tuesday, March 3.").wait_for()
    assert "SMS segments: 1" in page.locator("#segments").inner_text()
    assert axe_violations(page) == []
    page.screenshot(
        path=str(live_server.screenshots / "office-template-preview.png"), full_page=True
    )
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved. New messages use this wording.").wait_for()


def test_bulk_reminders_from_the_appointment_list(
    live_server: LiveServer, seeded: Seeded, browser_page: Any
) -> None:
    page = browser_page
    sign_in(page, live_server, seeded.owner)
    page.get_by_role("link", name="Appointments").click()
    page.get_by_label("Select all shown").check()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Send reminders").click()
    result = page.locator("#send-result")
    result.wait_for()
    text = result.inner_text()
    assert "2 queued" in text and "Do not service" in text
    assert axe_violations(page) == []
    page.screenshot(path=str(live_server.screenshots / "office-bulk-reminders.png"), full_page=True)


def test_reply_in_the_inbox_and_a_new_text_appears_without_reload(
    live_server: LiveServer, seeded: Seeded, browser_page: Any
) -> None:
    page = browser_page
    sign_in(page, live_server, seeded.owner)
    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("link", name="+19195550777").click()
    page.get_by_text("Is the tech still coming?").wait_for()
    assert axe_violations(page) == []
    page.get_by_label("Reply from the company number").fill("Yes, Tom is 10 minutes away.")
    page.get_by_role("button", name="Send reply").click()
    page.locator("#texts").get_by_text("Yes, Tom is 10 minutes away.").wait_for()
    with live_server.session() as session:
        company = session.get(Company, seeded.company_id)
        assert company is not None
        inbound.receive_text(
            session,
            company=company,
            sender="+19195550777",
            body="Great, thanks!",
            sid="SM" + "2" * 32,
            base_url=live_server.url,
            now=utcnow(),
        )
        session.commit()
        reply = session.scalar(select(Message).where(Message.touchpoint == "conversation_reply"))
        assert reply is not None and reply.to == "+19195550777"
    page.locator("#texts").get_by_text("Great, thanks!").wait_for(timeout=15_000)
    page.screenshot(path=str(live_server.screenshots / "office-inbox-thread.png"), full_page=True)


def test_a_technician_marks_on_my_way_on_a_phone(
    live_server: LiveServer, seeded: Seeded, browser_page: Any
) -> None:
    page = browser_page
    sign_in(page, live_server, seeded.tech)
    assert page.get_by_role("heading", level=1).inner_text().startswith("My day")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Maria Smith").click()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Send on my way").click()
    page.get_by_text("On my way sent").wait_for()
    assert "queued" in page.locator("#send-result").inner_text()
    page.screenshot(
        path=str(live_server.screenshots / "office-technician-en-route.png"), full_page=True
    )
    with live_server.session() as session:
        sent = session.scalars(
            select(Message).where(
                Message.touchpoint == "en_route", Message.appointment_id == seeded.appointment_id
            )
        ).all()
        assert sent and all(m.status == "queued" for m in sent)


def test_every_office_page_is_axe_clean_in_english_and_spanish(
    live_server: LiveServer, seeded: Seeded, browser_page: Any
) -> None:
    page = browser_page
    sign_in(page, live_server, seeded.owner)
    with live_server.session() as session:
        message_id = session.scalar(
            select(Message.id).where(Message.company_id == seeded.company_id)
        )
        customer_id = session.scalar(
            select(Customer.id).where(Customer.company_id == seeded.company_id)
        )
    paths = [
        "/office/",
        "/office/customers",
        f"/office/customers/{customer_id}",
        "/office/messages",
        f"/office/messages/{message_id}",
        "/office/inbox",
        f"/office/inbox/{seeded.conversation_id}",
        "/office/settings",
        "/office/settings/templates",
        "/office/settings/users",
        "/office/today",
    ]
    for lang in ("en", "es"):
        for path in paths:
            response = page.goto(f"{live_server.url}{path}{'&' if '?' in path else '?'}lang={lang}")
            assert response.status == 200, path
            assert axe_violations(page) == [], (lang, path)
    page.goto(f"{live_server.url}/office/settings?lang=es")
    assert page.get_by_role("heading", level=1).inner_text() == "Ajustes"
    page.screenshot(path=str(live_server.screenshots / "office-settings-es.png"), full_page=True)
    page.goto(f"{live_server.url}/office/?lang=en")
    page.screenshot(path=str(live_server.screenshots / "office-dashboard.png"), full_page=True)
