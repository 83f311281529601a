"""REST routes that make the service cycle speak: en route, reminders, links to documents."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from fieldlink.accounts.service import get_user
from fieldlink.customers.models import Customer
from fieldlink.db import get_scoped, utcnow
from fieldlink.errors import Conflict, ValidationFailed
from fieldlink.jobs import dispatch, queries, service
from fieldlink.jobs.models import (
    Appointment,
    AppointmentTechnician,
    Estimate,
    Invoice,
    StatusCode,
)
from fieldlink.messaging import documents, touchpoints
from fieldlink.messaging.notify import NotifyResult
from fieldlink.messaging.trigger_schemas import (
    BulkReminderIn,
    BulkReminderOut,
    EnRouteIn,
    NotifyOut,
    ReminderIn,
    SendLinkIn,
)
from fieldlink.web.deps import CurrentTenant, DbSession, Links

router = APIRouter(prefix="/v1", tags=["notifications"])
MAX_BULK = 5000


def _customer(session: Session, company_id: int, customer_id: int) -> Customer:
    customer: Customer = get_scoped(session, Customer, customer_id, company_id, "customer")
    return customer


def _out(result: NotifyResult) -> NotifyOut:
    return NotifyOut(**result.as_dict())


@router.post("/appointments/{appointment_id}/en-route", response_model=NotifyOut, status_code=201)
def en_route(
    appointment_id: int, body: EnRouteIn, tenant: CurrentTenant, session: DbSession, links: Links
) -> NotifyOut:
    """The technician is on the way: record "Traveling" and tell the contacts they picked."""
    now = utcnow()
    appointment = service.get_appointment(
        session, company_id=tenant.company_id, appointment_id=appointment_id
    )
    if body.eta is not None and body.eta < now - touchpoints.STALE_AFTER:
        raise ValidationFailed("eta", "the ETA is in the past")
    traveling = session.scalar(
        select(StatusCode)
        .where(StatusCode.company_id == tenant.company_id, StatusCode.meaning == "traveling")
        .order_by(StatusCode.id)
    )
    if traveling is None:
        raise Conflict(
            "the company has no status code meaning 'traveling'", code="no_traveling_status"
        )
    event = dispatch.record_dispatch_status(
        session,
        appointment=appointment,
        technician_id=body.technician_id,
        status_code_id=traveling.id,
        source="technician",
        now=now,
    )
    event.kind, event.eta = "en_route", body.eta
    technician = get_user(session, company_id=tenant.company_id, user_id=body.technician_id)
    # The en-route notice replaces the Traveling code's own status notice: one text, not two.
    return _out(
        touchpoints.on_my_way(
            session,
            company=tenant.company,
            appointment=appointment,
            technician=technician,
            eta=body.eta,
            contact_ids=body.contact_ids,
            links=links,
            now=now,
        )
    )


@router.post("/appointments/{appointment_id}/reminders", response_model=NotifyOut, status_code=201)
def remind_one(
    appointment_id: int, body: ReminderIn, tenant: CurrentTenant, session: DbSession, links: Links
) -> NotifyOut:
    appointment = service.get_appointment(
        session, company_id=tenant.company_id, appointment_id=appointment_id
    )
    if appointment.status == "cancelled":
        raise Conflict(f"appointment {appointment.id} is cancelled", code="appointment_cancelled")
    return _out(
        touchpoints.remind(
            session,
            company=tenant.company,
            appointment=appointment,
            roles=body.contact_roles,
            contact_ids=body.contact_ids,
            links=links,
            now=utcnow(),
            channels=tuple(body.channels),
        )
    )


@router.post("/reminders", response_model=BulkReminderOut, status_code=201)
def remind_many(
    body: BulkReminderIn, tenant: CurrentTenant, session: DbSession, links: Links
) -> BulkReminderOut:
    """Reminders for every appointment of a filtered list (or the ids chosen from it)."""
    if body.contact_ids:
        raise ValidationFailed("contact_ids", "bulk reminders choose contacts by role")
    tz = tenant.company.time_zone
    start = queries.parse_bound(body.date_from, field="date_from", time_zone=tz, end=False)
    end = queries.parse_bound(body.date_to, field="date_to", time_zone=tz, end=True)
    stmt = select(Appointment).where(
        Appointment.company_id == tenant.company_id,
        Appointment.window_end > start,
        Appointment.window_start < end,
    )
    if body.status:
        stmt = stmt.where(Appointment.status == body.status)
    if body.technician_id is not None:
        stmt = stmt.where(
            exists().where(
                AppointmentTechnician.appointment_id == Appointment.id,
                AppointmentTechnician.user_id == body.technician_id,
            )
        )
    if body.appointment_ids is not None:
        stmt = stmt.where(Appointment.id.in_(body.appointment_ids))
    appointments = list(
        session.scalars(stmt.order_by(Appointment.window_start, Appointment.id).limit(MAX_BULK + 1))
    )
    if len(appointments) > MAX_BULK:
        raise ValidationFailed("date_to", f"more than {MAX_BULK} appointments; narrow the range")
    total = touchpoints.remind_all(
        session,
        company=tenant.company,
        appointments=appointments,
        roles=body.contact_roles,
        links=links,
        now=utcnow(),
        channels=tuple(body.channels),
    )
    return BulkReminderOut(**total.as_dict(), appointments=len(appointments))


@router.post("/jobs/{job_id}/service-link", response_model=NotifyOut, status_code=201)
def send_service_link(
    job_id: int, body: SendLinkIn, tenant: CurrentTenant, session: DbSession, links: Links
) -> NotifyOut:
    job = service.get_job(session, company_id=tenant.company_id, job_id=job_id)
    return _out(
        documents.send_service_link(
            session,
            company=tenant.company,
            job=job,
            contact_ids=body.contact_ids,
            roles=body.contact_roles,
            links=links,
            now=utcnow(),
        )
    )


@router.post("/estimates/{estimate_id}/send", response_model=NotifyOut, status_code=201)
def send_estimate(
    estimate_id: int, body: SendLinkIn, tenant: CurrentTenant, session: DbSession, links: Links
) -> NotifyOut:
    estimate = get_scoped(session, Estimate, estimate_id, tenant.company_id, "estimate")
    return _out(
        documents.send_estimate(
            session,
            company=tenant.company,
            estimate=estimate,
            contact_ids=body.contact_ids,
            roles=body.contact_roles,
            links=links,
            now=utcnow(),
        )
    )


@router.post("/invoices/{invoice_id}/send", response_model=NotifyOut, status_code=201)
def send_invoice(
    invoice_id: int, body: SendLinkIn, tenant: CurrentTenant, session: DbSession, links: Links
) -> NotifyOut:
    invoice = get_scoped(session, Invoice, invoice_id, tenant.company_id, "invoice")
    return _out(
        documents.send_invoice(
            session,
            company=tenant.company,
            invoice=invoice,
            contact_ids=body.contact_ids,
            roles=body.contact_roles,
            links=links,
            now=utcnow(),
        )
    )
