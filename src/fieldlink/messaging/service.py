"""Queue messages: consent check, idempotency, rendering, and the outbox row — one transaction.

Every intended message becomes a ``Message`` row whatever its fate: ``queued`` (with an
outbox job to deliver it) or ``suppressed`` with the reasons, so "why did this contact not
get the reminder?" is one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, make_transient_to_detached

from fieldlink.accounts.models import Company, User
from fieldlink.consent import rules
from fieldlink.consent.models import Suppression
from fieldlink.consent.queries import company_consent, customer_facts, method_facts
from fieldlink.customers.models import Contact, ContactMethod, Customer
from fieldlink.db import dialect_insert
from fieldlink.messaging.models import Message, MessageEvent, TemplateOverride
from fieldlink.messaging.reasons import reason
from fieldlink.messaging.templates import TemplateInvalid, default_template, render
from fieldlink.outbox.publish import publish

SEND_TOPIC = "messaging.send"
MARKETING_TOUCHPOINTS = ("campaign",)


@dataclass(frozen=True)
class Refs:
    """What the message is about (for the message log's filters)."""

    job_id: int | None = None
    appointment_id: int | None = None
    status_code_id: int | None = None
    subject_ref: str | None = None


def consent_channel(touchpoint: str, channel: str) -> rules.Channel:
    if touchpoint in MARKETING_TOUCHPOINTS:
        return "marketing_sms" if channel == "sms" else "marketing_email"
    return "transactional_sms" if channel == "sms" else "transactional_email"


def consent_decision(
    session: Session,
    *,
    company: Company,
    customer: Customer,
    method: ContactMethod,
    touchpoint: str,
    channel: str,
) -> rules.Decision:
    """The consent engine's answer for this method now (used at queue and delivery time)."""
    suppressed = False
    if method.kind == "email":
        suppressed = (
            session.scalar(
                select(Suppression.id).where(
                    Suppression.company_id == company.id, Suppression.email == method.value.lower()
                )
            )
            is not None
        )
    # No autoflush for the tag read: it doesn't depend on the message rows this unit of
    # work has pending, and flushing them one message at a time would cost more than
    # everything else here; they go in one batch at commit.
    with session.no_autoflush:
        facts = customer_facts(session, customer)
    return rules.decide(
        consent_channel(touchpoint, channel),
        company_consent(company),
        facts,
        method_facts(method, suppressed=suppressed),
    )


def sender_blocks(company: Company, channel: str) -> list[dict[str, str]]:
    """Reasons the company itself can't send on ``channel`` yet."""
    if channel == "sms":
        if not company.sms_number:
            return [reason("no_sms_number")]
        # Carrier rule (A2P 10DLC / toll-free verification): unregistered traffic is
        # filtered, so hold it and say why rather than show "sent" while nothing arrives.
        if company.sms_registration in ("pending", "rejected"):
            return [reason("sender_not_registered")]
        return []
    if not company.sender_email:
        return [reason("no_sender_email")]
    return []


def notification_blocks(company: Company, touchpoint: str, channel: str) -> list[dict[str, str]]:
    """The company turned this touchpoint off, or off on this channel (office settings)."""
    setting = (company.settings or {}).get("notifications", {}).get(touchpoint)
    if setting is None:
        return []
    if not setting.get("enabled", True) or channel not in setting.get("channels", (channel,)):
        return [reason("notification_disabled")]
    return []


def template_for(
    session: Session, *, company_id: int, touchpoint: str, channel: str, language: str
) -> tuple[str | None, str] | None:
    """The company's override in the customer's language, else in English, else the default.

    Cached for the unit of work (a bulk send asks the same question thousands of times).
    """
    cache: dict[tuple[int, str, str, str], tuple[str | None, str] | None] = session.info.setdefault(
        "template_cache", {}
    )
    key = (company_id, touchpoint, channel, language)
    if key not in cache:
        cache[key] = _find_template(
            session,
            company_id=company_id,
            touchpoint=touchpoint,
            channel=channel,
            language=language,
        )
    return cache[key]


def _find_template(
    session: Session, *, company_id: int, touchpoint: str, channel: str, language: str
) -> tuple[str | None, str] | None:
    for lang in dict.fromkeys((language, "en")):
        row = session.scalar(
            select(TemplateOverride).where(
                TemplateOverride.company_id == company_id,
                TemplateOverride.touchpoint == touchpoint,
                TemplateOverride.channel == channel,
                TemplateOverride.language == lang,
            )
        )
        if row is not None:
            return row.subject, row.body
    return default_template(touchpoint, channel)


def record_status(
    session: Session, message: Message, status: str, *, now: datetime, detail: str | None = None
) -> None:
    message.status = status
    session.add(
        MessageEvent(
            company_id=message.company_id,
            message_id=message.id,
            status=status,
            detail=detail,
            at=now,
        )
    )


def queue_message(
    session: Session,
    *,
    company: Company,
    touchpoint: str,
    channel: str,
    customer: Customer,
    contact: Contact | None,
    method: ContactMethod,
    variables: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    refs: Refs = Refs(),
    send_by: datetime | None = None,
    send_after: datetime | None = None,
    template: tuple[str | None, str] | None = None,
) -> Message:
    """Record one intended message to a customer's contact method and queue its delivery.

    ``idempotency_key`` names the event and recipient (e.g. ``en_route:appt:42:method:7``):
    a second trigger with the same key is stored as ``suppressed: duplicate``.
    """
    message = Message(
        company_id=company.id,
        touchpoint=touchpoint,
        channel=channel,
        to=method.value,
        customer_id=customer.id,
        contact_id=contact.id if contact else None,
        contact_method_id=method.id,
        job_id=refs.job_id,
        appointment_id=refs.appointment_id,
        status_code_id=refs.status_code_id,
        subject_ref=refs.subject_ref,
        language=customer.language or "en",
        requested_key=idempotency_key,
        reasons=[],
        send_by=send_by,
        send_after=send_after,
        created_at=now,
        status="queued",
        body="",
        attempts=0,
    )
    blocks = consent_decision(
        session,
        company=company,
        customer=customer,
        method=method,
        touchpoint=touchpoint,
        channel=channel,
    )
    reasons = [{"code": r.code, "message": r.message} for r in blocks.reasons]
    reasons += sender_blocks(company, channel)
    reasons += notification_blocks(company, touchpoint, channel)
    source = template or template_for(
        session,
        company_id=company.id,
        touchpoint=touchpoint,
        channel=channel,
        language=message.language,
    )
    failed_render: str | None = None
    if source is None:
        failed_render = f"no template for {touchpoint} by {channel}"
    else:
        try:
            rendered = render(source[0], source[1], variables, channel=channel)
            message.subject, message.body = rendered.subject, rendered.body
        except TemplateInvalid as exc:
            failed_render = str(exc)
    return _store(
        session,
        message,
        reasons=reasons,
        failed_render=failed_render,
        idempotency_key=idempotency_key,
        now=now,
    )


def queue_staff_message(
    session: Session,
    *,
    company: Company,
    user: User,
    touchpoint: str,
    channel: str,
    variables: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    refs: Refs = Refs(),
) -> Message:
    """A notice to one of the company's own users (e.g. an inbound text routed to them).

    Staff notices are operational, not consumer messaging, so no consent rules apply;
    they still go through the outbox, the log and the idempotency key.
    """
    to = user.phone if channel == "sms" else user.email
    message = Message(
        company_id=company.id,
        touchpoint=touchpoint,
        channel=channel,
        to=to,
        user_id=user.id,
        job_id=refs.job_id,
        appointment_id=refs.appointment_id,
        subject_ref=refs.subject_ref,
        requested_key=idempotency_key,
        reasons=[],
        created_at=now,
        status="queued",
        body="",
        attempts=0,
        language="en",
    )
    reasons = [] if to else [reason("no_recipient", f"{user.name} has no {channel} address")]
    reasons += sender_blocks(company, channel)
    source = template_for(
        session, company_id=company.id, touchpoint=touchpoint, channel=channel, language="en"
    )
    failed_render = None
    try:
        assert source is not None, f"no template for {touchpoint} by {channel}"
        rendered = render(source[0], source[1], variables, channel=channel)
        message.subject, message.body = rendered.subject, rendered.body
    except (TemplateInvalid, AssertionError) as exc:
        failed_render = str(exc)
    return _store(
        session,
        message,
        reasons=reasons,
        failed_render=failed_render,
        idempotency_key=idempotency_key,
        now=now,
    )


def record_direct_reply(
    session: Session,
    *,
    company: Company,
    to: str,
    body: str,
    touchpoint: str,
    customer_id: int | None,
    contact_id: int | None,
    idempotency_key: str,
    now: datetime,
    refs: Refs = Refs(),
) -> Message:
    """Log a text the provider sends on our behalf in a webhook answer (TwiML), so the
    message log holds every message, these included; nothing is queued."""
    message = Message(
        company_id=company.id,
        touchpoint=touchpoint,
        channel="sms",
        to=to,
        customer_id=customer_id,
        contact_id=contact_id,
        subject_ref=refs.subject_ref,
        language="en",
        body=body,
        reasons=[],
        created_at=now,
        sent_at=now,
        attempts=1,
        status="sent",
    )
    message.idempotency_key = idempotency_key
    if _insert_once(session, message):
        record_status(
            session, message, "sent", now=now, detail="answered in the webhook response (TwiML)"
        )
    return message


def _store(
    session: Session,
    message: Message,
    *,
    reasons: list[dict[str, str]],
    failed_render: str | None,
    idempotency_key: str,
    now: datetime,
) -> Message:
    if reasons:
        message.status, message.reasons = "suppressed", reasons
        detail = ", ".join(r["code"] for r in reasons)
    elif failed_render is not None:
        message.status, message.reasons = "failed", [reason("template_error", failed_render)]
        detail = failed_render
    else:
        message.status, detail = "queued", None
    message.idempotency_key = idempotency_key
    if not _insert_once(session, message):
        # The key was taken (a repeat trigger, or one racing us): record a duplicate.
        original = session.scalar(
            select(Message.id).where(
                Message.company_id == message.company_id, Message.idempotency_key == idempotency_key
            )
        )
        duplicate = _copy(message)
        duplicate.duplicate_of_id = original
        duplicate.reasons = [reason("duplicate")]
        session.add(duplicate)
        session.flush()
        record_status(
            session, duplicate, "suppressed", now=now, detail=f"duplicate of message {original}"
        )
        return duplicate
    record_status(session, message, message.status, now=now, detail=detail)
    if message.status == "queued":
        publish(session, SEND_TOPIC, run_at=message.send_after or now, message_id=message.id)
    return message


_INSERTS: dict[str, Any] = {}


def _insert_statement(dialect: str) -> Any:
    """One compiled-once statement per dialect; parameters come at execution."""
    if dialect not in _INSERTS:
        _INSERTS[dialect] = (
            dialect_insert(dialect, Message)
            .on_conflict_do_nothing(
                index_elements=["company_id", "idempotency_key"],
                index_where=Message.idempotency_key.is_not(None),
            )
            .returning(Message.id)
        )
    return _INSERTS[dialect]


def _insert_once(session: Session, message: Message) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on the idempotency key: one round trip, race-safe
    without a savepoint (the loser of a race sees no row and stores a duplicate).

    On success the instance becomes the persistent row, with its new id.
    """
    message.updated_at = message.created_at
    values = {c.key: getattr(message, c.key) for c in Message.__table__.columns if c.key != "id"}
    stmt = _insert_statement(session.get_bind().dialect.name)
    with session.no_autoflush:  # pending events and outbox rows go later, in one batch
        new_id = session.execute(stmt, values).scalar()
    if new_id is None:
        return False
    for key, value in values.items():
        setattr(message, key, value)
    message.id = new_id
    make_transient_to_detached(message)
    session.add(message)
    return True


def _copy(message: Message) -> Message:
    skip = {"id", "idempotency_key", "duplicate_of_id", "status", "reasons"}
    fields = {
        c.key: getattr(message, c.key) for c in Message.__table__.columns if c.key not in skip
    }
    return Message(**fields, status="suppressed", reasons=[])
