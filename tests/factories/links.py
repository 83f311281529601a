"""A finished visit with its documents, for the customer link pages and payments tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.customers.models import Contact, ContactMethod, Customer, Location
from fieldlink.jobs.models import Appointment, AppointmentTechnician, Estimate, Invoice, Job


@dataclass
class Visit:
    company: Company
    customer: Customer
    contact: Contact
    email: ContactMethod
    technician: User
    office: User
    job: Job
    appointment: Appointment
    estimate: Estimate
    invoice: Invoice


def make_visit(
    session: Session, company_id: int, *, total: str = "289.00", commit: bool = True
) -> Visit:
    """A completed furnace repair with a technician, a sent estimate and a sent invoice."""
    company = session.get(Company, company_id)
    assert company is not None
    company.sender_email = company.sender_email or f"service@{company.company_code}.example"
    company.website = company.website or f"https://{company.company_code}.example"
    company.remit_to = company.remit_to or f"{company.name}\nPO Box 100\nRaleigh, NC 27601"
    n = session.query(Customer).filter_by(company_id=company_id).count() + 1
    customer = Customer(company_id=company_id, name=f"Pat Doe {n}", type="residential")
    session.add(customer)
    session.flush()
    location = Location(
        company_id=company_id,
        customer_id=customer.id,
        line1="120 Oak St",
        city="Raleigh",
        region="NC",
        postcode="27601",
        country="US",
    )
    contact = Contact(
        company_id=company_id, customer_id=customer.id, name="Pat Doe", role="owner", primary=True
    )
    session.add_all([location, contact])
    session.flush()
    email = ContactMethod(
        company_id=company_id,
        customer_id=customer.id,
        contact_id=contact.id,
        kind="email",
        value=f"pat{customer.id}@example.com",
        marketing_updates=True,
        job_notifications=True,
        marketing_sms_status="none",
    )
    technician = User(
        company_id=company_id,
        name="Tom Torres",
        email=f"tom{customer.id}@{company_id}.example",
        role="technician",
        photo_url="https://cdn.example/tom.jpg",
        certifications=["NATE-certified"],
    )
    office = User(
        company_id=company_id,
        name="Olivia Office",
        email=f"olivia{customer.id}@{company_id}.example",
        role="owner",
    )
    session.add_all([email, technician, office])
    session.flush()
    job = Job(
        company_id=company_id,
        customer_id=customer.id,
        location_id=location.id,
        job_type="Furnace Repair",
        status="completed",
        description="Replaced the igniter and cleaned the flame sensor. Furnace tested: OK.",
        completed_at=datetime(2026, 11, 20, 15, tzinfo=UTC),
        custom_fields={},
    )
    session.add(job)
    session.flush()
    start = datetime(2026, 11, 20, 13, tzinfo=UTC)
    appointment = Appointment(
        company_id=company_id,
        job_id=job.id,
        window_start=start,
        window_end=start + timedelta(hours=2),
        schedule_type="pm",
        status="completed",
    )
    session.add(appointment)
    session.flush()
    session.add(
        AppointmentTechnician(
            appointment_id=appointment.id, user_id=technician.id, company_id=company_id
        )
    )
    estimate = Estimate(
        company_id=company_id,
        customer_id=customer.id,
        job_id=job.id,
        location_id=location.id,
        number=f"EST-{1000 + customer.id}",
        status="sent",
        description="New heat pump",
        lines=[
            {
                "description": "Heat pump, 3 ton",
                "quantity": "1",
                "unit_price": "4200.00",
                "amount": "4200.00",
            },
            {
                "description": "Installation",
                "quantity": "6",
                "unit_price": "95.00",
                "amount": "570.00",
            },
        ],
        total=Decimal("4770.00"),
    )
    invoice = Invoice(
        company_id=company_id,
        customer_id=customer.id,
        job_id=job.id,
        number=f"INV-{1000 + customer.id}",
        status="sent",
        lines=[
            {
                "description": "Igniter replacement",
                "quantity": "1",
                "unit_price": total,
                "amount": total,
            },
        ],
        total=Decimal(total),
        balance=Decimal(total),
    )
    session.add_all([estimate, invoice])
    session.flush()
    if commit:
        session.commit()
    return Visit(
        company,
        customer,
        contact,
        email,
        technician,
        office,
        job,
        appointment,
        estimate,
        invoice,
    )
