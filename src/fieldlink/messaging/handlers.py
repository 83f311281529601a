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
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.campaigns.delivery import Prepared, held, prepare_campaign_messages
from fieldlink.channels.base import Email, Sms, TransportError
from fieldlink.channels.registry import Channels, current
from fieldlink.consent import rules
from fieldlink.consent.changes import set_marketing_sms_status
from fieldlink.consent.models import Suppression
from fieldlink.consent.queries import company_consent, tags_of
from fieldlink.consent.rules import CompanyConsent
from fieldlink.customers.models import ContactMethod, Customer
from fieldlink.db import any_of
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


_COLUMNS = (
    "id",
    "company_id",
    "status",
    "channel",
    "touchpoint",
    "to",
    "body",
    "subject",
    "subject_ref",
    "send_by",
    "contact_method_id",
    "customer_id",
    "attempts",
    "attempt_started_at",
    "created_at",
)


@dataclass
class _Loaded:
    """One message of the batch, read as a Core row (the hot path builds no ORM objects);
    ``orm`` is the mapped Message, loaded only for the rarer paths that change more than
    the attempt and the send (suppression, campaign personalisation, reconciliation,
    failure)."""

    job: JobContext
    row: Any  # a Row of _load's SELECT
    company: Company
    method: Any  # the same Row, or None: no method asked for, or the asked-for one is gone
    customer: Any  # the same Row, or None
    orm: Message | None = None

    @property
    def id(self) -> int:
        return int(self.row.id)

    @property
    def reference(self) -> str:
        return f"flm-{self.row.id}"

    @property
    def body(self) -> str:
        """What goes out: a campaign message's personalised body once the hook ran."""
        return self.orm.body if self.orm is not None else str(self.row.body)

    @property
    def subject(self) -> str | None:
        return self.orm.subject if self.orm is not None else self.row.subject


@batch_handler(SEND_TOPIC)
def send_messages(batch: BatchContext) -> None:
    session, now = batch.session, batch.now
    loaded = _load(session, batch)
    tags = tags_of(session, (x.customer.customer_row_id for x in loaded if x.customer))
    suppressed = _suppressed(session, loaded)
    consents: dict[int, CompanyConsent] = {}  # settings parsed once per company, not per text
    verdicts: list[tuple[_Loaded, list[dict[str, str]] | None]] = []
    for item in loaded:
        row = item.row
        if row.send_by is not None and now > row.send_by:
            verdicts.append((item, None))
        else:
            verdicts.append((item, _blocks_now(item, tags, suppressed, consents)))
    # The mapped objects, in one query, of the messages that need more than the Core path:
    # expired or blocked, campaign messages (the hook personalises each), cut-off attempts.
    _with_orm(
        session,
        [
            x
            for x, blocks in verdicts
            if blocks is None
            or blocks
            or x.row.touchpoint == "campaign"
            or x.row.status == "sending"
        ],
    )
    campaign = prepare_campaign_messages(
        session,
        [x.orm for x in loaded if x.orm is not None and x.row.touchpoint == "campaign"],
        now=now,
    )
    channels = current()
    ready: list[_Loaded] = []
    for item, blocks in verdicts:
        if blocks is None:
            assert item.orm is not None and item.row.send_by is not None
            item.orm.reasons = [reason("expired")]
            record_status(
                session,
                item.orm,
                "suppressed",
                now=now,
                detail=f"not delivered by {item.row.send_by.isoformat()}",
            )
            continue
        if blocks:
            assert item.orm is not None
            item.orm.reasons = blocks
            record_status(
                session,
                item.orm,
                "suppressed",
                now=now,
                detail="consent re-checked at delivery: " + ", ".join(b["code"] for b in blocks),
            )
            continue
        if item.orm is not None and held(batch, item.job.id, item.orm, campaign.get(item.id)):
            continue  # campaign cancelled, or the recipient's quiet hours
        if item.row.status == "sending" and _reconciled(batch, item, channels):
            continue
        ready.append(item)
    if not ready:
        return
    _record_attempts(session, ready, now)
    batch.checkpoint()  # the attempts are on record before any provider hears of them
    # Each sender thread takes a slice of the batch: a few hand-offs per batch rather than
    # one future per text (that bookkeeping cost more CPU than the HTTP request itself).
    slices = [ready[i::IN_FLIGHT] for i in range(min(IN_FLIGHT, len(ready)))]
    done = _pool.map(
        lambda part: [
            _deliver(x, channels, campaign.get(x.id))
            if batch.may_start()
            else TransportError(LEASE_RAN_OUT, permanent=False)
            for x in part
        ],
        slices,
    )
    by_id = {
        x.id: o
        for part, results in zip(slices, done, strict=True)
        for x, o in zip(part, results, strict=True)
    }
    sent: list[tuple[_Loaded, str]] = []
    failed: list[tuple[_Loaded, TransportError]] = []
    for item in ready:
        outcome = by_id[item.id]
        if isinstance(outcome, TransportError):
            failed.append((item, outcome))
        else:
            sent.append((item, outcome))
    _with_orm(session, [x for x, _ in failed])
    for item, exc in failed:
        _failed(batch, item, exc)
    _record_sent(batch, sent, now)


