"""The message log: filters, "why was this not sent", secrets hidden, tenancy."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.messaging.models import Message
from tests.conftest import Tenant
from tests.office.helpers import make_staff, new_client, post_form, sign_in
from tests.office.seed import make_visit, ready_company

DAY = date(2031, 3, 4)


@pytest.fixture
def office(client: TestClient, session: Session, tenant: Tenant) -> TestClient:
    ready_company(session, tenant.company_id)
    return sign_in(client, make_staff(session, tenant.company_id, "dispatcher").email)


def _remind(office: TestClient) -> None:
    r = post_form(
        office,
        "/office/appointments/reminders",
        {
            "date_from": DAY.isoformat(),
            "date_to": DAY.isoformat(),
            "scope": "filter",
            "contact_roles": ["owner"],
            "channels": ["sms", "email"],
        },
    )
    assert r.status_code == 200


def test_the_log_filters_by_status_and_explains_a_suppressed_message(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    make_visit(session, tenant.company_id, day=DAY, name="Ann Early")
    dns = make_visit(session, tenant.company_id, day=DAY, name="Dee Nope", do_not_service=True)
    _remind(office)
    everything = office.get("/office/messages")
    assert everything.status_code == 200
    assert "Ann Early" in everything.text and "Dee Nope" in everything.text
    suppressed = office.get("/office/messages", params={"status": "suppressed"})
    assert "Dee Nope" in suppressed.text and "Ann Early" not in suppressed.text
    one_customer = office.get("/office/messages", params={"customer_id": dns.customer_id})
    assert "Dee Nope" in one_customer.text and "Ann Early" not in one_customer.text
    message = session.scalar(
        select(Message).where(Message.customer_id == dns.customer_id, Message.channel == "sms")
    )
    assert message is not None
    why = office.get(f"/office/messages/{message.id}")
    assert why.status_code == 200
    assert "Why was this not sent?" in why.text
    assert "The customer is marked Do not service." in why.text and "do_not_service" in why.text


def test_a_password_reset_link_is_never_shown_in_the_log(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    post_form(new_client(office), "/office/password-reset", {"email": owner.email})
    message = session.scalar(select(Message).where(Message.touchpoint == "staff_password_reset"))
    assert message is not None and "/office/password-reset/" in message.body
    page = office.get(f"/office/messages/{message.id}")
    assert page.status_code == 200 and "/office/password-reset/" not in page.text
    assert "/office/password-reset/" not in office.get("/office/messages").text


def test_another_companys_message_answers_404(
    office: TestClient, session: Session, tenant: Tenant, other_tenant: Tenant
) -> None:
    ready_company(session, other_tenant.company_id)
    make_visit(session, other_tenant.company_id, day=DAY, name="Rival Customer")
    rival = sign_in(new_client(office), make_staff(session, other_tenant.company_id).email)
    _remind(rival)
    theirs = session.scalar(select(Message.id).where(Message.company_id == other_tenant.company_id))
    assert theirs is not None
    assert office.get(f"/office/messages/{theirs}").status_code == 404
    assert "Rival Customer" not in office.get("/office/messages").text
    assert office.get("/office/messages/0").status_code == 404
