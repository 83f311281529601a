"""Delivery receipts: provider status callbacks move a message forward, never backward."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from fieldlink.consent.changes import set_marketing_sms_status
from fieldlink.customers.models import ContactMethod
from fieldlink.db import MAX_ID, UTCDateTime
from fieldlink.messaging.models import Message
from fieldlink.messaging.reasons import reason
from fieldlink.messaging.service import record_status

# Twilio's MessageStatus values mapped to ours, and how far along each is.
_STATUS = {
    "accepted": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "read": "delivered",
}
_RANK = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "suppressed": 3,
}


def apply_sms_receipt(
    session: Session,
    *,
    reference: str | None,
    provider_id: str | None,
    provider_status: str,
    error_code: str | None,
    now: datetime,
) -> Message | None:
    """Record a status callback; returns the message, or None when it isn't ours.

    Repeats (providers retry callbacks) and out-of-order receipts change nothing.
    """
    message = _find(session, reference=reference, provider_id=provider_id)
    if message is None:
        return None
    status = _STATUS.get(provider_status.lower())
    if status is None or _RANK[status] <= _RANK.get(message.status, 0):
        return message
    if provider_id and not message.provider_id:
        message.provider_id = provider_id
    detail = _detail(provider_status, error_code)
    if status == "delivered":
        message.delivered_at = now
    if error_code == "21610" and message.contact_method_id:
        method = session.get(ContactMethod, message.contact_method_id)
        if method is not None:
            # CTIA: a carrier-level STOP is the customer's opt-out; honour it everywhere.
            set_marketing_sms_status(
                session,
                method=method,
                status="opted_out",
                source="carrier",
                wording=f"provider error {error_code}",
                reference=message.reference,
                at=now,
            )
        message.reasons = [reason("opted_out_at_carrier")]
    record_status(session, message, status, now=now, detail=detail)
    session.flush()
    return message


# The whole forward move of a receipt carrying our reference, as one statement: plain SQL
# compiled once (this is the busiest write path), valid on PostgreSQL and SQLite.
_RANK_SQL = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in _RANK.items())
_SETTLE = text(
    "UPDATE messages SET status = CAST(:status AS VARCHAR(20)), updated_at = :now, "
    "delivered_at = CASE WHEN CAST(:status AS VARCHAR(20)) = 'delivered' THEN :now "
    "ELSE delivered_at END, "
    "provider_id = COALESCE(provider_id, CAST(:provider_id AS VARCHAR(200))) "
    "WHERE id = :id AND (provider_id IS NULL OR CAST(:provider_id AS VARCHAR(200)) IS NULL "
    "OR provider_id = CAST(:provider_id AS VARCHAR(200))) "
    f"AND (CASE status {_RANK_SQL} ELSE 0 END) < :rank "
    "RETURNING company_id"
).bindparams(bindparam("now", type_=UTCDateTime()))
_HISTORY = text(
    "INSERT INTO message_events (company_id, message_id, status, detail, at) "
    "VALUES (:company_id, :id, :status, :detail, :now)"
).bindparams(bindparam("now", type_=UTCDateTime()))


def settle_sms_receipt(
    session: Session,
    *,
    reference: str | None,
    provider_id: str | None,
    provider_status: str,
    error_code: str | None,
    now: datetime,
) -> None:
    """:func:`apply_sms_receipt` for the webhook, in two statements when it moves our
    message forward: ``UPDATE … RETURNING`` under the same rules (our reference, the
    provider id agreeing or not yet known, forward only) and the history row.

    Everything else — no or an unknown reference, a repeat or late receipt, a carrier
    opt-out (error 21610, which changes consent) — takes :func:`apply_sms_receipt` itself.
    """
    fast = _fast_path(reference, provider_status, error_code)
    if fast is not None:
        message_id, status = fast
        params = {
            "id": message_id,
            "status": status,
            "provider_id": provider_id or None,
            "rank": _RANK[status],
            "now": now,
        }
        company_id = session.execute(_SETTLE, params).scalar()
        if company_id is not None:
            detail = _detail(provider_status, error_code)
            session.execute(_HISTORY, {**params, "company_id": company_id, "detail": detail})
            _expire_loaded(session, [message_id])
            return
    apply_sms_receipt(
        session,
        reference=reference,
        provider_id=provider_id,
        provider_status=provider_status,
        error_code=error_code,
        now=now,
    )


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    """One status callback, as the webhook read it."""

    reference: str | None
    provider_id: str | None
    provider_status: str
    error_code: str | None
    now: datetime

    def as_kwargs(self) -> dict[str, Any]:
        """The receipt as the keyword arguments of :func:`apply_sms_receipt`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# A burst of receipts on PostgreSQL: the forward moves of every receipt carrying our
# reference, and their history rows, in one statement (same rules as _SETTLE).
_BULK_SETTLE = text(
    "WITH r AS (SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS varchar[]), "
    "CAST(:provider_ids AS varchar[]), CAST(:ranks AS int[]), CAST(:nows AS timestamptz[]), "
    "CAST(:details AS text[])) AS r(id, status, provider_id, rank, now, detail)), "
    "moved AS (UPDATE messages AS m SET status = r.status, updated_at = r.now, "
    "delivered_at = CASE WHEN r.status = 'delivered' THEN r.now ELSE m.delivered_at END, "
    "provider_id = COALESCE(m.provider_id, r.provider_id) FROM r "
    "WHERE m.id = r.id AND (m.provider_id IS NULL OR r.provider_id IS NULL "
    f"OR m.provider_id = r.provider_id) AND (CASE m.status {_RANK_SQL} ELSE 0 END) < r.rank "
    "RETURNING m.id, m.company_id, r.status, r.detail, r.now) "
    "INSERT INTO message_events (company_id, message_id, status, detail, at) "
    "SELECT company_id, id, status, detail, now FROM moved RETURNING message_id"
)


