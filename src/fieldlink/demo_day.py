"""The demo plays part of a service day through the real services, so the message log
has something to show: what was sent, and for everything not sent, why."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.customers.models import Contact, Customer, Location
from fieldlink.jobs.dispatch import record_dispatch_status
from fieldlink.jobs.models import (
    Appointment,
    AppointmentTechnician,
    Estimate,
    Invoice,
    Job,
    StatusCode,
)
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging import documents, touchpoints
from fieldlink.messaging.notify import NotifyResult


def play_service_day(
    session: Session, *, company: Company, links: LinkMaker, now: datetime
) -> list[str]:
    """Trigger the day's touchpoints; returns one line per story for the banner."""
    stories: list[str] = []
    traveling = session.scalar(
        select(StatusCode).where(
            StatusCode.company_id == company.id, StatusCode.meaning == "traveling"
        )
    )
    assert traveling is not None
    traveling.notification_enabled = True
    traveling.notification_channels = ["sms"]
    traveling.notification_contact_roles = ["owner", "scheduling", "site"]

    appointments = list(
        session.scalars(
            select(Appointment)
            .where(Appointment.company_id == company.id)
            .order_by(Appointment.window_start, Appointment.id)
        )
    )
    # Days in the company's time zone, as the demo seeded them: in UTC, from midnight UTC
    # until the company's midnight, "tomorrow's" visits fell on today's UTC date.
    zone = ZoneInfo(company.time_zone)
    local_today = now.astimezone(zone).date()
    tomorrow = [a for a in appointments if a.window_start.astimezone(zone).date() > local_today]
    today = [a for a in appointments if a not in tomorrow]
    for appt in tomorrow:
        touchpoints.confirm(session, company=company, appointment=appt, links=links, now=now)
    stories.append(
        f"confirmations for tomorrow's {len(tomorrow)} appointments queued "
        "(they wait 2 minutes, so quick edits send one)"
    )

    dns = _do_not_service_visit(session, company=company, when=tomorrow[0].window_start)
    total = NotifyResult()
    for appt in [*tomorrow, dns]:
        total.merge(
            touchpoints.remind(
                session,
                company=company,
                appointment=appt,
                roles=["owner", "scheduling"],
                contact_ids=[],
                links=links,
                now=now,
            )
        )
    why = ", ".join(f"{n} {code}" for code, n in sorted(total.suppressed.items()))
    stories.append(f"bulk reminders for tomorrow: {total.queued} queued, not sent: {why}")

    shared = next(a for a in today if _technicians(session, a)[1:])
    techs = _technicians(session, shared)
    results = []
    for tech in techs:
        record_dispatch_status(
            session,
            appointment=shared,
            technician_id=tech.id,
            status_code_id=traveling.id,
            source="technician",
            now=now,
        )
        results.append(
            touchpoints.status_applied(
                session,
                company=company,
                appointment=shared,
                technician=tech,
                code=traveling,
                links=links,
                now=now,
            )
        )
    stories.append(
        f"{techs[0].name} and {techs[1].name} both set Traveling on appointment "
        f"{shared.id}: {results[0].queued} notice, then "
        f"{sum(results[1].suppressed.values())} duplicate(s) suppressed"
    )

    visit = next(a for a in today if a is not shared)
    job = session.get(Job, visit.job_id)
    assert job is not None
    owner = session.scalar(
        select(Contact).where(Contact.customer_id == job.customer_id).order_by(Contact.id)
    )
    tech = _technicians(session, visit)[0]
    record_dispatch_status(
        session,
        appointment=visit,
        technician_id=tech.id,
        status_code_id=traveling.id,
        source="technician",
        now=now,
    )
    eta = now + timedelta(minutes=25)
    on_way = touchpoints.on_my_way(
        session,
        company=company,
        appointment=visit,
        technician=tech,
        eta=eta,
        contact_ids=[owner.id] if owner else [],
        links=links,
        now=now,
    )
    stories.append(
        f"{tech.name} is on the way to appointment {visit.id} "
        f"({on_way.queued} messages with the ETA)"
    )

    invoice = session.scalar(select(Invoice).where(Invoice.company_id == company.id))
    if invoice is not None:
        sent = documents.send_invoice(
            session,
            company=company,
            invoice=invoice,
            contact_ids=[],
            roles=["owner", "financial"],
            links=links,
            now=now,
        )
        stories.append(
            f"invoice {invoice.number} sent with a payment link ({sent.queued} messages)"
        )
        stories += _customer_pages(session, company=company, invoice=invoice, links=links, now=now)
    return stories


