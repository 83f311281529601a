"""Retention: old message bodies are dropped, finished outbox rows and expired
idempotency keys deleted (``fieldlink purge``, run daily from cron or a timer).

The message log keeps every row (who was sent what touchpoint, when, with which outcome
and reasons: the answer to "why did this customer not get it?") — only the text goes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from fieldlink.messaging.models import Message
from fieldlink.ops.idempotency import KEY_TTL
from fieldlink.ops.models import IdempotencyRecord
from fieldlink.outbox.models import OPEN_STATES, OutboxJob
from fieldlink.sms.models import SmsMessage

PURGED = "[removed after the retention period]"


@dataclass(frozen=True)
class Purged:
    message_bodies: int
    conversation_texts: int
    outbox_rows: int
    idempotency_keys: int
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def purge(
    session: Session,
    *,
    now: datetime,
    message_retention_days: int,
    outbox_retention_days: int,
    dry_run: bool = False,
) -> Purged:
    """Apply the retention settings; with ``dry_run``, only count what would go."""
    body_cutoff = now - timedelta(days=message_retention_days)
    outbox_cutoff = now - timedelta(days=outbox_retention_days)
    old_messages = (
        Message.created_at < body_cutoff,
        (Message.body != "") | Message.subject.is_not(None),
    )
    old_texts = (SmsMessage.at < body_cutoff, SmsMessage.body != PURGED)
    # Only finished jobs go: an open one is work still to do, whatever its age.
    finished = (OutboxJob.status.not_in(OPEN_STATES), OutboxJob.finished_at < outbox_cutoff)
    expired = (IdempotencyRecord.created_at < now - KEY_TTL,)
    if dry_run:
        return Purged(
            message_bodies=_count(session, Message, old_messages),
            conversation_texts=_count(session, SmsMessage, old_texts),
            outbox_rows=_count(session, OutboxJob, finished),
            idempotency_keys=_count(session, IdempotencyRecord, expired),
            dry_run=True,
        )
    bodies = session.execute(update(Message).where(*old_messages).values(body="", subject=None))
    texts = session.execute(update(SmsMessage).where(*old_texts).values(body=PURGED))
    outbox = session.execute(delete(OutboxJob).where(*finished))
    keys = session.execute(delete(IdempotencyRecord).where(*expired))
    return Purged(
        message_bodies=_rows(bodies),
        conversation_texts=_rows(texts),
        outbox_rows=_rows(outbox),
        idempotency_keys=_rows(keys),
        dry_run=False,
    )


def _count(session: Session, model: Any, where: tuple[Any, ...]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