def _with_orm(session: Session, items: list[_Loaded]) -> None:
    """Load the mapped Message of each item that lacks one, in one query (rows already
    locked by the batch read)."""
    wanted = {x.id: x for x in items if x.orm is None}
    if not wanted:
        return
    for message in session.scalars(
        select(Message).where(any_of(session, Message.id, sorted(wanted)))
    ):
        wanted[message.id].orm = message


def _history(session: Session, rows: list[tuple[_Loaded, str]], status: str, now: datetime) -> None:
    """One multi-row INSERT of history rows (``record_status`` adds one ORM object each)."""
    session.execute(
        insert(_events()),
        [
            {
                "company_id": x.row.company_id,
                "message_id": x.id,
                "status": status,
                "detail": detail,
                "at": now,
            }
            for x, detail in rows
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
# The sends, their history rows and the batch's finished outbox jobs (guarded by
# locked_by, as the worker's own settlement: a newer claim owns the outcome) in one.
_PG_SENT = text(
    "WITH done AS (UPDATE messages AS m SET status = 'sent', provider_id = v.pid, "
    "sent_at = :now, last_error = NULL, updated_at = :now "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:pids AS text[])) AS v(id, pid) "
    "WHERE m.id = v.id RETURNING m.id, m.company_id, v.pid), "
    "settled AS (UPDATE outbox SET status = 'done', finished_at = :finished, "
    "locked_until = NULL, last_error = NULL "
    "WHERE id = ANY(CAST(:jobs AS integer[])) AND locked_by = :worker) "
    "INSERT INTO message_events (company_id, message_id, status, detail, at) "
    "SELECT company_id, id, 'sent', 'provider id ' || pid, :now FROM done"
)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _messages() -> Table:
    return Message.__table__  # type: ignore[return-value]


def _events() -> Table:
    return MessageEvent.__table__  # type: ignore[return-value]


def _record_attempts(session: Session, items: list[_Loaded], now: datetime) -> None:
    """Mark the batch ``sending`` (attempts + 1) and write its history rows: on PostgreSQL
    one statement (an UPDATE … RETURNING feeding the history INSERT), elsewhere two.

    Mapped objects loaded for the rarer paths are left as read (refreshing them cost more
    CPU than the statement): after this, the handler only reads what the attempt does not
    change, and an ORM change on one (a failure) writes just the columns it sets."""
    ids = [x.id for x in items]
    if _postgres(session):
        session.execute(_PG_ATTEMPTS, {"ids": ids, "now": now})
        return
    t = _messages()
    session.execute(
        update(t)
        .where(t.c.id.in_(ids))
        .values(status="sending", attempts=t.c.attempts + 1, attempt_started_at=now, updated_at=now)
    )
    _history(session, [(x, f"attempt {(x.row.attempts or 0) + 1}") for x in items], "sending", now)


def _record_sent(batch: BatchContext, sent: list[tuple[_Loaded, str]], now: datetime) -> None:
    """Record the provider ids of the batch's accepted texts and emails. On PostgreSQL one
    statement, which also settles the batch's finished outbox jobs (the worker then skips
    them); elsewhere an executemany UPDATE and a multi-row history INSERT."""
    if not sent:
        return
    session = batch.session
    if _postgres(session):
        jobs = [j.id for j in batch.jobs if j.id not in batch.outcomes]
        session.execute(
            _PG_SENT,
            {
                "ids": [x.id for x, _ in sent],
                "pids": [pid for _, pid in sent],
                "now": now,
                "jobs": jobs,
                "worker": batch.worker,
                "finished": batch.clock(),
            },
        )
        batch.settled.update(jobs)
        return
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
        [{"m_id": x.id, "m_provider_id": pid} for x, pid in sent],
    )
    _history(session, [(x, f"provider id {pid}") for x, pid in sent], "sent", now)


