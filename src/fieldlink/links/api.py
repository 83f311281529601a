"""REST routes: the signed work acknowledgements of a job, the reschedule requests of an
appointment (both made by customers on their links)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from fieldlink.db import get_scoped
from fieldlink.jobs.models import Appointment, Job
from fieldlink.links.acknowledgements import list_acknowledgements
from fieldlink.links.models import RescheduleRequest
from fieldlink.links.schemas import AcknowledgementOut, RescheduleRequestOut
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
