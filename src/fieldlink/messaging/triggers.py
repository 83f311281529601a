"""Trigger use cases shared by the REST API (triggers_api.py, jobs/api.py) and the office
pages: bulk reminders over a filtered appointment list, "on my way", applying a status code.
One copy of each rule, whichever screen or integration pulls the trigger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import get_user
from fieldlink.errors import Conflict, ValidationFailed
from fieldlink.jobs import dispatch, service
from fieldlink.jobs.models import Appointment, AppointmentTechnician, DispatchEvent, StatusCode
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging import documents, touchpoints
from fieldlink.messaging.notify import NotifyResult

MAX_BULK = 5000


def appointments_query(
    *,
    company_id: int,
    start: datetime,
    end: datetime,
    status: str | None,
    technician_id: int | None,
    appointment_ids: Sequence[int] | None = None,
) -> Select[Appointment]:
    """Appointments whose window overlaps [start, end), filtered as the list shows them."""
    stmt = select(Appointment).where(
        Appointment.company_id == company_id,
        Appointment.window_end > start,
        Appointment.window_start < end,
    )
    if status:
        stmt = stmt.where(Appointment.status == status)
    if technician_id is not None:
        stmt = stmt.where(
            exists().where(
                AppointmentTechnician.appointment_id == Appointment.id,
                AppointmentTechnician.user_id == technician_id,
            )
        )
    if appointment_ids is not None:
        stmt = stmt.where(Appointment.id.in_(appointment_ids))
    return stmt.order_by(Appointment.window_start, Appointment.id)


def remind_appointments(
    session: Session,
    *,
    company: Company,
    start: datetime,
    end: datetime,
    status: str | None,
    technician_id: int | None,
    appointment_ids: Sequence[int] | None,
    roles: Sequence[str],
    channels: tuple[str, ...],
    links: LinkMaker,
    now: datetime,
) -> tuple[NotifyResult, int]:
    """Service reminders for every appointment of a filtered list (or the ids chosen from
    it): what was queued and what was suppressed, by reason, and how many appointments."""
    stmt = appointments_query(
        company_id=company.id,
        start=start,
        end=end,
        status=status,
        technician_id=technician_id,
        appointment_ids=appointment_ids,
    )
    appointments = list(session.scalars(stmt.limit(MAX_BULK + 1)))
    if len(appointments) > MAX_BULK:
        raise ValidationFailed("date_to", f"more than {MAX_BULK} appointments; narrow the range")
    total = touchpoints.remind_all(
        session,
        company=company,
        appointments=appointments,
        roles=roles,
        links=links,
        now=now,
        channels=channels,
    )
    return total, len(appointments)


def mark_en_route(
    session: Session,
    *,
    company: Company,
    appointment: Appointment,
    technician_id: int,
    eta: datetime | None,
    contact_ids: Sequence[int],
    links: LinkMaker,
    now: datetime,
) -> NotifyResult:
    """The technician is on the way: record "Traveling" and tell the contacts they picked."""
    if eta is not None and eta < now - touchpoints.STALE_AFTER:
        raise ValidationFailed("eta", "the ETA is in the past")
    traveling = session.scalar(
        select(StatusCode)
        .where(StatusCode.company_id == company.id, StatusCode.meaning == "traveling")
        .order_by(StatusCode.id)
    )
    if traveling is None:
        raise Conflict(
            "the company has no status code meaning 'traveling'", code="no_traveling_status"
        )
    event = dispatch.record_dispatch_status(
        session,
        appointment=appointment,
        technician_id=technician_id,
        status_code_id=traveling.id,
        source="technician",
        now=now,
    )
    event.kind, event.eta = "en_route", eta
    technician = get_user(session, company_id=company.id, user_id=technician_id)
    # The en-route notice replaces the Traveling code's own status notice: one text, not two.
    return touchpoints.on_my_way(
        session,
        company=company,
        appointment=appointment,
        technician=technician,
        eta=eta,
        contact_ids=contact_ids,
        links=links,
        now=now,
    )


def apply_status_code(
    session: Session,
    *,
    company: Company,
    appointment: Appointment,
    technician_id: int,
    status_code_id: int,
    source: str,
    links: LinkMaker,
    now: datetime,
) -> tuple[DispatchEvent, StatusCode, NotifyResult]:
    """Apply a status code; its notification (if any) goes out once per appointment unless
    the code says per technician. A visit that completes the job asks for a review."""
    event = dispatch.record_dispatch_status(
        session,
        appointment=appointment,
        technician_id=technician_id,
        status_code_id=status_code_id,
        source=source,
        now=now,
    )
    code = dispatch.get_status_code(session, company_id=company.id, status_code_id=status_code_id)
    technician = get_user(session, company_id=company.id, user_id=technician_id)
    result = touchpoints.status_applied(
        session,
        company=company,
        appointment=appointment,
        technician=technician,
        code=code,
        links=links,
        now=now,
    )
    job = service.get_job_of(session, appointment=appointment)
    if job.status == "completed":
        result.merge(documents.request_review(session, company=company, job=job, now=now))
    return event, code, result
