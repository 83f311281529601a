"""Write a job into the outbox inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from fieldlink.db import dialect_insert, utcnow
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


def publish_many(
    session: Session, topic: str, jobs: list[tuple[str, dict[str, Any]]], *, now: datetime
) -> None:
    """Queue one ``topic`` job per ``(dedupe_key, payload)`` in one statement; a key already
    in the outbox (a retry of something queued before) is skipped, without reading first.
    Core, not the ORM: nothing is loaded or flushed."""
    if not jobs:
        return
    table = cast(Table, OutboxJob.__table__)
    rows = [
        {
            "topic": topic,
            "payload": payload,
            "dedupe_key": key,
            "status": "pending",
            "attempts": 0,
            "max_attempts": 8,
            "run_at": now,
            "created_at": now,
        }
        for key, payload in jobs
    ]
    # executemany of one cached statement (psycopg pipelines it), not a multi-VALUES
    # statement compiled afresh for every batch size.
    stmt = dialect_insert(session.get_bind().dialect.name, table).on_conflict_do_nothing(
        index_elements=["dedupe_key"]
    )
    session.execute(stmt, rows)
