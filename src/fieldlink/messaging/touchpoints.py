"""The touchpoints of a service cycle (DESIGN.md), each turning a job event into messages.

Every trigger builds its audience, one idempotency key per event and recipient address
(so the same person listed as two contacts, or a second tap, gets one notice), and
queues through :func:`queue_message`, which checks consent and writes the outbox row in
the caller's transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.accounts.service import settings_of
from fieldlink.customers.models import Customer, Location
from fieldlink.jobs.models import Appointment, AppointmentTechnician, Job, StatusCode
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging.audience import Target, resolve
from fieldlink.messaging.models import Message
from fieldlink.messaging.service import Refs, queue_message, record_status

CHANNEL_KIND = {"sms": "phone", "email": "email"}
STALE_AFTER = timedelta(minutes=30)  # DESIGN.md: a status text older than this is expired
CONFIRMATION_DELAY = timedelta(minutes=2)  # several edits within minutes send one notice


@dataclass
class NotifyResult:
    queued: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    message_ids: list[int] = field(default_factory=list)

    def add(self, message: Message) -> None:
        self.message_ids.append(message.id)
        if message.status == "queued":
            self.queued += 1
        elif message.status == "suppressed":
            for r in message.reasons[:1] or [{"code": "unknown"}]:
                self.suppressed[r["code"]] += 1
        else:
            self.failed += 1

    def merge(self, other: NotifyResult) -> None:
        self.queued += other.queued
        self.suppressed.update(other.suppressed)
        self.failed += other.failed
        self.message_ids += other.message_ids

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "suppressed": dict(self.suppressed),
            "failed": self.failed,
            "message_ids": self.message_ids,
        }


def _zone(company: Company, location: Location | None) -> ZoneInfo:
    return ZoneInfo(
        (location.time_zone if location and location.time_zone else None)
        or company.time_zone
        or "UTC"
    )


def _clock(t: datetime, zone: ZoneInfo) -> str:
    return t.astimezone(zone).strftime("%I:%M %p").lstrip("0")


def appointment_vars(
    company: Company, appt: Appointment, location: Location | None
) -> dict[str, str]:
    zone = _zone(company, location)
    start = appt.window_start.astimezone(zone)
    window = (
        "any time during the day"
        if appt.schedule_type == "all_day"
        and (appt.window_end - appt.window_start) >= timedelta(hours=9)
        else f"{_clock(appt.window_start, zone)} - {_clock(appt.window_end, zone)}"
    )
    return {"date": f"{start:%A, %B} {start.day}", "window": window}


def technician_vars(company: Company, tech: User | None) -> dict[str, str] | None:
    # The company chooses: technician's name and photo, or the company only (helpful when
    # technicians are often switched between jobs).
    if tech is None or settings_of(company).technician_identity == "company_only":
        return None
    return {
        "name": tech.name,
        "photo_url": tech.photo_url or "",
        "certifications": ", ".join(tech.certifications or []),
    }


def base_vars(
    session: Session,
    *,
    company: Company,
    customer: Customer,
    job: Job | None,
    appointment: Appointment | None,
    technician: User | None,
) -> dict[str, Any]:
    location = session.get(Location, job.location_id) if job and job.location_id else None
    return {
        "company": {
            "name": company.name,
            "phone": company.business_phone or "",
            "website": company.website or "",
            "logo_url": company.logo_url or "",
        },
        "customer": {"name": customer.name},
        "location": {
            "address": ", ".join(p for p in (location.line1, location.city, location.region) if p)
            if location
            else ""
        },
        "job": {
            "id": job.id if job else "",
            "job_type": job.job_type if job else "",
            "po_number": job.po_number if job else "",
        },
        "appointment": appointment_vars(company, appointment, location)
        if appointment
        else {"date": "", "window": ""},
        "technician": technician_vars(company, technician),
        "eta": "",
        "status": {"name": ""},
        "link": "",
        "reschedule_link": "",
        "amount": "",
    }


def notify(
    session: Session,
    *,
    company: Company,
    customer: Customer,
    targets: list[Target],
    touchpoint: str,
    channels: tuple[str, ...],
    key: str,
    variables: dict[str, Any],
    now: datetime,
    refs: Refs = Refs(),
    send_by: datetime | None = None,
    send_after: datetime | None = None,
    template: str | None = None,
) -> NotifyResult:
    result = NotifyResult()
    for target in targets:
        contact = target.contact
        per_contact = {
            **variables,
            "contact": {
                "name": contact.name,
                "first_name": contact.name.split()[0] if contact.name else "",
            },
        }
        for channel in channels:
            for method in (m for m in target.methods if m.kind == CHANNEL_KIND[channel]):
                message = queue_message(
                    session,
                    company=company,
                    touchpoint=touchpoint,
                    channel=channel,
                    customer=customer,
                    contact=contact,
                    method=method,
                    variables=per_contact,
                    idempotency_key=f"{key}:{channel}:{method.value.lower()}",
                    now=now,
                    refs=refs,
                    send_by=send_by,
                    send_after=send_after,
                    template=(None, template) if template and channel == "sms" else None,
                )
                result.add(message)
    return result


def _job_context(session: Session, appt: Appointment) -> tuple[Job, Customer]:
    job = session.get(Job, appt.job_id)
    assert job is not None
    customer = session.get(Customer, job.customer_id)
    assert customer is not None
    return job, customer


def on_my_way(
    session: Session,
    *,
    company: Company,
    appointment: Appointment,
    technician: User,
    eta: datetime | None,
    contact_ids: Sequence[int],
    links: LinkMaker,
    now: datetime,
) -> NotifyResult:
    """Technician en route: notify the contacts they picked, with the ETA.

    One notice per appointment and address: a second tap (or a second technician) is a
    duplicate. It expires at the ETA, or after 30 minutes: a late "on my way" is worse
    than none (DESIGN.md, "Messages that go stale").
    """
    job, customer = _job_context(session, appointment)
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=customer.id,
        contact_ids=contact_ids,
        require_usable=True,
    )
    variables = base_vars(
        session,
        company=company,
        customer=customer,
        job=job,
        appointment=appointment,
        technician=technician,
    )
    location = session.get(Location, job.location_id) if job.location_id else None
    variables["eta"] = _clock(eta, _zone(company, location)) if eta else ""
    variables["reschedule_link"] = links.url(
        "r", company_id=company.id, object_id=appointment.id, now=now
    )
    send_by = max(eta, now + timedelta(minutes=5)) if eta else now + STALE_AFTER
    return notify(
        session,
        company=company,
        customer=customer,
        targets=targets,
        touchpoint="en_route",
        channels=("sms", "email"),
        key=f"en_route:appt:{appointment.id}",
        variables=variables,
        now=now,
        refs=Refs(job_id=job.id, appointment_id=appointment.id),
        send_by=send_by,
    )


def status_applied(
    session: Session,
    *,
    company: Company,
    appointment: Appointment,
    technician: User,
    code: StatusCode,
    links: LinkMaker,
    now: datetime,
) -> NotifyResult:
    """A status code applied to a dispatch; notifies if the code says so.

    ``once_per_appointment`` (on by default) keys the notice on the appointment, so three
    technicians going "Traveling" send one; off keys it per technician.
    """
    if not code.notification_enabled or not code.notification_channels:
        return NotifyResult()
    job, customer = _job_context(session, appointment)
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=customer.id,
        roles=code.notification_contact_roles or (),
        location_id=job.location_id,
    )
    variables = base_vars(
        session,
        company=company,
        customer=customer,
        job=job,
        appointment=appointment,
        technician=technician,
    )
    variables["status"] = {"name": code.name}
    variables["reschedule_link"] = links.url(
        "r", company_id=company.id, object_id=appointment.id, now=now
    )
    key = f"status:{code.id}:appt:{appointment.id}"
    if not code.once_per_appointment:
        key += f":tech:{technician.id}"
    return notify(
        session,
        company=company,
        customer=customer,
        targets=targets,
        touchpoint="status_update",
        channels=tuple(code.notification_channels),
        key=key,
        variables=variables,
        now=now,
        send_by=now + STALE_AFTER,
        refs=Refs(job_id=job.id, appointment_id=appointment.id, status_code_id=code.id),
        template=code.notification_template,
    )


def remind(
    session: Session,
    *,
    company: Company,
    appointment: Appointment,
    roles: Sequence[str],
    contact_ids: Sequence[int],
    links: LinkMaker,
    now: datetime,
    channels: tuple[str, ...] = ("sms", "email"),
) -> NotifyResult:
    """A service reminder for one appointment (one per appointment window and address)."""
    job, customer = _job_context(session, appointment)
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=customer.id,
        roles=roles,
        contact_ids=contact_ids,
        location_id=job.location_id,
    )
    variables = base_vars(
        session,
        company=company,
        customer=customer,
        job=job,
        appointment=appointment,
        technician=_first_technician(session, appointment),
    )
    variables["reschedule_link"] = links.url(
        "r", company_id=company.id, object_id=appointment.id, now=now
    )
    window = appointment.window_start.strftime("%Y%m%dT%H%M")
    return notify(
        session,
        company=company,
        customer=customer,
        targets=targets,
        touchpoint="service_reminder",
        channels=channels,
        key=f"reminder:appt:{appointment.id}:{window}",
        variables=variables,
        now=now,
        send_by=appointment.window_start,
        refs=Refs(job_id=job.id, appointment_id=appointment.id),
    )


def confirm(
    session: Session, *, company: Company, appointment: Appointment, links: LinkMaker, now: datetime
) -> NotifyResult:
    """Confirmation when an appointment is scheduled or rescheduled.

    Sent after a short delay; a newer window supersedes unsent confirmations and reminders
    for the old one, so several quick edits send one confirmation, of the final time.
    """
    supersede(
        session,
        appointment_id=appointment.id,
        company_id=company.id,
        now=now,
        touchpoints=("appointment_confirmation", "service_reminder"),
    )
    if appointment.status == "cancelled":
        return NotifyResult()
    job, customer = _job_context(session, appointment)
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=customer.id,
        roles=("scheduling", "owner"),
        location_id=job.location_id,
    )
    variables = base_vars(
        session,
        company=company,
        customer=customer,
        job=job,
        appointment=appointment,
        technician=None,
    )
    variables["reschedule_link"] = links.url(
        "r", company_id=company.id, object_id=appointment.id, now=now
    )
    window = appointment.window_start.strftime("%Y%m%dT%H%M")
    return notify(
        session,
        company=company,
        customer=customer,
        targets=targets,
        touchpoint="appointment_confirmation",
        channels=("sms", "email"),
        key=f"confirmation:appt:{appointment.id}:{window}",
        variables=variables,
        now=now,
        send_after=now + CONFIRMATION_DELAY,
        send_by=appointment.window_start,
        refs=Refs(job_id=job.id, appointment_id=appointment.id),
    )


def supersede(
    session: Session,
    *,
    appointment_id: int,
    company_id: int,
    now: datetime,
    touchpoints: tuple[str, ...],
) -> int:
    """Mark unsent messages about an appointment ``superseded``; returns how many."""
    stale = session.scalars(
        select(Message).where(
            Message.company_id == company_id,
            Message.appointment_id == appointment_id,
            Message.touchpoint.in_(touchpoints),
            Message.status == "queued",
        )
    )
    count = 0
    for message in stale:
        message.reasons = [
            {
                "code": "superseded",
                "message": "The appointment changed; a newer message replaces it.",
            }
        ]
        # Free the key: the same window booked again later deserves its own notice.
        message.idempotency_key = None
        record_status(session, message, "suppressed", now=now, detail="appointment changed")
        count += 1
    session.flush()
    return count


def _first_technician(session: Session, appointment: Appointment) -> User | None:
    return session.scalar(
        select(User)
        .join(AppointmentTechnician, AppointmentTechnician.user_id == User.id)
        .where(AppointmentTechnician.appointment_id == appointment.id)
        .order_by(User.id)
    )


def _money(amount: Any) -> str:
    return f"${amount:,.2f}" if amount is not None else ""


def send_document(
    session: Session,
    *,
    company: Company,
    touchpoint: str,
    customer: Customer,
    job: Job | None,
    object_id: int,
    link_kind: str,
    amount: Any,
    contact_ids: Sequence[int],
    roles: Sequence[str],
    links: LinkMaker,
    now: datetime,
) -> NotifyResult:
    """Send a signed link to a service summary, estimate or invoice.

    The key carries the minute, so a double click sends once while a deliberate resend
    later goes out again.
    """
    if not contact_ids and not roles:
        roles = ["financial", "owner"] if touchpoint == "invoice" else []
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=customer.id,
        roles=roles,
        contact_ids=contact_ids,
        require_usable=bool(contact_ids),
    )
    variables = base_vars(
        session, company=company, customer=customer, job=job, appointment=None, technician=None
    )
    variables["link"] = links.url(link_kind, company_id=company.id, object_id=object_id, now=now)
    variables["amount"] = _money(amount)
    return notify(
        session,
        company=company,
        customer=customer,
        targets=targets,
        touchpoint=touchpoint,
        channels=("sms", "email"),
        key=f"{touchpoint}:{object_id}:{now:%Y%m%d%H%M}",
        variables=variables,
        now=now,
        refs=Refs(job_id=job.id if job else None, subject_ref=f"{touchpoint}:{object_id}"),
    )


def request_review(session: Session, *, company: Company, job: Job, now: datetime) -> NotifyResult:
    """After a job is completed: ask for a review, once per job."""
    review_url = settings_of(company).review_url or company.website
    customer = session.get(Customer, job.customer_id)
    if not review_url or customer is None:
        return NotifyResult()
    targets = resolve(
        session, company_id=company.id, customer_id=customer.id, location_id=job.location_id
    )
    variables = base_vars(
        session, company=company, customer=customer, job=job, appointment=None, technician=None
    )
    variables["link"] = review_url
    return notify(
        session,
        company=company,
        customer=customer,
        targets=targets,
        touchpoint="review_request",
        channels=("email", "sms"),
        key=f"review:job:{job.id}",
        variables=variables,
        now=now,
        send_after=now + timedelta(hours=1),
        refs=Refs(job_id=job.id),
    )