def _load(session: Session, batch: BatchContext) -> list[_Loaded]:
    """The batch's unsettled messages, locked, with method and customer facts: one Core
    SELECT of the columns the checks and the send need; companies (a batch has one or a
    few) as mapped objects, one query."""
    jobs = {job.payload["message_id"]: job for job in batch.jobs}
    m = _messages()
    method = ContactMethod.__table__.alias("method")
    customer = Customer.__table__.alias("customer")
    rows = session.execute(
        select(
            *(m.c[name] for name in _COLUMNS),
            method.c.id.label("method_id"),
            method.c.kind.label("method_kind"),
            method.c.value.label("method_value"),
            method.c.phone_type.label("method_phone_type"),
            method.c.marketing_updates.label("method_marketing_updates"),
            method.c.job_notifications.label("method_job_notifications"),
            method.c.marketing_sms_status.label("method_marketing_sms_status"),
            customer.c.id.label("customer_row_id"),
            customer.c.do_not_mail.label("customer_do_not_mail"),
            customer.c.do_not_service.label("customer_do_not_service"),
            customer.c.do_not_send_promotional_emails.label("customer_no_promotional"),
        )
        .select_from(m)
        .outerjoin(method, method.c.id == m.c.contact_method_id)
        .outerjoin(customer, customer.c.id == m.c.customer_id)
        .where(any_of(session, m.c.id, list(jobs)))
        .order_by(m.c.id)
        .with_for_update(of=m)
    ).all()
    # A message already settled (a repeat job) changes nothing.
    rows = [r for r in rows if r.status in ("queued", "sending")]
    companies = {
        c.id: c
        for c in session.scalars(
            select(Company).where(Company.id.in_({r.company_id for r in rows}))
        )
    }
    return [
        _Loaded(
            jobs[r.id],
            r,
            companies[r.company_id],
            r if r.method_id is not None else None,
            r if r.customer_row_id is not None else None,
        )
        for r in rows
    ]


def _suppressed(session: Session, loaded: list[_Loaded]) -> set[tuple[int, str]]:
    emails = {
        (x.company.id, str(x.method.method_value).lower())
        for x in loaded
        if x.method is not None and x.method.method_kind == "email"
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
    row, company = item.row, item.company
    blocks = sender_blocks(company, row.channel)
    if not row.to:  # erasure cleared the address of a message already begun (sending)
        return [*blocks, reason("no_recipient", "the recipient's address was erased")]
    if row.contact_method_id is None or row.customer_id is None:
        return blocks  # a staff notice or a conversation reply: sent to `to`
    method, customer = item.method, item.customer
    if method is None or customer is None:
        return [*blocks, reason("no_recipient", "the contact method was deleted")]
    facts = rules.CustomerFacts(
        do_not_mail=customer.customer_do_not_mail,
        do_not_service=customer.customer_do_not_service,
        do_not_send_promotional_emails=customer.customer_no_promotional,
        tags=tags.get(customer.customer_row_id, frozenset()),
    )
    value = str(method.method_value)
    consent = consents.get(company.id)
    if consent is None:
        consent = consents[company.id] = company_consent(company)
    decision = rules.decide(
        consent_channel(row.touchpoint, row.channel),
        consent,
        facts,
        rules.MethodFacts(
            kind=method.method_kind,
            value=value,
            phone_type=method.method_phone_type,
            marketing_updates=method.method_marketing_updates,
            job_notifications=method.method_job_notifications,
            marketing_sms_status=method.method_marketing_sms_status,
            suppressed=(company.id, value.lower()) in suppressed,
        ),
    )
    return [*blocks, *({"code": r.code, "message": r.message} for r in decision.reasons)]


def _reconciled(batch: BatchContext, item: _Loaded, channels: Channels) -> bool:
    """For a text whose earlier attempt was cut off: True if the provider has it (now
    recorded as sent) or the lookup failed (retry later); False to send it now."""
    message = item.orm
    assert message is not None
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
    row, company = item.row, item.company
    assert row.to
    try:
        if row.channel == "sms":
            assert company.sms_number
            return channels.sms.send(
                Sms(
                    to=row.to,
                    from_=company.sms_number,
                    body=item.body,
                    status_callback=f"{channels.base_url}/webhooks/sms/status?m={item.reference}",
                    reference=item.reference,
                )
            )
        assert company.sender_email
        return channels.email.send(
            Email(
                to=row.to,
                subject=item.subject or company.name,
                text=item.body,
                html=prepared.html
                if prepared and prepared.html
                else email_html(company, item.body),
                from_email=company.sender_email,
                from_name=company.sender_name or company.name,
                reply_to=company.sender_email,
                reference=item.reference,
                headers=prepared.headers if prepared else {},
            )
        )
    except TransportError as exc:
        return exc


def _failed(batch: BatchContext, item: _Loaded, exc: TransportError) -> None:
    session, now, message = batch.session, batch.now, item.orm
    assert message is not None
    message.last_error = str(exc)
    if not exc.permanent and item.job.attempts < item.job.max_attempts:
        # Stays `sending`: the next attempt reconciles first, since a timeout may have
        # reached the provider.
        batch.retry(item.job.id, str(exc))
        return
    method = session.get(ContactMethod, item.method.method_id) if item.method else None
    if exc.code == "opted_out_at_carrier" and method is not None:
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
