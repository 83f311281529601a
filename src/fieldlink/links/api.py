"""REST route: ``GET /v1/jobs/{id}/acknowledgements`` — the signed work acknowledgements."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from fieldlink.db import get_scoped
from fieldlink.jobs.models import Job
from fieldlink.links.acknowledgements import list_acknowledgements
from fieldlink.links.schemas import AcknowledgementOut
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
