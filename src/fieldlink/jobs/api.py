"""REST routes: /v1/jobs, /v1/appointments, /v1/status-codes and dispatch status.

Billing routes (estimates, invoices, payments, payment methods) are in ``billing_api.py``
and included here, so the application registers one router for the domain.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from fieldlink.db import MAX_ID, utcnow
from fieldlink.jobs import dispatch, queries, service
from fieldlink.jobs.billing_api import router as billing_router
from fieldlink.jobs.models import Appointment
from fieldlink.jobs.schemas import (
    AppointmentIn,
    AppointmentOut,
    AppointmentPatch,
    AppointmentStatus,
    DispatchResultOut,
    DispatchStatusIn,
    JobIn,
    JobOut,
    JobPatch,
    JobStatus,
    StatusCodeIn,
    StatusCodeOut,
    StatusCodePatch,
)
from fieldlink.messaging import documents, touchpoints, triggers
from fieldlink.web.deps import CurrentTenant, DbSession, Links
from fieldlink.web.pagination import Page, page_params

router = APIRouter(prefix="/v1")


# --- jobs -----------------------------------------------------------------------------


@router.post("/jobs", response_model=JobOut, status_code=201, tags=["jobs"])
def create_job(body: JobIn, tenant: CurrentTenant, session: DbSession) -> JobOut:
    job = service.create_job(session, company_id=tenant.company_id, data=body)
    return queries.job_out(job)


@router.get("/jobs", tags=["jobs"])
def list_jobs(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    customer_id: int | None = Query(None, ge=1, le=MAX_ID),
    status: JobStatus | None = Query(None),
    job_type: str | None = Query(None, max_length=100),
) -> dict[str, Any]:
    return queries.list_jobs(
        session,
        company_id=tenant.company_id,
        page=page,
        customer_id=customer_id,
        status=status,
        job_type=job_type,
    )


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["jobs"])
def get_job(job_id: int, tenant: CurrentTenant, session: DbSession) -> JobOut:
    return queries.job_out(service.get_job(session, company_id=tenant.company_id, job_id=job_id))


@router.patch("/jobs/{job_id}", response_model=JobOut, tags=["jobs"])
def patch_job(job_id: int, body: JobPatch, tenant: CurrentTenant, session: DbSession) -> JobOut:
    job = service.get_job(session, company_id=tenant.company_id, job_id=job_id)
    was = job.status
    job = service.update_job(session, job=job, patch=body)
    if job.status == "completed" and was != "completed":
        documents.request_review(session, company=tenant.company, job=job, now=utcnow())
    return queries.job_out(job)


# --- appointments ---------------------------------------------------------------------


def _appointment_out(session: Session, appointment: Appointment) -> AppointmentOut:
    technicians = service.technician_ids_of(session, [appointment.id])[appointment.id]
    return queries.appointment_out(appointment, technicians)


@router.post(
    "/jobs/{job_id}/appointments",
    response_model=AppointmentOut,
    status_code=201,
    tags=["appointments"],
)
def create_appointment(
    job_id: int, body: AppointmentIn, tenant: CurrentTenant, session: DbSession, links: Links
) -> AppointmentOut:
    """Book a visit; the customer gets one confirmation shortly after (DESIGN.md, touchpoint 2)."""
    job = service.get_job(session, company_id=tenant.company_id, job_id=job_id)
    appointment = service.schedule_appointment(session, job=job, data=body)
    touchpoints.confirm(
        session, company=tenant.company, appointment=appointment, links=links, now=utcnow()
    )
    return _appointment_out(session, appointment)


@router.get("/appointments", tags=["appointments"])
def list_appointments(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    date_from: str | None = Query(None, description="date or time with offset; overlap"),
    date_to: str | None = Query(None, description="date (whole day) or time with offset"),
    status: AppointmentStatus | None = Query(None),
    technician_id: int | None = Query(None, ge=1, le=MAX_ID),
    job_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> dict[str, Any]:
    tz = tenant.company.time_zone
    window_from = (
        queries.parse_bound(date_from, field="date_from", time_zone=tz, end=False)
        if date_from
        else None
    )
    window_to = (
        queries.parse_bound(date_to, field="date_to", time_zone=tz, end=True) if date_to else None
    )
    return queries.list_appointments(
        session,
        company_id=tenant.company_id,
        page=page,
        window_from=window_from,
        window_to=window_to,
        status=status,
        technician_id=technician_id,
        job_id=job_id,
    )


@router.get("/appointments/{appointment_id}", response_model=AppointmentOut, tags=["appointments"])
def get_appointment(
    appointment_id: int, tenant: CurrentTenant, session: DbSession
) -> AppointmentOut:
    appointment = service.get_appointment(
        session, company_id=tenant.company_id, appointment_id=appointment_id
    )
    return _appointment_out(session, appointment)


@router.patch(
    "/appointments/{appointment_id}", response_model=AppointmentOut, tags=["appointments"]
)
def patch_appointment(
    appointment_id: int,
    body: AppointmentPatch,
    tenant: CurrentTenant,
    session: DbSession,
    links: Links,
) -> AppointmentOut:
    """A new window sends one new confirmation and supersedes unsent ones for the old."""
    appointment = service.get_appointment(
        session, company_id=tenant.company_id, appointment_id=appointment_id
    )
    change = service.update_appointment(session, appointment=appointment, patch=body)
    if change.rescheduled or change.cancelled:
        touchpoints.confirm(
            session,
            company=tenant.company,
            appointment=change.appointment,
            links=links,
            now=utcnow(),
        )
    return _appointment_out(session, change.appointment)


@router.post(
    "/appointments/{appointment_id}/status",
    response_model=DispatchResultOut,
    status_code=201,
    tags=["dispatch"],
)
def post_dispatch_status(
    appointment_id: int,
    body: DispatchStatusIn,
    tenant: CurrentTenant,
    session: DbSession,
    links: Links,
) -> DispatchResultOut:
    """Apply a status code; its notification (if any) goes out once per appointment unless
    the code says per technician. A visit that completes the job asks for a review."""
    appointment = service.get_appointment(
        session, company_id=tenant.company_id, appointment_id=appointment_id
    )
    event, code, result = triggers.apply_status_code(
        session,
        company=tenant.company,
        appointment=appointment,
        technician_id=body.technician_id,
        status_code_id=body.status_code_id,
        source=body.source,
        links=links,
        now=utcnow(),
    )
    out = queries.event_out(event, code)
    return DispatchResultOut(
        **out.model_dump(), appointment_status=appointment.status, notifications=result.as_dict()
    )


@router.get("/appointments/{appointment_id}/status", tags=["dispatch"])
def list_dispatch_status(
    appointment_id: int,
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
) -> dict[str, Any]:
    appointment = service.get_appointment(
        session, company_id=tenant.company_id, appointment_id=appointment_id
    )
    return queries.list_dispatch_events(session, appointment=appointment, page=page)


# --- status codes ---------------------------------------------------------------------


@router.post("/status-codes", response_model=StatusCodeOut, status_code=201, tags=["dispatch"])
def create_status_code(
    body: StatusCodeIn, tenant: CurrentTenant, session: DbSession
) -> StatusCodeOut:
    code = dispatch.create_status_code(session, company_id=tenant.company_id, data=body)
    return queries.status_code_out(code)


@router.get("/status-codes", tags=["dispatch"])
def list_status_codes(
    tenant: CurrentTenant, session: DbSession, page: Page = Depends(page_params)
) -> dict[str, Any]:
    return queries.list_status_codes(session, company_id=tenant.company_id, page=page)


@router.get("/status-codes/{status_code_id}", response_model=StatusCodeOut, tags=["dispatch"])
def get_status_code(
    status_code_id: int, tenant: CurrentTenant, session: DbSession
) -> StatusCodeOut:
    code = dispatch.get_status_code(
        session, company_id=tenant.company_id, status_code_id=status_code_id
    )
    return queries.status_code_out(code)


@router.patch("/status-codes/{status_code_id}", response_model=StatusCodeOut, tags=["dispatch"])
def patch_status_code(
    status_code_id: int, body: StatusCodePatch, tenant: CurrentTenant, session: DbSession
) -> StatusCodeOut:
    code = dispatch.get_status_code(
        session, company_id=tenant.company_id, status_code_id=status_code_id
    )
    return queries.status_code_out(dispatch.update_status_code(session, code=code, patch=body))


router.include_router(billing_router)
