"""Use cases for jobs and appointments. Status codes and dispatch events live in
``dispatch.py``; estimates, invoices and payments in ``billing.py``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import User
from fieldlink.customers.models import Customer, Location
from fieldlink.db import get_scoped, utcnow
from fieldlink.errors import Conflict, NotFound, ValidationFailed
from fieldlink.jobs import rules
from fieldlink.jobs.models import Appointment, AppointmentTechnician, Invoice, Job, StatusCode
from fieldlink.jobs.schemas import AppointmentIn, AppointmentPatch, JobIn, JobPatch

M = TypeVar("M")

# The codes a new company starts with; "Traveling" is what "on my way" applies.
DEFAULT_STATUS_CODES = (
    ("Pending", "pending"),
    ("Traveling", "traveling"),
    ("Working", "working"),
    ("Complete", "complete"),
)


def seed_default_status_codes(session: Session, *, company_id: int) -> list[StatusCode]:
    codes = [
        StatusCode(
            company_id=company_id,
            name=name,
            meaning=meaning,
            once_per_appointment=True,
            notification_enabled=False,
            notification_channels=[],
            notification_contact_roles=[],
        )
        for name, meaning in DEFAULT_STATUS_CODES
    ]
    session.add_all(codes)
    session.flush()
    return codes


def referenced(
    session: Session, model: type[M], object_id: int, *, company_id: int, label: str, field: str
) -> M:
    """Load a row named inside a request body, scoped to the company.

    Another company's id is reported exactly like a missing one, naming the field, so a
    body can never link to (or probe for) another tenant's rows.
    """
    try:
        obj: M = get_scoped(session, model, object_id, company_id, label)
    except NotFound as exc:
        raise NotFound(
            exc.detail, code=exc.code, errors=[{"field": field, "message": exc.detail}]
        ) from exc
    return obj


# --- jobs -----------------------------------------------------------------------------


def get_job(session: Session, *, company_id: int, job_id: int) -> Job:
    job: Job = get_scoped(session, Job, job_id, company_id, "job")
    return job


def _resolve_location(
    session: Session, *, company_id: int, customer: Customer, location_id: int | None
) -> int:
    if location_id is not None:
        location = referenced(
            session,
            Location,
            location_id,
            company_id=company_id,
            label="location",
            field="location_id",
        )
        if location.customer_id != customer.id:
            raise ValidationFailed(
                "location_id",
                f"location {location_id} is not a location of customer {customer.id}",
                code="location_not_of_customer",
            )
        return location.id
    ids = session.scalars(
        select(Location.id).where(Location.customer_id == customer.id).limit(2)
    ).all()
    if len(ids) == 1:
        return ids[0]
    reason = "has no locations; add one first" if not ids else "has several locations"
    raise ValidationFailed(
        "location_id",
        f"customer {customer.id} {reason}; say which location the job is at",
        code="location_required",
    )


def create_job(session: Session, *, company_id: int, data: JobIn) -> Job:
    """Open a job for a customer at one of its locations (the only one, when omitted)."""
    customer = referenced(
        session,
        Customer,
        data.customer_id,
        company_id=company_id,
        label="customer",
        field="customer_id",
    )
    location_id = _resolve_location(
        session, company_id=company_id, customer=customer, location_id=data.location_id
    )
    job = Job(
        company_id=company_id,
        customer_id=customer.id,
        location_id=location_id,
        job_type=data.job_type,
        po_number=data.po_number,
        description=data.description,
        custom_fields=dict(data.custom_fields),
        status=data.status,
        completed_at=utcnow() if data.status == "completed" else None,
    )
    session.add(job)
    session.flush()
    return job


def po_number_locked(session: Session, *, job: Job) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Invoice.job_id == job.id,
                    Invoice.company_id == job.company_id,
                    Invoice.status.in_(rules.PO_LOCKING_INVOICE_STATUSES),
                )
            )
        )
    )


def update_job(session: Session, *, job: Job, patch: JobPatch) -> Job:
    data = patch.model_dump(exclude_unset=True)
    for key in ("customer_id", "status", "custom_fields"):
        if key in data and data[key] is None:
            raise ValidationFailed(key, "cannot be null")
    if (
        "po_number" in data
        and data["po_number"] != job.po_number
        and po_number_locked(session, job=job)
    ):
        raise Conflict(
            "the PO number cannot change once the job has been invoiced "
            "(an invoice for it is sent or paid)",
            code="po_number_locked",
        )
    if "customer_id" in data or "location_id" in data:
        customer = referenced(
            session,
            Customer,
            data.get("customer_id", job.customer_id),
            company_id=job.company_id,
            label="customer",
            field="customer_id",
        )
        location_id = data.get("location_id")
        if "location_id" not in data and customer.id == job.customer_id:
            location_id = job.location_id
        data["location_id"] = _resolve_location(
            session, company_id=job.company_id, customer=customer, location_id=location_id
        )
        data["customer_id"] = customer.id
    if data.get("status") == "completed" and job.status != "completed":
        job.completed_at = utcnow()
    elif "status" in data and data["status"] != "completed":
        job.completed_at = None
    for key, value in data.items():
        setattr(job, key, value)
    session.flush()
    return job


def sync_job_status(session: Session, *, job: Job) -> None:
    """Derive the job's status from its appointments after one of them changed."""
    statuses = session.scalars(select(Appointment.status).where(Appointment.job_id == job.id))
    new = rules.job_status_after_appointments(current=job.status, appointment_statuses=statuses)
    if new != job.status:
        job.status = new
        job.completed_at = utcnow() if new == "completed" else None


