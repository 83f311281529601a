"""Seed a customer with a portal login and some history, and log a client in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import settings_of
from fieldlink.customers.models import Customer, Location
from fieldlink.jobs.models import Appointment, Invoice, Job, Payment, PaymentMethod
from fieldlink.portal.auth import hash_password
from fieldlink.portal.models import PortalAccount

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Seed:
    company: Company
    customer: Customer
    sub: Customer
    account: PortalAccount
    home: Location
    office: Location
    pickup: Location
    old_job: Job
    recent_job: Job
    sub_job: Job
    invoice: Invoice
    paid_invoice: Invoice
    sale: Invoice
    card: PaymentMethod
    payment: Payment

    @property
    def code(self) -> str:
        return self.company.company_code


def set_portal(session: Session, company: Company, **toggles: Any) -> None:
    settings = settings_of(company).model_dump()
    settings["portal"].update(toggles)
    company.settings = settings
    session.flush()


def _location(session: Session, customer: Customer, line1: str, kind: str = "service") -> Location:
    loc = Location(
        company_id=customer.company_id,
        customer_id=customer.id,
        kind=kind,
        line1=line1,
        city="Raleigh",
        region="NC",
        postcode="27601",
        country="US",
    )
    session.add(loc)
    session.flush()
    return loc


def _job(
    session: Session, customer: Customer, location: Location, when: datetime, **fields: Any
) -> Job:
    job = Job(
        company_id=customer.company_id,
        customer_id=customer.id,
        location_id=location.id,
        custom_fields=fields.pop("custom_fields", {}),
        **fields,
    )
    session.add(job)
    session.flush()
    session.add(
        Appointment(
            company_id=customer.company_id,
            job_id=job.id,
            window_start=when,
            window_end=when + timedelta(hours=2),
            schedule_type="am",
            status="completed" if job.status == "completed" else "scheduled",
        )
    )
    session.flush()
    return job


def _invoice(
    session: Session, customer: Customer, number: str, total: str, balance: str, job: Job | None
) -> Invoice:
    invoice = Invoice(
        company_id=customer.company_id,
        customer_id=customer.id,
        job_id=job.id if job else None,
        number=number,
        status="sent" if Decimal(balance) > 0 else "paid",
        lines=[{"description": "Service", "amount": total}],
        total=Decimal(total),
        balance=Decimal(balance),
        due_date=date(2026, 12, 31),
    )
    session.add(invoice)
    session.flush()
    return invoice


def make_login(
    session: Session,
    customer: Customer,
    login_id: str,
    password: str = PASSWORD,
    status: str = "active",
) -> PortalAccount:
    account = PortalAccount(
        company_id=customer.company_id,
        customer_id=customer.id,
        login_id=login_id,
        password_hash=hash_password(password),
        status=status,
        failed_logins=0,
    )
    session.add(account)
    session.flush()
    return account


def seed(session: Session, company_id: int, prefix: str = "") -> Seed:
    """A commercial customer with a sub-customer, three locations, a job from two years
    ago and a recent one, invoices (open, paid, a counter sale), a card and a payment."""
    company = session.get(Company, company_id)
    assert company is not None
    company.remit_to = "Acme Heating & Air\nPO Box 12\nRaleigh NC"
    customer = Customer(
        company_id=company_id, name=f"{prefix}Oak Street Offices", type="commercial"
    )
    session.add(customer)
    session.flush()
    sub = Customer(
        company_id=company_id,
        name=f"{prefix}Oak Street Annex",
        type="commercial",
        parent_id=customer.id,
    )
    session.add(sub)
    session.flush()
    home = _location(session, customer, f"{prefix}120 Oak St")
    office = _location(session, customer, f"{prefix}9 Elm Ave")
    pickup = _location(session, customer, f"{prefix}1 Depot Rd", kind="pickup")
    sub_home = _location(session, sub, f"{prefix}122 Oak St")
    now = datetime.now(UTC)
    old_job = _job(
        session,
        customer,
        home,
        now - timedelta(days=730),
        job_type="Furnace repair",
        status="completed",
        po_number="PO-OLD",
        completed_at=now - timedelta(days=730),
        custom_fields={"Filter size": "16x25", "Gate code": "4321"},
    )
    recent_job = _job(
        session,
        customer,
        office,
        now - timedelta(days=5),
        job_type="AC tune-up",
        status="completed",
        po_number="PO-NEW",
        completed_at=now - timedelta(days=5),
    )
    sub_job = _job(
        session,
        sub,
        sub_home,
        now - timedelta(days=20),
        job_type="Duct cleaning",
        status="completed",
    )
    invoice = _invoice(session, customer, f"{prefix}INV-2", "289.00", "289.00", recent_job)
    paid_invoice = _invoice(session, customer, f"{prefix}INV-1", "150.00", "0.00", old_job)
    sale = _invoice(session, customer, f"{prefix}SALE-1", "45.50", "45.50", None)
    card = PaymentMethod(
        company_id=company_id,
        customer_id=customer.id,
        processor="test",
        token=f"tok_{prefix}visa",
        brand="Visa",
        last4="4242",
        exp_month=12,
        exp_year=2030,
    )
    session.add(card)
    session.flush()
    payment = Payment(
        company_id=company_id,
        customer_id=customer.id,
        invoice_id=paid_invoice.id,
        payment_method_id=card.id,
        amount=Decimal("150.00"),
        kind="card",
        status="succeeded",
        received_at=now - timedelta(days=700),
    )
    session.add(payment)
    account = make_login(session, customer, f"{prefix}oakstreet")
    session.commit()
    return Seed(
        company,
        customer,
        sub,
        account,
        home,
        office,
        pickup,
        old_job,
        recent_job,
        sub_job,
        invoice,
        paid_invoice,
        sale,
        card,
        payment,
    )


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has a CSRF field"
    return found.group(1)


def login(client: TestClient, code: str, login_id: str, password: str = PASSWORD) -> Any:
    page = client.get(f"/portal/{code}/login")
    return client.post(
        f"/portal/{code}/login",
        data={"login_id": login_id, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def logged_in(client: TestClient, s: Seed) -> TestClient:
    response = login(client, s.code, s.account.login_id)
    assert response.status_code == 303, response.text
    return client


def post_form(client: TestClient, url: str, data: dict[str, Any], **kw: Any) -> Any:
    """POST a portal form with the CSRF token taken from a portal page."""
    page_url = kw.pop("page", None) or url
    token = csrf_of(client.get(page_url).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False, **kw)
