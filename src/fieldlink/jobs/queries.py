"""Read side of the jobs domain: filtered, paginated lists and the shapes they answer."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from fieldlink.errors import ValidationFailed
from fieldlink.jobs.billing_schemas import (
    EstimateOut,
    InvoiceOut,
    LineOut,
    PaymentMethodOut,
    PaymentOut,
)
from fieldlink.jobs.dispatch import notification_of
from fieldlink.jobs.models import (
    Appointment,
    AppointmentTechnician,
    DispatchEvent,
    Estimate,
    Invoice,
    Job,
    Payment,
    PaymentMethod,
    StatusCode,
)
from fieldlink.jobs.schemas import AppointmentOut, DispatchEventOut, JobOut, StatusCodeOut
from fieldlink.jobs.service import technician_ids_of
from fieldlink.web.pagination import Page, paginate


def job_out(job: Job) -> JobOut:
    return JobOut.model_validate(job)


def appointment_out(appointment: Appointment, technician_ids: list[int]) -> AppointmentOut:
    return AppointmentOut(
        id=appointment.id,
        job_id=appointment.job_id,
        window_start=appointment.window_start,
        window_end=appointment.window_end,
        schedule_type=appointment.schedule_type,
        status=appointment.status,
        technician_ids=technician_ids,
        created_at=appointment.created_at,
        updated_at=appointment.updated_at,
    )


def status_code_out(code: StatusCode) -> StatusCodeOut:
    return StatusCodeOut(
        id=code.id,
        name=code.name,
        meaning=code.meaning,
        notification=notification_of(code),
        once_per_appointment=code.once_per_appointment,
        created_at=code.created_at,
        updated_at=code.updated_at,
    )


def event_out(event: DispatchEvent, code: StatusCode | None) -> DispatchEventOut:
    return DispatchEventOut(
        id=event.id,
        appointment_id=event.appointment_id,
        technician_id=event.technician_id,
        status_code_id=event.status_code_id,
        status_code_name=code.name if code else None,
        meaning=code.meaning if code else None,
        kind=event.kind,
        source=event.source,
        at=event.at,
    )


def _lines_out(lines: list[dict[str, Any]]) -> list[LineOut]:
    return [LineOut.model_validate(line) for line in lines or []]


def estimate_out(e: Estimate) -> EstimateOut:
    return EstimateOut(
        id=e.id,
        number=e.number,
        customer_id=e.customer_id,
        job_id=e.job_id,
        location_id=e.location_id,
        status=e.status,
        description=e.description,
        lines=_lines_out(e.lines),
        total=e.total,
        customer_comment=e.customer_comment,
        decided_at=e.decided_at,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def invoice_out(i: Invoice) -> InvoiceOut:
    return InvoiceOut(
        id=i.id,
        number=i.number,
        customer_id=i.customer_id,
        job_id=i.job_id,
        status=i.status,
        lines=_lines_out(i.lines),
        total=i.total,
        balance=i.balance,
        due_date=i.due_date,
        created_at=i.created_at,
        updated_at=i.updated_at,
    )


def payment_out(p: Payment) -> PaymentOut:
    return PaymentOut(
        id=p.id,
        customer_id=p.customer_id,
        invoice_id=p.invoice_id,
        payment_method_id=p.payment_method_id,
        amount=p.amount,
        kind=p.kind,
        status=p.status,
        processor_ref=p.processor_ref,
        received_at=p.received_at,
    )


def payment_method_out(m: PaymentMethod) -> PaymentMethodOut:
    return PaymentMethodOut.model_validate(m)


def _where(stmt: Any, model: Any, **filters: Any) -> Any:
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    return stmt


def list_jobs(session: Session, *, company_id: int, page: Page, **filters: Any) -> dict[str, Any]:
    stmt = _where(select(Job).where(Job.company_id == company_id), Job, **filters)
    return paginate(session, stmt, Job.id, page, job_out)


def parse_bound(value: str, *, field: str, time_zone: str, end: bool) -> datetime:
    """A list bound given as a date (whole day in the company's time zone) or as a
    datetime with offset. A date as ``date_to`` includes that whole day."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo=ZoneInfo(time_zone))
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(
            field, "use a date (2026-03-02) or a time with offset (2026-03-02T08:00:00-05:00)"
        ) from exc
    if moment.tzinfo is None:
        raise ValidationFailed(
            field, "time must include a UTC offset, like 2026-03-02T08:00:00-05:00"
        )
    return moment


def list_appointments(
    session: Session,
    *,
    company_id: int,
    page: Page,
    window_from: datetime | None = None,
    window_to: datetime | None = None,
    status: str | None = None,
    technician_id: int | None = None,
    job_id: int | None = None,
) -> dict[str, Any]:
    """Appointments whose window overlaps [window_from, window_to)."""
    stmt = _where(
        select(Appointment).where(Appointment.company_id == company_id),
        Appointment,
        status=status,
        job_id=job_id,
    )
    if window_from is not None:
        stmt = stmt.where(Appointment.window_end > window_from)
    if window_to is not None:
        stmt = stmt.where(Appointment.window_start < window_to)
    if technician_id is not None:
        stmt = stmt.where(
            exists().where(
                AppointmentTechnician.appointment_id == Appointment.id,
                AppointmentTechnician.user_id == technician_id,
            )
        )
    result = paginate(session, stmt, Appointment.id, page, lambda a: a)
    technicians = technician_ids_of(session, [a.id for a in result["items"]])
    result["items"] = [appointment_out(a, technicians[a.id]) for a in result["items"]]
    return result


def list_status_codes(session: Session, *, company_id: int, page: Page) -> dict[str, Any]:
    stmt = select(StatusCode).where(StatusCode.company_id == company_id)
    return paginate(session, stmt, StatusCode.id, page, status_code_out)


def list_dispatch_events(
    session: Session, *, appointment: Appointment, page: Page
) -> dict[str, Any]:
    stmt = select(DispatchEvent).where(
        DispatchEvent.appointment_id == appointment.id,
        DispatchEvent.company_id == appointment.company_id,
    )
    result = paginate(session, stmt, DispatchEvent.id, page, lambda e: e)
    code_ids = {e.status_code_id for e in result["items"] if e.status_code_id is not None}
    codes = {
        c.id: c for c in session.scalars(select(StatusCode).where(StatusCode.id.in_(code_ids)))
    }
    result["items"] = [event_out(e, codes.get(e.status_code_id or 0)) for e in result["items"]]
    return result


def list_estimates(
    session: Session, *, company_id: int, page: Page, **filters: Any
) -> dict[str, Any]:
    stmt = _where(select(Estimate).where(Estimate.company_id == company_id), Estimate, **filters)
    return paginate(session, stmt, Estimate.id, page, estimate_out)


def list_invoices(
    session: Session, *, company_id: int, page: Page, **filters: Any
) -> dict[str, Any]:
    stmt = _where(select(Invoice).where(Invoice.company_id == company_id), Invoice, **filters)
    return paginate(session, stmt, Invoice.id, page, invoice_out)


def list_payments(
    session: Session, *, company_id: int, page: Page, **filters: Any
) -> dict[str, Any]:
    stmt = _where(select(Payment).where(Payment.company_id == company_id), Payment, **filters)
    return paginate(session, stmt, Payment.id, page, payment_out)


def list_payment_methods(
    session: Session, *, company_id: int, page: Page, **filters: Any
) -> dict[str, Any]:
    stmt = _where(
        select(PaymentMethod).where(PaymentMethod.company_id == company_id),
        PaymentMethod,
        **filters,
    )
    return paginate(session, stmt, PaymentMethod.id, page, payment_method_out)
