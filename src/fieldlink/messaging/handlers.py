"""Outbox handler ``messaging.send``: deliver messages exactly once, or say why not.

It takes a worker's whole claimed batch: one locked read of the messages with everything
their checks need, one commit recording the attempts, the sends with several requests in
flight, one commit recording the outcomes. Order matters (DESIGN.md principle 1): consent
and expiry are checked again now (an opt-out after queueing wins; a late "on my way" is
worse than none); a row found ``sending`` means an earlier attempt was cut off, so the
provider is asked whether it has the text before any resend; the attempt is committed
before the provider is called.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.campaigns.delivery import Prepared, held, prepare_campaign_messages
from fieldlink.channels.base import Email, Sms, TransportError
from fieldlink.channels.registry import Channels, current
from fieldlink.consent import rules
from fieldlink.consent.changes import set_marketing_sms_status
from fieldlink.consent.models import Suppression
from fieldlink.consent.queries import company_consent, customer_facts_from, method_facts, tags_of
from fieldlink.customers.models import ContactMethod, Customer
from fieldlink.messaging.layout import email_html
from fieldlink.messaging.models import Message
from fieldlink.messaging.reasons import reason
from fieldlink.messaging.service import SEND_TOPIC, consent_channel, record_status, sender_blocks
from fieldlink.outbox.registry import BatchContext, JobContext, batch_handler

IN_FLIGHT = 8  # provider requests at once per worker thread
_pool = ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="send")


@dataclass
class _Loaded:
    job: JobContext
    message: Message
    company: Company
    method: ContactMethod | None
    customer: Customer | None


@batch_handler(SEND_TOPIC)
def send_messages(batch: BatchContext) -> None:
    session, now = batch.session, batch.now
    loaded = _load(session, batch)
    tags = tags_of(session, (x.customer.id for x in loaded if x.customer))
    suppressed = _suppressed(session, loaded)
    campaign = prepare_campaign_messages(session, [x.message for x in loaded], now=now)
    channels = current()
    ready: list[_Loaded] = []
    for item in loaded:
        message = item.message
        if message.send_by is not None and now > message.send_by:
            message.reasons = [reason("expired")]
            record_status(
                session,
                message,
                "suppressed",
                now=now,
                detail=f"not delivered by {message.send_by.isoformat()}",
            )
            continue
        blocks = _blocks_now(item, tags, suppressed)
        if blocks:
            message.reasons = blocks
            record_status(
                session,
                message,
                "suppressed",
                now=now,
                detail="consent re-checked at delivery: " + ", ".join(b["code"] for b in blocks),
            )
            continue
        if held(batch, item.job.id, message, campaign.get(message.id)):
            continue  # campaign cancelled, or the recipient's quiet hours
        if message.status == "sending" and _reconciled(batch, item, channels):
            continue
        message.attempts += 1
        message.attempt_started_at = now
        record_status(session, message, "sending", now=now, detail=f"attempt {message.attempts}")
        ready.append(item)
    if not ready:
        return
    batch.checkpoint()  # the attempts are on record before any provider hears of them
    outcomes = list(_pool.map(lambda x: _deliver(x, channels, campaign.get(x.message.id)), ready))
    for item, outcome in zip(ready, outcomes, strict=True):
        message = item.message
        if isinstance(outcome, TransportError):
            _failed(batch, item, outcome)
            continue
        message.provider_id = outcome
        message.sent_at = now
        message.last_error = None
        record_status(session, message, "sent", now=now, detail=f"provider id {outcome}")


def _load(session: Session, batch: BatchContext) -> list[_Loaded]:
    """The batch's unsettled messages, locked, with company, method and customer."""
    jobs = {job.payload["message_id"]: job for job in batch.jobs}
    rows = session.execute(
        select(Message, Company, ContactMethod, Customer)
        .join(Company, Company.id == Message.company_id)
        .outerjoin(ContactMethod, ContactMethod.id == Message.contact_method_id)
        .outerjoin(Customer, Customer.id == Message.customer_id)
        .where(Message.id.in_(list(jobs)))
        .order_by(Message.id)
        .with_for_update(of=Message)
    ).all()
    # A message already settled (a repeat job) changes nothing.
    return [
        _Loaded(jobs[m.id], m, c, method, customer)
        for m, c, method, customer in rows
        if m.status in ("queued", "sending")
    ]