# --- appointments ---------------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentChange:
    """What an appointment update did, for the layers that notify customers about it."""

    appointment: Appointment
    rescheduled: bool
    cancelled: bool
    technicians_changed: bool


def get_appointment(session: Session, *, company_id: int, appointment_id: int) -> Appointment:
    appointment: Appointment = get_scoped(
        session, Appointment, appointment_id, company_id, "appointment"
    )
    return appointment


def technician_ids_of(session: Session, appointment_ids: Iterable[int]) -> dict[int, list[int]]:
    """Assigned technicians per appointment, in one query for a whole page."""
    ids = list(appointment_ids)
    result: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        rows = session.execute(
            select(AppointmentTechnician.appointment_id, AppointmentTechnician.user_id)
            .where(AppointmentTechnician.appointment_id.in_(ids))
            .order_by(AppointmentTechnician.user_id)
        )
        for appointment_id, user_id in rows:
            result[appointment_id].append(user_id)
    return result


def _check_technicians(session: Session, *, company_id: int, user_ids: list[int]) -> list[int]:
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    found = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.id.in_(wanted), User.company_id == company_id)
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(
            f"user {missing[0]} not found",
            code="user_not_found",
            errors=[{"field": "technician_ids", "message": f"user {i} not found"} for i in missing],
        )
    inactive = [i for i in wanted if not found[i].active]
    if inactive:
        raise ValidationFailed(
            "technician_ids",
            f"user {inactive[0]} is inactive and cannot be assigned",
            code="technician_inactive",
        )
    return wanted


def _replace_technicians(
    session: Session, *, appointment: Appointment, user_ids: list[int]
) -> None:
    session.execute(
        delete(AppointmentTechnician).where(AppointmentTechnician.appointment_id == appointment.id)
    )
    session.add_all(
        AppointmentTechnician(
            appointment_id=appointment.id, user_id=user_id, company_id=appointment.company_id
        )
        for user_id in user_ids
    )


def schedule_appointment(session: Session, *, job: Job, data: AppointmentIn) -> Appointment:
    """Book a visit for the job with its window and technicians.

    The hook for "appointment confirmation": call it, then publish the confirmation in
    the same transaction.
    """
    if job.status == "cancelled":
        raise Conflict(
            f"job {job.id} is cancelled; reopen it before scheduling", code="job_cancelled"
        )
    technician_ids = _check_technicians(
        session, company_id=job.company_id, user_ids=data.technician_ids
    )
    appointment = Appointment(
        company_id=job.company_id,
        job_id=job.id,
        window_start=data.window_start,
        window_end=data.window_end,
        schedule_type=data.schedule_type,
        status="scheduled",
    )
    session.add(appointment)
    session.flush()
    _replace_technicians(session, appointment=appointment, user_ids=technician_ids)
    sync_job_status(session, job=job)
    session.flush()
    return appointment


def update_appointment(
    session: Session, *, appointment: Appointment, patch: AppointmentPatch
) -> AppointmentChange:
    """Move, re-type, re-staff or change the status of a visit.

    The result says whether the window moved (``rescheduled``) or the visit was
    cancelled, which is what confirmations and reminders care about.
    """
    data: dict[str, Any] = patch.model_dump(exclude_unset=True)
    for key, value in data.items():
        if value is None:
            raise ValidationFailed(key, "cannot be null")
    start = data.get("window_start", appointment.window_start)
    end = data.get("window_end", appointment.window_end)
    if end <= start:
        field = "window_end" if "window_end" in data else "window_start"
        raise ValidationFailed(field, "window_end must be after window_start")
    rescheduled = start != appointment.window_start or end != appointment.window_end
    technicians_changed = False
    if "technician_ids" in data:
        wanted = _check_technicians(
            session, company_id=appointment.company_id, user_ids=data.pop("technician_ids")
        )
        current = technician_ids_of(session, [appointment.id])[appointment.id]
        if sorted(wanted) != sorted(current):
            _replace_technicians(session, appointment=appointment, user_ids=wanted)
            technicians_changed = True
    cancelled = data.get("status") == "cancelled" and appointment.status != "cancelled"
    for key, value in data.items():
        setattr(appointment, key, value)
    session.flush()
    if "status" in data:
        sync_job_status(session, job=get_job_of(session, appointment=appointment))
        session.flush()
    return AppointmentChange(
        appointment=appointment,
        rescheduled=rescheduled,
        cancelled=cancelled,
        technicians_changed=technicians_changed,
    )


def get_job_of(session: Session, *, appointment: Appointment) -> Job:
    job = session.get(Job, appointment.job_id)
    assert job is not None  # foreign key
    return job
