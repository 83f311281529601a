"""REST routes: photos and documents shown on a job's service link, the signed work
acknowledgements of a job, the reschedule requests of an appointment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select

from fieldlink.db import get_scoped, utcnow
from fieldlink.errors import Conflict, NotFound
from fieldlink.jobs.models import Appointment, Job
from fieldlink.links.acknowledgements import list_acknowledgements
from fieldlink.links.models import JobAttachment, RescheduleRequest
from fieldlink.links.schemas import (
    AcknowledgementOut,
    AttachmentIn,
    AttachmentOut,
    RescheduleRequestOut,
)
from fieldlink.links.summary import attachments_of
from fieldlink.web.deps import CurrentTenant, DbSession

router = APIRouter(prefix="/v1")


@router.get("/jobs/{job_id}/acknowledgements", tags=["jobs"])
def job_acknowledgements(job_id: int, tenant: CurrentTenant, session: DbSession) -> dict[str, Any]:
    """Work acknowledgements the customer signed on the job's service link (at most one)."""
    job: Job = get_scoped(session, Job, job_id, tenant.company_id, "job")
    items = [
        AcknowledgementOut.of(a).model_dump(mode="json")
        for a in list_acknowledgements(session, job=job)
    ]
    return {"items": items, "next_cursor": None}


@router.get("/appointments/{appointment_id}/reschedule-requests", tags=["jobs"])
def appointment_reschedule_requests(
    appointment_id: int, tenant: CurrentTenant, session: DbSession
) -> dict[str, Any]:
    """What the customer asked on the appointment's reschedule link (newest first); the
    appointment itself is only changed by the office."""
    appointment: Appointment = get_scoped(
        session, Appointment, appointment_id, tenant.company_id, "appointment"
    )
    rows = session.scalars(
        select(RescheduleRequest)
        .where(
            RescheduleRequest.appointment_id == appointment.id,
            RescheduleRequest.company_id == tenant.company_id,
        )
        .order_by(RescheduleRequest.id.desc())
    )
    items = [RescheduleRequestOut.of(r).model_dump(mode="json") for r in rows]
    return {"items": items, "next_cursor": None}


MAX_ATTACHMENTS = 50


@router.post(
    "/jobs/{job_id}/attachments", response_model=AttachmentOut, status_code=201, tags=["jobs"]
)
def add_attachment(
    job_id: int, body: AttachmentIn, tenant: CurrentTenant, session: DbSession
) -> AttachmentOut:
    """Add a photo or document (an https URL) to show on the job's service link."""
    job: Job = get_scoped(session, Job, job_id, tenant.company_id, "job")
    if len(attachments_of(session, job)) >= MAX_ATTACHMENTS:
        raise Conflict(
            f"a job shows at most {MAX_ATTACHMENTS} attachments", code="too_many_attachments"
        )
    row = JobAttachment(
        company_id=tenant.company_id,
        job_id=job.id,
        kind=body.kind,
        title=body.title,
        url=body.url,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return AttachmentOut.of(row)


@router.get("/jobs/{job_id}/attachments", tags=["jobs"])
def list_attachments(job_id: int, tenant: CurrentTenant, session: DbSession) -> dict[str, Any]:
    job: Job = get_scoped(session, Job, job_id, tenant.company_id, "job")
    items = [AttachmentOut.of(a).model_dump(mode="json") for a in attachments_of(session, job)]
    return {"items": items, "next_cursor": None}


@router.delete("/jobs/{job_id}/attachments/{attachment_id}", status_code=204, tags=["jobs"])
def delete_attachment(
    job_id: int, attachment_id: int, tenant: CurrentTenant, session: DbSession
) -> Response:
    job: Job = get_scoped(session, Job, job_id, tenant.company_id, "job")
    row: JobAttachment = get_scoped(
        session, JobAttachment, attachment_id, tenant.company_id, "attachment"
    )
    if row.job_id != job.id:
        raise NotFound(f"attachment {attachment_id} not found", code="attachment_not_found")
    session.delete(row)
    return Response(status_code=204)
