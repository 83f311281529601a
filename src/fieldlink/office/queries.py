"""Read side of the office pages: rows shaped for tables (names joined, local times)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.consent.rules import REASON_MESSAGES
from fieldlink.customers.models import Customer
from fieldlink.jobs.models import Appointment, Job
from fieldlink.jobs.service import technician_ids_of
from fieldlink.messaging.reasons import MESSAGE_REASONS

LIST_LIMIT = 200  # rows shown on one page; bulk actions on "the whole filter" go further


def reason_text(code: str) -> str:
    """The plain-language explanation of a reason code (consent or message)."""
    return REASON_MESSAGES.get(code) or MESSAGE_REASONS.get(code) or code.replace("_", " ")


def zone(company: Company) -> ZoneInfo:
    return ZoneInfo(company.time_zone or "UTC")


def local_day_bounds(company: Company, first: date, last: date) -> tuple[datetime, datetime]:
    """[start of ``first``, end of ``last``) in the company's time zone."""
    tz = zone(company)
    return (
        datetime.combine(first, time(0), tzinfo=tz),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz),
    )


def today(company: Company, now: datetime) -> date:
    return now.astimezone(zone(company)).date()


@dataclass(frozen=True)
class AppointmentRow:
    appointment: Appointment
    job: Job
    customer: Customer
    technicians: list[User]
    start: datetime  # local
    end: datetime  # local


def appointment_rows(
    session: Session, company: Company, stmt: Select[Appointment], *, limit: int
) -> list[AppointmentRow]:
    appointments = list(session.scalars(stmt.limit(limit)))
    if not appointments:
        return []
    jobs = {
        j.id: j
        for j in session.scalars(select(Job).where(Job.id.in_({a.job_id for a in appointments})))
    }
    customers = {
        c.id: c
        for c in session.scalars(
            select(Customer).where(Customer.id.in_({j.customer_id for j in jobs.values()}))
        )
    }
    tech_ids = technician_ids_of(session, [a.id for a in appointments])
    users = users_by_id(session, {u for ids in tech_ids.values() for u in ids})
    tz = zone(company)
    return [
        AppointmentRow(
            appointment=a,
            job=jobs[a.job_id],
            customer=customers[jobs[a.job_id].customer_id],
            technicians=[users[u] for u in tech_ids.get(a.id, []) if u in users],
            start=a.window_start.astimezone(tz),
            end=a.window_end.astimezone(tz),
        )
        for a in appointments
    ]


def users_by_id(session: Session, ids: Iterable[int]) -> dict[int, User]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}


def technicians(session: Session, company_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.company_id == company_id, User.role == "technician", User.active.is_(True))
            .order_by(User.name, User.id)
        )
    )
