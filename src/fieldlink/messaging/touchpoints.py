"""The touchpoints of a service cycle (DESIGN.md), each turning a job event into messages.

Every trigger builds its audience, one idempotency key per event and recipient address
(so the same person listed as two contacts, or a second tap, gets one notice), and
queues through :func:`queue_message`, which checks consent and writes the outbox row in
the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.customers.models import Customer, Location
from fieldlink.db import any_of
from fieldlink.jobs.models import Appointment, AppointmentTechnician, Job, StatusCode
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging.audience import Known, Target, read_contacts, resolve
from fieldlink.messaging.bulk import Intent, queue_messages
from fieldlink.messaging.models import Message
from fieldlink.messaging.notify import (
    NotifyResult,
    base_vars,
    clock,
    configured_roles,
    notify,
    zone_of,
)
from fieldlink.messaging.service import Refs, record_status

STALE_AFTER = timedelta(minutes=30)  # DESIGN.md: a status text older than this is expired
CONFIRMATION_DELAY = timedelta(minutes=2)  # several edits within minutes send one notice


@dataclass(frozen=True)
class Visit:
    """What every notice about an appointment shares."""

    appointment: Appointment
    job: Job
    customer: Customer
    variables: dict[str, Any]
    refs: Refs


def visit(
    session: Session,
    *,
    company: Company,
    appointment: Appointment,
    technician: User | None,
    links: LinkMaker,
    now: datetime,
    status_code_id: int | None = None,
) -> Visit:
    job = session.get(Job, appointment.job_id)
    assert job is not None
    customer = session.get(Customer, job.customer_id)
    assert customer is not None
    variables = base_vars(
        session,
        company=company,
        customer=customer,
        job=job,
        appointment=appointment,
        technician=technician,
    )
    variables["reschedule_link"] = links.url(
        "r", company_id=company.id, object_id=appointment.id, now=now
    )
    refs = Refs(job_id=job.id, appointment_id=appointment.id, status_code_id=status_code_id)
    return Visit(appointment, job, customer, variables, refs)


def _notify_visit(
    session: Session,
    *,
    company: Company,
    v: Visit,
    targets: list[Target],
    touchpoint: str,
    channels: tuple[str, ...],
    key: str,
    now: datetime,
    **options: Any,
) -> NotifyResult:
    return notify(
        session,
        company=company,
        customer=v.customer,
        targets=targets,
        touchpoint=touchpoint,
        channels=channels,
        key=key,
        variables=v.variables,
        now=now,
        refs=v.refs,
        **options,
    )


def _window(appointment: Appointment) -> str:
    return appointment.window_start.strftime("%Y%m%dT%H%M")


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
    v = visit(
        session,
        company=company,
        appointment=appointment,
        technician=technician,
        links=links,
        now=now,
    )
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=v.customer.id,
        contact_ids=contact_ids,
        require_usable=True,
    )
    location = session.get(Location, v.job.location_id) if v.job.location_id else None
    v.variables["eta"] = clock(eta, zone_of(company, location)) if eta else ""
    send_by = max(eta, now + timedelta(minutes=5)) if eta else now + STALE_AFTER
    return _notify_visit(
        session,
        company=company,
        v=v,
        targets=targets,
        touchpoint="en_route",
        channels=("sms", "email"),
        key=f"en_route:appt:{appointment.id}",
        now=now,
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
    v = visit(
        session,
        company=company,
        appointment=appointment,
        technician=technician,
        links=links,
        now=now,
        status_code_id=code.id,
    )
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=v.customer.id,
        roles=code.notification_contact_roles or (),
        location_id=v.job.location_id,
    )
    v.variables["status"] = {"name": code.name}
    key = f"status:{code.id}:appt:{appointment.id}"
    if not code.once_per_appointment:
        key += f":tech:{technician.id}"
    return _notify_visit(
        session,
        company=company,
        v=v,
        targets=targets,
        touchpoint="status_update",
        channels=tuple(code.notification_channels),
        key=key,
        now=now,
        send_by=now + STALE_AFTER,
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
    collect: list[Intent] | None = None,
    batch: _Batch | None = None,
) -> NotifyResult:
    """A service reminder for one appointment (one per appointment window and address).

    With ``collect``, the intents are appended there for a bulk send (``remind_all``), which
    passes what it read for all the appointments at once in ``batch``."""
    v = visit(
        session,
        company=company,
        appointment=appointment,
        technician=batch.technicians.get(appointment.id)
        if batch is not None
        else _first_technician(session, appointment),
        links=links,
        now=now,
    )
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=v.customer.id,
        roles=roles,
        contact_ids=contact_ids,
        location_id=v.job.location_id,
        known=batch.contacts if batch is not None else None,
    )
    return _notify_visit(
        session,
        company=company,
        v=v,
        targets=targets,
        touchpoint="service_reminder",
        channels=channels,
        key=f"reminder:appt:{appointment.id}:{_window(appointment)}",
        now=now,
        send_by=appointment.window_start,
        collect=collect,
    )


def remind_all(
    session: Session,
    *,
    company: Company,
    appointments: Sequence[Appointment],
    roles: Sequence[str],
    links: LinkMaker,
    now: datetime,
    channels: tuple[str, ...] = ("sms", "email"),
) -> NotifyResult:
    """Service reminders for a list of appointments (cancelled ones skipped), decided per
    recipient and written in one set-based bulk send (``messaging.bulk``).

    What each reminder needs (job, customer, location, first technician, contacts and
    methods) is read for the whole list in a few queries, not six per appointment."""
    intents: list[Intent] = []
    live = [a for a in appointments if a.status != "cancelled"]
    batch = _read_batch(session, company=company, appointments=live)
    for appointment in live:
        remind(
            session,
            company=company,
            appointment=appointment,
            roles=roles,
            contact_ids=[],
            links=links,
            now=now,
            channels=channels,
            collect=intents,
            batch=batch,
        )
    result = NotifyResult()
    for queued in queue_messages(session, company=company, intents=intents, now=now).messages:
        result.add(queued)
    return result


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
    v = visit(
        session, company=company, appointment=appointment, technician=None, links=links, now=now
    )
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=v.customer.id,
        roles=configured_roles(company, "appointment_confirmation", ("scheduling", "owner")),
        location_id=v.job.location_id,
    )
    return _notify_visit(
        session,
        company=company,
        v=v,
        targets=targets,
        touchpoint="appointment_confirmation",
        channels=("sms", "email"),
        key=f"confirmation:appt:{appointment.id}:{_window(appointment)}",
        now=now,
        send_after=now + CONFIRMATION_DELAY,
        send_by=appointment.window_start,
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


@dataclass(frozen=True)
class _Batch:
    technicians: dict[int, User]  # appointment id -> its first technician (lowest user id)
    contacts: Known
    loaded: list[Any]  # jobs, customers, locations: held so session.get finds them


def _read_batch(
    session: Session, *, company: Company, appointments: Sequence[Appointment]
) -> _Batch:
    """Read for many appointments what ``visit`` and ``resolve`` read for one: jobs,
    customers and locations into the session (``session.get`` then finds them without a
    query), first technicians, contacts and methods."""
    loaded: list[Any] = []
    technicians: dict[int, User] = {}
    appointment_ids = [a.id for a in appointments]
    job_ids = sorted({a.job_id for a in appointments})
    for start in range(0, len(job_ids), 5000):
        loaded += session.scalars(
            select(Job).where(any_of(session, Job.id, job_ids[start : start + 5000]))
        )
    customer_ids = sorted({j.customer_id for j in loaded})
    location_ids = sorted({j.location_id for j in loaded if j.location_id is not None})
    for model, ids in ((Customer, customer_ids), (Location, location_ids)):
        for start in range(0, len(ids), 5000):
            loaded += session.scalars(
                select(model).where(any_of(session, model.id, ids[start : start + 5000]))
            )
    for start in range(0, len(appointment_ids), 5000):
        for appointment_id, user in session.execute(
            select(AppointmentTechnician.appointment_id, User)
            .join(User, AppointmentTechnician.user_id == User.id)
            .where(
                any_of(
                    session,
                    AppointmentTechnician.appointment_id,
                    appointment_ids[start : start + 5000],
                )
            )
            .order_by(AppointmentTechnician.appointment_id, User.id)
        ):
            technicians.setdefault(appointment_id, user)
    contacts = read_contacts(session, company_id=company.id, customer_ids=customer_ids)
    return _Batch(technicians, contacts, loaded)
