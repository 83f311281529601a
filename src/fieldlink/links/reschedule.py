"""Reschedule or cancel requests from the ``/r/`` link: a request for the office, never a
silent move. The office is told through the outbox and decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.customers.models import Customer
from fieldlink.jobs.models import Appointment, Job
from fieldlink.links.models import RESCHEDULE_KINDS, RescheduleRequest
from fieldlink.links.office import notify_office
from fieldlink.messaging.notify import base_vars
from fieldlink.messaging.service import Refs
from fieldlink.pages.i18n import N_

MAX_MESSAGE = 1000
# Each request emails the office: a forwarded or scripted link must not flood it.
MAX_REQUESTS_PER_DAY = 5
MAX_DATES = 3
TIMES_OF_DAY = ("any", "am", "pm")
# What the office reads in the notice, per kind (the template says "asks to …").
KIND_VERBS = {"reschedule": "reschedule", "call": "talk about", "cancel": "cancel"}


class TooManyRequests(Exception):
    """The appointment had MAX_REQUESTS_PER_DAY requests in the last 24 hours."""


class RequestInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RequestForm:
    kind: str
    dates: tuple[date, ...]
    time_of_day: str
    message: str
    phone: str


def parse_request(
    *, kind: str, dates: list[str], time_of_day: str, message: str, phone: str, today: date
) -> RequestForm:
    """Check the form; raise :class:`RequestInvalid` naming the field at fault."""
    if kind not in RESCHEDULE_KINDS:
        raise RequestInvalid("kind", N_("Please choose what you would like to do."))
    parsed: list[date] = []
    for text in (d.strip() for d in dates if d.strip()):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise RequestInvalid("dates", N_("Please enter dates like 2026-03-02.")) from None
        if day < today:
            raise RequestInvalid("dates", N_("Please choose dates from today on."))
        parsed.append(day)
    if kind == "reschedule" and not parsed:
        raise RequestInvalid("dates", N_("Please give at least one day that suits you."))
    if time_of_day not in TIMES_OF_DAY:
        raise RequestInvalid("time_of_day", N_("Please choose a time of day."))
    if len(message) > MAX_MESSAGE:
        raise RequestInvalid("message", N_("Please shorten your message to 1,000 characters."))
    phone = " ".join(phone.split())
    if len(phone) > 40:
        raise RequestInvalid("phone", N_("Please enter a shorter phone number."))
    if kind == "call" and not phone:
        raise RequestInvalid("phone", N_("Please give a phone number we can call."))
    return RequestForm(
        kind,
        tuple(dict.fromkeys(parsed))[:MAX_DATES],
        time_of_day,
        message.strip(),
        phone,
    )


def can_request(appointment: Appointment, now: datetime) -> bool:
    """Only an upcoming visit that is still scheduled can be asked about online."""
    return appointment.status == "scheduled" and appointment.window_end > now


def open_requests(session: Session, *, appointment: Appointment) -> list[RescheduleRequest]:
    return list(
        session.scalars(
            select(RescheduleRequest)
            .where(
                RescheduleRequest.appointment_id == appointment.id,
                RescheduleRequest.company_id == appointment.company_id,
                RescheduleRequest.status == "open",
            )
            .order_by(RescheduleRequest.id)
        )
    )


def request_change(
    session: Session,
    *,
    company: Company,
    appointment: Appointment,
    form: RequestForm,
    submission_key: str,
    ip: str | None,
    now: datetime,
) -> RescheduleRequest:
    """Store the request (once per submission key) and tell the office by email.

    Raises :class:`TooManyRequests` past MAX_REQUESTS_PER_DAY for the appointment.
    """
    recent = session.scalar(
        select(func.count(RescheduleRequest.id)).where(
            RescheduleRequest.appointment_id == appointment.id,
            RescheduleRequest.created_at > now - timedelta(days=1),
            RescheduleRequest.submission_key != submission_key,
        )
    )
    if (recent or 0) >= MAX_REQUESTS_PER_DAY:
        raise TooManyRequests
    job = session.get(Job, appointment.job_id)
    assert job is not None
    row = RescheduleRequest(
        company_id=company.id,
        appointment_id=appointment.id,
        customer_id=job.customer_id,
        kind=form.kind,
        preferred_dates=[d.isoformat() for d in form.dates],
        time_of_day=form.time_of_day,
        message=form.message or None,
        phone=form.phone or None,
        status="open",
        submission_key=submission_key,
        ip=ip[:45] if ip else None,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = session.scalar(
            select(RescheduleRequest).where(
                RescheduleRequest.company_id == company.id,
                RescheduleRequest.submission_key == submission_key,
            )
        )
        assert existing is not None
        return existing
    customer = session.get(Customer, job.customer_id)
    assert customer is not None
    variables = base_vars(
        session,
        company=company,
        customer=customer,
        job=job,
        appointment=appointment,
        technician=None,
    )
    variables["status"] = {"name": KIND_VERBS[form.kind]}
    details = []
    if form.dates:
        when = {"any": "any time", "am": "mornings", "pm": "afternoons"}[form.time_of_day]
        details.append(f"Preferred days: {', '.join(d.isoformat() for d in form.dates)} ({when})")
    if form.phone:
        details.append(f"Phone: {form.phone}")
    if form.message:
        details.append(f'Message: "{form.message}"')
    variables["message"] = "\n".join(details) or "No details given."
    notify_office(
        session,
        company=company,
        touchpoint="reschedule_request",
        variables=variables,
        key=f"reschedule_request:{row.id}",
        refs=Refs(job_id=job.id, appointment_id=appointment.id, subject_ref=f"reschedule:{row.id}"),
        now=now,
    )
    return row
