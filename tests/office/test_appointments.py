"""The appointment list: filters, and bulk service reminders with counts by reason."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.messaging.models import Message
from tests.conftest import Tenant
from tests.office.helpers import make_staff, post_form, sign_in
from tests.office.seed import make_visit, ready_company

DAY = date(2031, 3, 4)


@pytest.fixture
def office(client: TestClient, session: Session, tenant: Tenant) -> TestClient:
    ready_company(session, tenant.company_id)
    return sign_in(client, make_staff(session, tenant.company_id, "dispatcher").email)


def _filter(**extra: str) -> dict[str, str]:
    return {
        "date_from": DAY.isoformat(),
        "date_to": DAY.isoformat(),
        "status": "scheduled",
        **extra,
    }


def test_the_list_shows_the_days_appointments_and_filters_by_technician(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    tom = make_staff(session, tenant.company_id, "technician", name="Tom Torres", email="t@x.io")
    make_visit(session, tenant.company_id, day=DAY, name="Ann Early", technician_ids=(tom.id,))
    make_visit(session, tenant.company_id, day=DAY, hour=14, name="Bob Late")
    make_visit(session, tenant.company_id, day=DAY + timedelta(days=3), name="Cy Next Week")
    page = office.get("/office/appointments", params=_filter())
    assert page.status_code == 200
    assert "Ann Early" in page.text and "Bob Late" in page.text and "Cy Next Week" not in page.text
    assert "2 appointments match" in page.text
    only_tom = office.get("/office/appointments", params=_filter(technician_id=str(tom.id)))
    assert "Ann Early" in only_tom.text and "Bob Late" not in only_tom.text


def test_a_bad_date_in_the_filter_answers_a_readable_page_not_an_error(
    office: TestClient,
) -> None:
    page = office.get("/office/appointments", params=_filter(date_from="03/04/2031"))
    assert page.status_code == 422 and "Use a date like 2026-03-02." in page.text


def test_bulk_reminders_to_selected_rows_report_queued_and_suppressed_by_reason(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    ok = make_visit(session, tenant.company_id, day=DAY, name="Ann Early")
    dns = make_visit(session, tenant.company_id, day=DAY, name="Dee Nope", do_not_service=True)
    skipped = make_visit(session, tenant.company_id, day=DAY, name="Not Chosen")
    r = post_form(
        office,
        "/office/appointments/reminders",
        {
            **_filter(),
            "scope": "selected",
            "appointment_ids": [ok.appointment_id, dns.appointment_id],
            "contact_roles": ["owner"],
            "channels": ["sms", "email"],
        },
    )
    assert r.status_code == 200, r.text
    assert "2 queued" in r.text
    assert "The customer is marked Do not service." in r.text and "do_not_service" in r.text
    reminders = session.scalars(
        select(Message).where(Message.touchpoint == "service_reminder")
    ).all()
    assert {m.appointment_id for m in reminders} == {ok.appointment_id, dns.appointment_id}
    assert {m.status for m in reminders if m.customer_id == dns.customer_id} == {"suppressed"}
    assert skipped.appointment_id not in {m.appointment_id for m in reminders}


def test_bulk_reminders_to_the_whole_filter_and_a_repeat_counts_duplicates(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    for n in range(3):
        make_visit(session, tenant.company_id, day=DAY, hour=8 + n, name=f"Cust {n}")
    form = {**_filter(), "scope": "filter", "contact_roles": ["owner"], "channels": ["sms"]}
    first = post_form(office, "/office/appointments/reminders", form)
    assert "3 queued" in first.text and "3 appointments" in first.text
    again = post_form(office, "/office/appointments/reminders", form)
    assert "0 queued" in again.text and "duplicate" in again.text


def test_bulk_reminders_need_a_role_and_a_selection(office: TestClient) -> None:
    no_role = post_form(
        office,
        "/office/appointments/reminders",
        {**_filter(), "channels": ["sms"], "scope": "filter"},
    )
    assert no_role.status_code == 422 and "Choose at least one contact role." in no_role.text
    nothing = post_form(
        office,
        "/office/appointments/reminders",
        {**_filter(), "contact_roles": ["owner"], "channels": ["sms"], "scope": "selected"},
    )
    assert nothing.status_code == 422 and "Select appointments" in nothing.text


def test_another_companys_appointment_ids_get_no_reminder(
    office: TestClient, session: Session, tenant: Tenant, other_tenant: Tenant
) -> None:
    ready_company(session, other_tenant.company_id)
    theirs = make_visit(session, other_tenant.company_id, day=DAY, name="Rival Customer")
    r = post_form(
        office,
        "/office/appointments/reminders",
        {
            **_filter(),
            "scope": "selected",
            "appointment_ids": [theirs.appointment_id],
            "contact_roles": ["owner"],
            "channels": ["sms"],
        },
    )
    assert r.status_code == 200 and "0 queued" in r.text
    assert (
        session.scalar(select(Message.id).where(Message.company_id == other_tenant.company_id))
        is None
    )
