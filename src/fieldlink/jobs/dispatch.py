"""Use cases for status codes and the dispatch status events technicians apply."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import User
from fieldlink.db import get_scoped
from fieldlink.errors import Conflict, ValidationFailed
from fieldlink.jobs import rules
from fieldlink.jobs.models import Appointment, AppointmentTechnician, DispatchEvent, StatusCode
from fieldlink.jobs.schemas import (
    Channel,
    ContactRole,
    Notification,
    StatusCodeIn,
    StatusCodePatch,
)
from fieldlink.jobs.service import get_job_of, referenced, sync_job_status


def get_status_code(session: Session, *, company_id: int, status_code_id: int) -> StatusCode:
    code: StatusCode = get_scoped(session, StatusCode, status_code_id, company_id, "status code")
    return code


def notification_of(code: StatusCode) -> Notification:
    # model_construct: stored rows were validated on the way in; don't re-reject them.
    return Notification.model_construct(
        enabled=code.notification_enabled,
        channels=cast(list[Channel], list(code.notification_channels or [])),
        contact_roles=cast(list[ContactRole], list(code.notification_contact_roles or [])),
        template=code.notification_template,
    )


def _apply_notification(code: StatusCode, notification: Notification) -> None:
    code.notification_enabled = notification.enabled
    code.notification_channels = list(notification.channels)
    code.notification_contact_roles = list(notification.contact_roles)
    code.notification_template = notification.template


def _name_free(session: Session, *, company_id: int, name: str, except_id: int | None) -> None:
    # Case-insensitive: "Traveling" and "traveling" side by side would confuse technicians.
    stmt = select(StatusCode.id).where(
        StatusCode.company_id == company_id, func.lower(StatusCode.name) == name.lower()
    )
    if except_id is not None:
        stmt = stmt.where(StatusCode.id != except_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"a status code named {name!r} exists", code="status_code_name_taken")


def create_status_code(session: Session, *, company_id: int, data: StatusCodeIn) -> StatusCode:
    _name_free(session, company_id=company_id, name=data.name, except_id=None)
    code = StatusCode(
        company_id=company_id,
        name=data.name,
        meaning=data.meaning,
        once_per_appointment=data.once_per_appointment,
    )
    _apply_notification(code, data.notification)
    session.add(code)
    session.flush()
    return code


def update_status_code(session: Session, *, code: StatusCode, patch: StatusCodePatch) -> StatusCode:
    data = patch.model_dump(exclude_unset=True)
    for key, value in data.items():
        if value is None:
            raise ValidationFailed(key, "cannot be null")
    if "name" in data:
        _name_free(session, company_id=code.company_id, name=data["name"], except_id=code.id)
        code.name = data["name"]
    if "meaning" in data:
        code.meaning = data["meaning"]
    if "once_per_appointment" in data:
        code.once_per_appointment = data["once_per_appointment"]
    if patch.notification is not None:
        # Fields not sent keep their stored values; the merged whole is validated again.
        merged = notification_of(code).model_dump()
        merged.update(patch.notification.model_dump(include=patch.notification.model_fields_set))
        try:
            notification = Notification.model_validate(merged)
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ValidationFailed("notification", message) from exc
        _apply_notification(code, notification)
    session.flush()
    return code


def record_dispatch_status(
    session: Session,
    *,
    appointment: Appointment,
    technician_id: int,
    status_code_id: int,
    source: str,
    now: datetime,
) -> DispatchEvent:
    """Apply a status code to one technician's dispatch on an appointment.

    Records the event, moves the appointment (and its job) along, and returns the event:
    the hook for status notifications, which honour the code's ``once_per_appointment``.
    """
    company_id = appointment.company_id
    # Two technicians pressing "Complete" at once must not each miss the other's event
    # and leave the visit in progress forever: serialise on the appointment row
    # (PostgreSQL; SQLite has one writer anyway) and read its status fresh.
    session.scalars(
        select(Appointment)
        .where(Appointment.id == appointment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if appointment.status == "cancelled":
        raise Conflict(f"appointment {appointment.id} is cancelled", code="appointment_cancelled")
    technician = referenced(
        session, User, technician_id, company_id=company_id, label="user", field="technician_id"
    )
    assigned = set(
        session.scalars(
            select(AppointmentTechnician.user_id).where(
                AppointmentTechnician.appointment_id == appointment.id
            )
        )
    )
    if technician.id not in assigned:
        raise ValidationFailed(
            "technician_id",
            f"user {technician.id} is not assigned to appointment {appointment.id}",
            code="technician_not_assigned",
        )
    code = referenced(
        session,
        StatusCode,
        status_code_id,
        company_id=company_id,
        label="status code",
        field="status_code_id",
    )
    event = DispatchEvent(
        company_id=company_id,
        appointment_id=appointment.id,
        technician_id=technician.id,
        status_code_id=code.id,
        kind="status",
        source=source,
        at=now,
    )
    session.add(event)
    session.flush()
    latest = latest_meanings(session, appointment=appointment, technician_ids=assigned)
    new_status = rules.appointment_status_after(
        current=appointment.status, meaning=code.meaning, latest_by_technician=latest
    )
    if new_status != appointment.status:
        appointment.status = new_status
        sync_job_status(session, job=get_job_of(session, appointment=appointment))
    session.flush()
    return event


def latest_meanings(
    session: Session, *, appointment: Appointment, technician_ids: set[int]
) -> dict[int, str | None]:
    """Each assigned technician's latest status meaning on the appointment (None: none yet)."""
    rows = session.execute(
        select(DispatchEvent.technician_id, StatusCode.meaning)
        .join(StatusCode, StatusCode.id == DispatchEvent.status_code_id)
        .where(DispatchEvent.appointment_id == appointment.id, DispatchEvent.kind == "status")
        .order_by(DispatchEvent.at, DispatchEvent.id)
    )
    latest: dict[int, str | None] = dict.fromkeys(technician_ids)
    for technician_id, meaning in rows:
        if technician_id in latest:
            latest[technician_id] = meaning
    return latest
