"""A small service day for office page tests: customers with contacts, jobs, appointments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.jobs.models import Appointment, AppointmentTechnician, Job
from tests.factories.customers import make_contact, make_customer, make_location, make_method

TZ = "America/New_York"


def ready_company(session: Session, company_id: int) -> Company:
    """Give the tenant what sending needs: an SMS number, a sender email, a time zone."""
    company = session.get(Company, company_id)
    assert company is not None
    company.sms_number = f"+1919555{company_id % 10000:04d}"
    company.sender_email = f"office{company_id}@example.com"
    company.sender_name = company.name
    company.time_zone = TZ
    session.commit()
    return company


@dataclass(frozen=True)
class Visit:
    customer_id: int
    contact_id: int
    mobile_id: int
    email_id: int
    job_id: int
    appointment_id: int


def make_visit(
    session: Session,
    company_id: int,
    *,
    day: date,
    hour: int = 9,
    technician_ids: tuple[int, ...] = (),
    name: str = "Pat Doe",
    **customer: object,
) -> Visit:
    c = make_customer(session, company_id=company_id, name=name, **customer)
    loc = make_location(session, company_id=company_id, customer_id=c.id, time_zone=TZ)
    contact = make_contact(
        session, company_id=company_id, customer_id=c.id, name=name, role="owner"
    )
    mobile = make_method(
        session, company_id=company_id, customer_id=c.id, contact_id=contact.id, kind="phone"
    )
    email = make_method(session, company_id=company_id, customer_id=c.id, contact_id=contact.id)
    job = Job(
        company_id=company_id,
        customer_id=c.id,
        location_id=loc.id,
        job_type="AC Tune-up",
        status="scheduled",
    )
    session.add(job)
    session.flush()
    start = datetime.combine(day, time(hour), tzinfo=ZoneInfo(TZ))
    appt = Appointment(
        company_id=company_id,
        job_id=job.id,
        window_start=start,
        window_end=start + timedelta(hours=2),
        schedule_type="am" if hour < 12 else "pm",
        status="scheduled",
    )
    session.add(appt)
    session.flush()
    for tech in technician_ids:
        session.add(
            AppointmentTechnician(appointment_id=appt.id, user_id=tech, company_id=company_id)
        )
    session.commit()
    return Visit(c.id, contact.id, mobile.id, email.id, job.id, appt.id)
