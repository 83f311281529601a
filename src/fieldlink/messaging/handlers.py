"""Outbox handler ``messaging.send``: deliver one message, exactly once, or say why not.

Order matters (DESIGN.md principle 1): consent and expiry are checked again now (an
opt-out after queueing wins; a late "on my way" is worse than none); a row found
``sending`` means an earlier attempt was cut off, so the provider is asked whether it has
the text before any resend; the attempt is committed before the provider is called.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fieldlink.accounts.models import Company
from fieldlink.channels.base import Email, Sms, TransportError
from fieldlink.channels.registry import current
from fieldlink.consent.changes import set_marketing_sms_status
from fieldlink.customers.models import ContactMethod, Customer
from fieldlink.messaging.layout import email_html
from fieldlink.messaging.models import Message
from fieldlink.messaging.reasons import reason
from fieldlink.messaging.service import SEND_TOPIC, consent_decision, record_status, sender_blocks
from fieldlink.outbox.registry import JobContext, RetryLater, handler


@handler(SEND_TOPIC)
def send_message(ctx: JobContext) -> None:
    session, now = ctx.session, ctx.now
    # One round trip for the message (locked) and everything its checks read.
    row = session.execute(
        select(Message, Company, ContactMethod, Customer)
        .join(Company, Company.id == Message.company_id)
        .outerjoin(ContactMethod, ContactMethod.id == Message.contact_method_id)
        .outerjoin(Customer, Customer.id == Message.customer_id)
        .where(Message.id == ctx.payload["message_id"])
        .with_for_update(of=Message)
    ).first()
    if row is None or row[0].status not in ("queued", "sending"):
        return  # already settled: a repeat job changes nothing
    message, company = row[0], row[1]
    if message.send_by is not None and now > message.send_by:
        message.reasons = [reason("expired")]
        record_status(
            session,
            message,
            "suppressed",
            now=now,
            detail=f"not delivered by {message.send_by.isoformat()}",
        )
        return
    blocks = _blocks_now(ctx, message, company)
    if blocks:
        message.reasons = blocks
        record_status(
            session,
            message,
            "suppressed",
            now=now,
            detail="consent re-checked at delivery: " + ", ".join(b["code"] for b in blocks),
        )
        return
    channels = current()
    if message.status == "sending" and message.channel == "sms" and message.to:
        since = (message.attempt_started_at or message.created_at) - timedelta(minutes=5)
        try:
            found = channels.sms.find_sent(to=message.to, since=since, reference=message.reference)
        except TransportError as exc:
            raise RetryLater(f"cannot reconcile with provider: {exc}") from exc
        if found:
            message.provider_id = found
            message.sent_at = message.sent_at or now
            record_status(
                session,
                message,
                "sent",
                now=now,
                detail="found at the provider after an interrupted attempt",
            )
            return
    message.attempts += 1
    message.attempt_started_at = now
    record_status(session, message, "sending", now=now, detail=f"attempt {message.attempts}")
    ctx.checkpoint()  # the attempt is on record before the provider hears of it
    try:
        provider_id = _deliver(message, company, channels.base_url)
    except TransportError as exc:
        _failed(ctx, message, exc)
        return
    message.provider_id = provider_id
    message.sent_at = now
    message.last_error = None
    record_status(session, message, "sent", now=now, detail=f"provider id {provider_id}")


def _blocks_now(ctx: JobContext, message: Message, company: Company) -> list[dict[str, str]]:
    blocks = sender_blocks(company, message.channel)
    if message.contact_method_id is None or message.customer_id is None:
        return blocks
    # Already in the identity map: loaded with the message.
    method = ctx.session.get(ContactMethod, message.contact_method_id)
    customer = ctx.session.get(Customer, message.customer_id)
    if method is None or customer is None:
        return [*blocks, reason("no_recipient", "the contact method was deleted")]
    decision = consent_decision(
        ctx.session,
        company=company,
        customer=customer,
        method=method,
        touchpoint=message.touchpoint,
        channel=message.channel,
    )
    return [*blocks, *({"code": r.code, "message": r.message} for r in decision.reasons)]


def _deliver(message: Message, company: Company, base_url: str) -> str:
    channels = current()
    assert message.to
    if message.channel == "sms":
        assert company.sms_number
        return channels.sms.send(
            Sms(
                to=message.to,
                from_=company.sms_number,
                body=message.body,
                status_callback=f"{base_url}/webhooks/sms/status?m={message.reference}",
                reference=message.reference,
            )
        )
    assert company.sender_email
    return channels.email.send(
        Email(
            to=message.to,
            subject=message.subject or company.name,
            text=message.body,
            html=email_html(company, message.body),
            from_email=company.sender_email,
            from_name=company.sender_name or company.name,
            reply_to=company.sender_email,
            reference=message.reference,
        )
    )


def _failed(ctx: JobContext, message: Message, exc: TransportError) -> None:
    session, now = ctx.session, ctx.now
    message.last_error = str(exc)
    if not exc.permanent and ctx.attempts < ctx.max_attempts:
        session.flush()
        # Stays `sending`: the next attempt reconciles first, since a timeout may have
        # reached the provider.
        raise RetryLater(str(exc))
    if exc.code == "opted_out_at_carrier" and message.contact_method_id:
        method = session.get(ContactMethod, message.contact_method_id)
        if method is not None:
            # CTIA / Twilio 21610: the carrier holds a STOP from this number; record it as
            # the customer's opt-out so nothing is texted to it again.
            set_marketing_sms_status(
                session,
                method=method,
                status="opted_out",
                source="carrier",
                wording=str(exc),
                reference=message.reference,
                at=now,
            )
        message.reasons = [reason("opted_out_at_carrier")]
    else:
        message.reasons = [reason(exc.code, str(exc))]
    record_status(session, message, "failed", now=now, detail=str(exc))
