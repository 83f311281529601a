"""The customer page: flags, contacts, consent and eligibility with reasons, messages,
opt-in requests; and another company's customer answers 404."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.consent.models import ConsentEvent
from fieldlink.customers.models import ContactMethod
from fieldlink.messaging.models import Message
from fieldlink.sms.models import OptInRequest
from tests.conftest import Tenant
from tests.factories.customers import make_method
from tests.office.helpers import make_staff, post_form, sign_in
from tests.office.seed import make_visit, ready_company

DAY = date(2031, 3, 4)


@pytest.fixture
def office(client: TestClient, session: Session, tenant: Tenant) -> TestClient:
    ready_company(session, tenant.company_id)
    return sign_in(client, make_staff(session, tenant.company_id, "owner").email)


def test_the_page_shows_flags_contacts_and_why_a_channel_is_blocked(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    v = make_visit(session, tenant.company_id, day=DAY, name="Dee Nope", do_not_service=True)
    page = office.get(f"/office/customers/{v.customer_id}")
    assert page.status_code == 200
    assert "Do not service" in page.text and "Dee Nope" in page.text
    assert "The customer is marked Do not service." in page.text
    assert "Owner" in page.text and "Primary" in page.text


def test_the_message_timeline_shows_suppressed_messages_with_the_reason(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    v = make_visit(session, tenant.company_id, day=DAY, name="Lana Line")
    mobile = session.get(ContactMethod, v.mobile_id)
    assert mobile is not None
    mobile.phone_type = "landline"
    session.commit()
    post_form(
        office,
        "/office/appointments/reminders",
        {
            "date_from": DAY.isoformat(),
            "date_to": DAY.isoformat(),
            "scope": "filter",
            "contact_roles": ["owner"],
            "channels": ["sms"],
        },
    )
    page = office.get(f"/office/customers/{v.customer_id}")
    assert "Service reminder" in page.text and "Not sent" in page.text
    assert "texts go to mobiles" in page.text


def test_send_opt_in_request_texts_the_mobile_and_records_pending_consent(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    v = make_visit(session, tenant.company_id, day=DAY, name="Opt Inner")
    page = office.get(f"/office/customers/{v.customer_id}")
    assert f"/methods/{v.mobile_id}/opt-in-request" in page.text
    r = post_form(
        office, f"/office/customers/{v.customer_id}/methods/{v.mobile_id}/opt-in-request", {}
    )
    assert r.status_code == 303 and "notice=opt_in_sent" in r.headers["location"]
    request = session.scalar(
        select(OptInRequest).where(OptInRequest.contact_method_id == v.mobile_id)
    )
    assert request is not None and request.status == "pending"
    assert session.scalar(select(Message).where(Message.touchpoint == "opt_in_request")) is not None
    event = session.scalar(
        select(ConsentEvent).where(ConsentEvent.contact_method_id == v.mobile_id)
    )
    assert (
        event is not None and event.new_value == "pending" and "office user" in (event.actor or "")
    )
    # DESIGN.md: never resend to a number that has not answered.
    again = post_form(
        office, f"/office/customers/{v.customer_id}/methods/{v.mobile_id}/opt-in-request", {}
    )
    assert "notice=opt_in_pending" in again.headers["location"]
    shown = office.get(again.headers["location"])
    assert "has not answered the last request" in shown.text


def test_search_finds_a_customer_by_phone(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    v = make_visit(session, tenant.company_id, day=DAY, name="Findable Person")
    make_method(
        session,
        company_id=tenant.company_id,
        customer_id=v.customer_id,
        kind="phone",
        value="+19195550142",
        contact_id=v.contact_id,
    )
    session.commit()
    found = office.get("/office/customers", params={"q": "(919) 555-0142"})
    assert found.status_code == 200 and "Findable Person" in found.text


def test_another_companys_customer_and_method_answer_404(
    office: TestClient, session: Session, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = make_visit(session, other_tenant.company_id, day=DAY, name="Rival Customer")
    assert office.get(f"/office/customers/{theirs.customer_id}").status_code == 404
    assert office.get("/office/customers/99999999999").status_code == 404
    mine = make_visit(session, tenant.company_id, day=DAY, name="Mine")
    r = post_form(
        office,
        f"/office/customers/{mine.customer_id}/methods/{theirs.mobile_id}/opt-in-request",
        {},
    )
    assert r.status_code == 404
    assert session.scalar(select(OptInRequest.id)) is None


def test_the_page_lists_work_acknowledgements_signed_on_the_customers_jobs(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    from fieldlink.db import utcnow
    from fieldlink.links.models import WorkAcknowledgement

    v = make_visit(session, tenant.company_id, day=DAY, name="Ann Signer")
    other = make_visit(session, tenant.company_id, day=DAY, name="Bo Other")
    for visit, signer in ((v, "Ann Signer"), (other, "Bo Other")):
        session.add(
            WorkAcknowledgement(
                company_id=tenant.company_id,
                job_id=visit.job_id,
                signer_name=signer,
                signature_method="typed",
                summary_text="Replaced the igniter.",
                summary_sha256="0" * 64,
                signed_at=utcnow(),
            )
        )
    session.commit()
    page = office.get(f"/office/customers/{v.customer_id}").text
    assert f"#{v.job_id}" in page and "Ann Signer" in page
    assert "Bo Other" not in page.split("Signed acknowledgements")[1].split("</section>")[0]