def _suppressed(session: Session, loaded: list[_Loaded]) -> set[tuple[int, str]]:
    emails = {
        (x.company.id, x.method.value.lower())
        for x in loaded
        if x.method is not None and x.method.kind == "email"
    }
    if not emails:
        return set()
    rows = session.execute(
        select(Suppression.company_id, Suppression.email).where(
            Suppression.email.in_({e for _, e in emails})
        )
    )
    return {(c, e) for c, e in rows} & emails


def _blocks_now(
    item: _Loaded, tags: dict[int, frozenset[str]], suppressed: set[tuple[int, str]]
) -> list[dict[str, str]]:
    """The same decision as at queue time (messaging.service.consent_decision), from the
    batch's preloaded facts."""
    message, company = item.message, item.company
    blocks = sender_blocks(company, message.channel)
    if message.contact_method_id is None or message.customer_id is None:
        return blocks  # a staff notice: no consumer consent applies
    if item.method is None or item.customer is None:
        return [*blocks, reason("no_recipient", "the contact method was deleted")]
    customer, method = item.customer, item.method
    facts = customer_facts_from(customer, tags.get(customer.id, frozenset()))
    is_suppressed = (company.id, method.value.lower()) in suppressed
    decision = rules.decide(
        consent_channel(message.touchpoint, message.channel),
        company_consent(company),
        facts,
        method_facts(method, suppressed=is_suppressed),
    )
    return [*blocks, *({"code": r.code, "message": r.message} for r in decision.reasons)]


def _reconciled(batch: BatchContext, item: _Loaded, channels: Channels) -> bool:
    """For a text whose earlier attempt was cut off: True if the provider has it (now
    recorded as sent) or the lookup failed (retry later); False to send it now."""
    message = item.message
    if message.channel != "sms" or not message.to:
        return False  # SMTP offers no lookup; an email cut off mid-send may go twice
    since = (message.attempt_started_at or message.created_at) - timedelta(minutes=5)
    try:
        found = channels.sms.find_sent(to=message.to, since=since, reference=message.reference)
    except TransportError as exc:
        batch.retry(item.job.id, f"cannot reconcile with provider: {exc}")
        return True
    if not found:
        return False
    message.provider_id = found
    message.sent_at = message.sent_at or batch.now
    record_status(
        batch.session,
        message,
        "sent",
        now=batch.now,
        detail="found at the provider after an interrupted attempt",
    )
    return True


def _deliver(
    item: _Loaded, channels: Channels, prepared: Prepared | None = None
) -> str | TransportError:
    message, company = item.message, item.company
    assert message.to
    try:
        if message.channel == "sms":
            assert company.sms_number
            return channels.sms.send(
                Sms(
                    to=message.to,
                    from_=company.sms_number,
                    body=message.body,
                    status_callback=f"{channels.base_url}/webhooks/sms/status?m={message.reference}",
                    reference=message.reference,
                )
            )
        assert company.sender_email
        return channels.email.send(
            Email(
                to=message.to,
                subject=message.subject or company.name,
                text=message.body,
                html=prepared.html
                if prepared and prepared.html
                else email_html(company, message.body),
                from_email=company.sender_email,
                from_name=company.sender_name or company.name,
                reply_to=company.sender_email,
                reference=message.reference,
                headers=prepared.headers if prepared else {},
            )
        )
    except TransportError as exc:
        return exc


def _failed(batch: BatchContext, item: _Loaded, exc: TransportError) -> None:
    session, now, message = batch.session, batch.now, item.message
    message.last_error = str(exc)
    if not exc.permanent and item.job.attempts < item.job.max_attempts:
        # Stays `sending`: the next attempt reconciles first, since a timeout may have
        # reached the provider.
        batch.retry(item.job.id, str(exc))
        return
    if exc.code == "opted_out_at_carrier" and item.method is not None:
        # CTIA / Twilio 21610: the carrier holds a STOP from this number; record it as
        # the customer's opt-out so nothing is texted to it again.
        set_marketing_sms_status(
            session,
            method=item.method,
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