def _customer_pages(
    session: Session, *, company: Company, invoice: Invoice, links: LinkMaker, now: datetime
) -> list[str]:
    """The finished job's service link and a new estimate, and where a customer opens them."""
    job = session.get(Job, invoice.job_id) if invoice.job_id else None
    if job is None:
        return []
    job.description = job.description or (
        "Replaced the hot surface igniter and cleaned the flame sensor. "
        "Furnace cycled three times: heating normally."
    )
    estimate = Estimate(
        company_id=company.id,
        customer_id=invoice.customer_id,
        job_id=job.id,
        number="EST-1001",
        status="draft",
        description="Replace the 15-year-old furnace before winter",
        lines=[
            {
                "description": "High-efficiency gas furnace, 80k BTU",
                "quantity": "1",
                "unit_price": "3650.00",
                "amount": "3650.00",
            },
            {
                "description": "Installation and haul-away",
                "quantity": "1",
                "unit_price": "850.00",
                "amount": "850.00",
            },
        ],
        total=Decimal("4500.00"),
    )
    session.add(estimate)
    session.flush()
    roles = ["owner", "financial"]
    documents.send_service_link(
        session, company=company, job=job, contact_ids=[], roles=roles, links=links, now=now
    )
    documents.send_estimate(
        session,
        company=company,
        estimate=estimate,
        contact_ids=[],
        roles=roles,
        links=links,
        now=now,
    )

    def url(kind: str, object_id: int) -> str:
        return links.url(kind, company_id=company.id, object_id=object_id, now=now)

    upcoming = session.scalar(
        select(Appointment)
        .where(
            Appointment.company_id == company.id,
            Appointment.status == "scheduled",
            Appointment.window_start > now,
        )
        .order_by(Appointment.window_start, Appointment.id)
    )
    reschedule = (
        [f"reschedule or cancel request (as in the confirmations): {url('r', upcoming.id)}"]
        if upcoming is not None
        else []
    )
    return [
        f"service link (sign the work acknowledgement): {url('s', job.id)}",
        f"estimate {estimate.number} (approve or decline): {url('e', estimate.id)}",
        f"invoice {invoice.number} (pay with a test card): {url('i', invoice.id)}",
        *reschedule,
    ]


def _technicians(session: Session, appointment: Appointment) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(AppointmentTechnician, AppointmentTechnician.user_id == User.id)
            .where(AppointmentTechnician.appointment_id == appointment.id)
            .order_by(User.id)
        )
    )


def _do_not_service_visit(session: Session, *, company: Company, when: datetime) -> Appointment:
    """A visit booked for the do-not-service account, whose reminder must not go out."""
    customer = session.scalar(
        select(Customer).where(Customer.company_id == company.id, Customer.do_not_service.is_(True))
    )
    assert customer is not None
    location = session.scalar(select(Location.id).where(Location.customer_id == customer.id))
    job = Job(
        company_id=company.id,
        customer_id=customer.id,
        location_id=location,
        job_type="Maintenance Visit",
        status="scheduled",
        custom_fields={},
    )
    session.add(job)
    session.flush()
    appt = Appointment(
        company_id=company.id,
        job_id=job.id,
        window_start=when,
        window_end=when + timedelta(hours=2),
        schedule_type="am",
        status="scheduled",
    )
    session.add(appt)
    session.flush()
    return appt