def settle_sms_receipts(session: Session, receipts: list[SmsReceipt]) -> list[None]:
    """A burst of status callbacks with the results of :func:`settle_sms_receipt` run on
    each in turn (statuses only move forward; receipts that are not ours, repeats, late
    receipts and carrier opt-outs take :func:`apply_sms_receipt`).

    On PostgreSQL, the first receipt for each of our messages that can take the fast path
    is applied in one ``UPDATE … FROM unnest(…)`` with its history ``INSERT`` (one
    statement); every other receipt (a second one for the same message, a receipt the
    statement did not move, one without our reference) then runs alone, in order.
    """
    bind = session.get_bind()
    if len(receipts) < 2 or bind.dialect.name != "postgresql":
        for receipt in receipts:
            settle_sms_receipt(session, **receipt.as_kwargs())
        return [None] * len(receipts)
    fast: dict[int, tuple[str, SmsReceipt]] = {}
    for receipt in receipts:
        found = _fast_path(receipt.reference, receipt.provider_status, receipt.error_code)
        if found is not None and found[0] not in fast:
            fast[found[0]] = (found[1], receipt)
    moved: set[int] = set()
    if fast:
        items = [(message_id, status, r) for message_id, (status, r) in fast.items()]
        moved = set(
            session.execute(
                _BULK_SETTLE,
                {
                    "ids": [message_id for message_id, _, _ in items],
                    "statuses": [status for _, status, _ in items],
                    "provider_ids": [r.provider_id or None for _, _, r in items],
                    "ranks": [_RANK[status] for _, status, _ in items],
                    "nows": [r.now for _, _, r in items],
                    "details": [_detail(r.provider_status, r.error_code) for _, _, r in items],
                },
            ).scalars()
        )
        _expire_loaded(session, moved)
    done = {id(fast[message_id][1]) for message_id in moved}
    for receipt in receipts:
        if id(receipt) not in done:
            apply_sms_receipt(session, **receipt.as_kwargs())
    return [None] * len(receipts)


def _fast_path(
    reference: str | None, provider_status: str, error_code: str | None
) -> tuple[int, str] | None:
    """(our message id, its new status) when a receipt can be settled by one UPDATE: it
    carries our reference and a known status, and is not a carrier opt-out (error 21610,
    which changes consent and takes :func:`apply_sms_receipt`)."""
    status = _STATUS.get(provider_status.lower())
    message_id = _reference_id(reference)
    if status is None or message_id is None or error_code == "21610":
        return None
    return message_id, status


def _expire_loaded(session: Session, message_ids: Iterable[int]) -> None:
    """Rows moved by SQL that the session had loaded: it must not act on the old values."""
    if not session.identity_map:
        return
    for message_id in message_ids:
        loaded = session.identity_map.get(identity_key(Message, message_id))
        if loaded is not None:
            session.expire(loaded)


def _detail(provider_status: str, error_code: str | None) -> str:
    return f"provider: {provider_status}" + (f" (error {error_code})" if error_code else "")


def _reference_id(reference: str | None) -> int | None:
    if reference and reference.startswith("flm-") and reference[4:].isdigit():
        value = int(reference[4:])
        return value if 0 < value <= MAX_ID else None
    return None


def _find(session: Session, *, reference: str | None, provider_id: str | None) -> Message | None:
    message_id = _reference_id(reference)
    if message_id is not None:
        message = session.get(Message, message_id)
        if message is not None and (not provider_id or message.provider_id in (None, provider_id)):
            return message
    if provider_id:
        return session.scalar(select(Message).where(Message.provider_id == provider_id))
    return None


def apply_email_event(
    session: Session,
    *,
    kind: str,
    email: str,
    reference: str | None,
    provider_id: str | None,
    hard: bool,
    detail: str | None,
    now: datetime,
) -> Message | None:
    """A delivery, bounce or complaint reported by the email provider.

    Hard bounces and complaints put the address on the company's suppression list (DESIGN.md:
    deliverability; CAN-SPAM/mailbox-provider complaint thresholds), so no marketing goes to
    it again; a soft bounce only marks the message.
    """
    from fieldlink.consent.service import add_suppression

    message = _find(session, reference=reference, provider_id=provider_id)
    if message is None:
        return None
    if kind == "delivered":
        new_status = "delivered"
    elif kind == "complaint" or (kind == "bounce" and hard):
        add_suppression(
            session,
            company_id=message.company_id,
            email=email,
            reason="complaint" if kind == "complaint" else "bounce",
            detail=detail,
            source="system",
            actor="email provider",
            at=now,
        )
        new_status = "undelivered" if kind == "bounce" else message.status
    else:
        new_status = "undelivered"
    if _RANK.get(new_status, 0) > _RANK.get(message.status, 0):
        if new_status == "delivered":
            message.delivered_at = now
        record_status(
            session,
            message,
            new_status,
            now=now,
            detail=f"email {kind}" + (f": {detail}" if detail else ""),
        )
    session.flush()
    return message
