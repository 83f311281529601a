"""Write a job into the outbox inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.db import utcnow
from fieldlink.outbox.models import OutboxJob


def publish(
    session: Session,
    topic: str,
    *,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 8,
    **payload: Any,
) -> OutboxJob | None:
    """Queue ``topic`` with ``payload``; nothing runs unless the caller's transaction commits.

    With ``dedupe_key``, a second publish of the same key is ignored (returns None).
    """
    if dedupe_key is not None:
        exists = session.scalar(select(OutboxJob.id).where(OutboxJob.dedupe_key == dedupe_key))
        if exists is not None:
            return None
    job = OutboxJob(
        topic=topic,
        payload=payload,
        dedupe_key=dedupe_key,
        run_at=run_at or utcnow(),
        max_attempts=max_attempts,
        status="pending",
        attempts=0,
    )
    session.add(job)  # flushed with the caller's other writes, in one batch
    return job
