"""Outbox handler ``messaging.send``: deliver messages exactly once, or say why not.

It takes a worker's whole claimed batch: one locked read of the messages with everything
their checks need, one commit recording the attempts, the sends with several requests in
flight, one commit recording the outcomes. The attempts and the sends are written with
set-based Core statements (one UPDATE and one multi-row INSERT of history each), not one
ORM unit of work per message: the rarer outcomes (suppressed, held, failed, reconciled)
keep the ORM. Order matters (DESIGN.md principle 1): consent
and expiry are checked again now (an opt-out after queueing wins; a late "on my way" is
worse than none); a row found ``sending`` means an earlier attempt was cut off, so the
provider is asked whether it has the text before any resend; the attempt is committed
before the provider is called.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.campaigns.delivery import Prepared, held, prepare_campaign_messages
from fieldlink.channels.base import Email, Sms, TransportError
from fieldlink.channels.registry import Channels, current
from fieldlink.consent import rules
from fieldlink.consent.changes import set_marketing_sms_status
from fieldlink.consent.models import Suppression
from fieldlink.consent.queries import company_consent, customer_facts_from, method_facts, tags_of
from fieldlink.consent.rules import CompanyConsent
from fieldlink.customers.models import ContactMethod, Customer
from fieldlink.messaging.layout import email_html
from fieldlink.messaging.models import Message, MessageEvent
from fieldlink.messaging.reasons import reason
from fieldlink.messaging.service import SEND_TOPIC, consent_channel, record_status, sender_blocks
from fieldlink.outbox.registry import BatchContext, JobContext, batch_handler

IN_FLIGHT = 8  # provider requests at once per worker thread
# A text not begun before the worker's claim neared its end: not sent, left `sending`, so the
# next attempt asks the provider first and then sends it once.
LEASE_RAN_OUT = "not sent: the worker's claim on the batch was running out"
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
    consents: dict[int, CompanyConsent] = {}  # settings parsed once per company, not per text
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
        blocks = _blocks_now(item, tags, suppressed, consents)
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
        ready.append(item)
    if not ready:
        return
    _record_attempts(session, [x.message for x in ready], now)
    batch.checkpoint()  # the attempts are on record before any provider hears of them
    # Each sender thread takes a slice of the batch: a few hand-offs per batch rather than
    # one future per text (that bookkeeping cost more CPU than the HTTP request itself).
    slices = [ready[i::IN_FLIGHT] for i in range(min(IN_FLIGHT, len(ready)))]
    done = _pool.map(
        lambda part: [
            _deliver(x, channels, campaign.get(x.message.id))
            if batch.may_start()
            else TransportError(LEASE_RAN_OUT, permanent=False)
            for x in part
        ],
        slices,
    )
    by_id = {
        x.message.id: o
        for part, results in zip(slices, done, strict=True)
        for x, o in zip(part, results, strict=True)
    }
    outcomes = [by_id[x.message.id] for x in ready]
    sent: list[tuple[Message, str]] = []
    for item, outcome in zip(ready, outcomes, strict=True):
        if isinstance(outcome, TransportError):
            _failed(batch, item, outcome)
            continue
        sent.append((item.message, outcome))
    _record_sent(session, sent, now)


def _history(session: Session, rows: list[tuple[Message, str]], status: str, now: datetime) -> None:
    """One multi-row INSERT of history rows (``record_status`` adds one ORM object each)."""
    session.execute(
        insert(_events()),
        [
            {
                "company_id": m.company_id,
                "message_id": m.id,
                "status": status,
                "detail": detail,
                "at": now,
            }
            for m, detail in rows
        ],
    )


# PostgreSQL: the status change and its history row in one statement per batch.
_PG_ATTEMPTS = text(
    "WITH moved AS (UPDATE messages SET status = 'sending', attempts = attempts + 1, "
    "attempt_started_at = :now, updated_at = :now WHERE id = ANY(CAST(:ids AS integer[])) "
    "RETURNING id, company_id, attempts) "
    "INSERT INTO message_events (company_id, message_id, status, detail, at) "
    "SELECT company_id, id, 'sending', 'attempt ' || attempts, :now FROM moved"
)
_PG_SENT = text(
    "WITH done AS (UPDATE messages AS m SET status = 'sent', provider_id = v.pid, "
    "sent_at = :now, last_error = NULL, updated_at = :now "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:pids AS text[])) AS v(id, pid) "
    "WHERE m.id = v.id RETURNING m.id, m.company_id, v.pid) "
    "INSERT INTO message_events (company_id, message_id, status, detail, at) "
    "SELECT company_id, id, 'sent', 'provider id ' || pid, :now FROM done"
)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _messages() -> Table:
    return Message.__table__  # type: ignore[return-value]


def _events() -> Table:
    return MessageEvent.__table__  # type: ignore[return-value]


def _record_attempts(session: Session, messages: list[Message], now: datetime) -> None:
    """Mark the batch ``sending`` (attempts + 1) and write its history rows: on PostgreSQL
    one statement (an UPDATE … RETURNING feeding the history INSERT), elsewhere two.

    The loaded objects are left as read (refreshing them cost more CPU than the statement):
    after this, the handler only reads what the attempt does not change, and an ORM
    change on one (a failure) writes just the columns it sets."""
    ids = [m.id for m in messages]
    if _postgres(session):
        session.execute(_PG_ATTEMPTS, {"ids": ids, "now": now})
    else:
        t = _messages()
        session.execute(
            update(t)
            .where(t.c.id.in_(ids))
            .values(
                status="sending", attempts=t.c.attempts + 1, attempt_started_at=now, updated_at=now
            )
        )
    if not _postgres(session):
        _history(
            session, [(m, f"attempt {(m.attempts or 0) + 1}") for m in messages], "sending", now
        )


def _record_sent(session: Session, sent: list[tuple[Message, str]], now: datetime) -> None:
    """Record the provider ids of the batch's accepted texts and emails: one executemany
    UPDATE and one multi-row history INSERT."""
    if not sent:
        return
    if _postgres(session):
        ids, pids = [m.id for m, _ in sent], [pid for _, pid in sent]
        session.execute(_PG_SENT, {"ids": ids, "pids": pids, "now": now})
    else:
        t = _messages()
        session.execute(
            update(t)
            .where(t.c.id == bindparam("m_id"))
            .values(
                status="sent",
                provider_id=bindparam("m_provider_id"),
                sent_at=now,
                last_error=None,
                updated_at=now,
            ),
            [{"m_id": m.id, "m_provider_id": pid} for m, pid in sent],
        )
        _history(session, [(m, f"provider id {pid}") for m, pid in sent], "sent", now)


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
    item: _Loaded,
    tags: dict[int, frozenset[str]],
    suppressed: set[tuple[int, str]],
    consents: dict[int, CompanyConsent],
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
    consent = consents.get(company.id)
    if consent is None:
        consent = consents[company.id] = company_consent(company)
    decision = rules.decide(
        consent_channel(message.touchpoint, message.channel),
        consent,
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
