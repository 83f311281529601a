"""The technician's day: today's own visits, "on my way" to picked contacts (only usable
ones can be picked), status codes, the service link; someone else's visit is a 404."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import User
from fieldlink.jobs.models import Appointment, DispatchEvent, StatusCode
from fieldlink.messaging.models import Message
from tests.conftest import Tenant
from tests.factories.customers import make_contact, make_method
from tests.office.helpers import make_staff, new_client, post_form, sign_in
from tests.office.seed import TZ, Visit, make_visit, ready_company


def _today() -> datetime:
    return datetime.now(ZoneInfo(TZ))


@pytest.fixture
def tech(session: Session, tenant: Tenant) -> User:
    ready_company(session, tenant.company_id)
    return make_staff(session, tenant.company_id, "technician", name="Tom Torres", email="tom@x.io")


@pytest.fixture
def phone(client: TestClient, tech: User) -> TestClient:
    return sign_in(client, tech.email)


@pytest.fixture
def visit(session: Session, tenant: Tenant, tech: User) -> Visit:
    hour = min(_today().hour + 1, 22)
    return make_visit(
        session,
        tenant.company_id,
        day=_today().date(),
        hour=hour,
        name="Ruth Route",
        technician_ids=(tech.id,),
    )


def test_my_day_lists_only_my_visits_today(
    phone: TestClient, session: Session, tenant: Tenant, visit: Visit
) -> None:
    make_visit(session, tenant.company_id, day=_today().date(), name="Someone Elses")
    page = phone.get("/office/today")
    assert page.status_code == 200
    assert "Ruth Route" in page.text and "Someone Elses" not in page.text


def test_on_my_way_offers_only_reachable_contacts_and_notifies_the_picked_ones(
    phone: TestClient, session: Session, tenant: Tenant, visit: Visit
) -> None:
    landline_only = make_contact(
        session,
        company_id=tenant.company_id,
        customer_id=visit.customer_id,
        name="Lan Line",
        role="site",
        primary=False,
    )
    make_method(
        session,
        company_id=tenant.company_id,
        customer_id=visit.customer_id,
        contact_id=landline_only.id,
        kind="phone",
        phone_type="landline",
    )
    session.commit()
    page = phone.get(f"/office/today/{visit.appointment_id}")
    assert page.status_code == 200
    assert f'value="{landline_only.id}" disabled' in page.text
    eta = _today().replace(hour=min(_today().hour + 1, 23)).strftime("%H:%M")
    r = post_form(
        phone,
        f"/office/today/{visit.appointment_id}/en-route",
        {"eta": eta, "contact_ids": [visit.contact_id]},
    )
    assert r.status_code == 200, r.text
    assert "On my way sent" in r.text and "2 queued" in r.text
    sent = session.scalars(select(Message).where(Message.touchpoint == "en_route")).all()
    assert len(sent) == 2 and {m.contact_id for m in sent} == {visit.contact_id}
    event = session.scalar(select(DispatchEvent).where(DispatchEvent.kind == "en_route"))
    assert event is not None and event.eta is not None
    # A forged form picking the unreachable contact is refused, nothing sent to it.
    forged = post_form(
        phone, f"/office/today/{visit.appointment_id}/en-route", {"contact_ids": [landline_only.id]}
    )
    assert forged.status_code == 422 and "mobile number or an email" in forged.text


def test_a_status_code_and_the_service_link_go_through_the_shared_services(
    phone: TestClient, session: Session, tenant: Tenant, visit: Visit
) -> None:
    working = session.scalar(
        select(StatusCode).where(
            StatusCode.company_id == tenant.company_id, StatusCode.meaning == "working"
        )
    )
    assert working is not None
    r = post_form(
        phone, f"/office/today/{visit.appointment_id}/status", {"status_code_id": working.id}
    )
    assert r.status_code == 200 and "Status saved" in r.text
    appointment = session.get(Appointment, visit.appointment_id)
    session.refresh(appointment)
    assert appointment is not None and appointment.status == "in_progress"
    link = post_form(
        phone,
        f"/office/today/{visit.appointment_id}/service-link",
        {"contact_ids": [visit.contact_id]},
    )
    assert link.status_code == 200 and "Service link sent" in link.text
    assert session.scalar(select(Message).where(Message.touchpoint == "service_link")) is not None


def test_another_technicians_or_companys_visit_answers_404(
    phone: TestClient, session: Session, tenant: Tenant, other_tenant: Tenant
) -> None:
    not_mine = make_visit(session, tenant.company_id, day=_today().date(), name="Not Mine")
    theirs = make_visit(session, other_tenant.company_id, day=_today().date(), name="Rival")
    for v in (not_mine, theirs):
        assert phone.get(f"/office/today/{v.appointment_id}").status_code == 404
        r = post_form(
            phone, f"/office/today/{v.appointment_id}/en-route", {"contact_ids": [v.contact_id]}
        )
        assert r.status_code == 404
    assert session.scalar(select(Message.id)) is None


def test_an_office_user_opens_my_day_too(
    client: TestClient, session: Session, tenant: Tenant, visit: Visit
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    browser = sign_in(new_client(client), owner.email)
    assert browser.get("/office/today").status_code == 200
    assert browser.get(f"/office/today/{visit.appointment_id}").status_code == 404
