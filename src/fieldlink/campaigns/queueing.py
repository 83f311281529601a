"""Turn a campaign's audience into messages and outbox rows, set-based.

Each batch is one statement on PostgreSQL: ``INSERT INTO messages … SELECT`` straight
from the consent engine's audience query (``ON CONFLICT DO NOTHING`` on campaign ×
recipient: ``campaign_id`` and the customer for email, the number for texts; the text
idempotency key stays NULL, its index entry cost about 30% of a row), chained through
``RETURNING`` into the outbox rows — so a message and its delivery job commit together,
and a restarted or repeated send finds its rows taken and writes nothing twice. SQLite
(no DML in CTEs) does the same in two statements per batch in one transaction. On
PostgreSQL a whole-audience send runs as two such statements over two customer-id ranges
at once, on two connections, so both cores write (``_insert_parallel``). No "queued"
history row is written per message (the message's ``created_at`` says it): its
foreign-key checks cost a fifth of the send.

Per-recipient bits (first name, unsubscribe link) are filled in at delivery
(``delivery.py``). ``send_after``/``run_at`` are staggered so the company's campaigns
together send at most ``campaign_messages_per_minute``.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Table,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    not_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import settings_of
from fieldlink.campaigns.audience import CONSENT_CHANNEL, audience_filter
from fieldlink.campaigns.models import Campaign, CampaignEvent
from fieldlink.consent.audience import eligible_recipients, tune_for_bulk_read
from fieldlink.consent.queries import company_consent, preview_audience
from fieldlink.consent.rules import EMAIL_DORMANT_TAG
from fieldlink.customers.models import ContactMethod, Customer, CustomerTag
from fieldlink.db import UTCDateTime, utcnow
from fieldlink.messaging.models import CAMPAIGN_EMAIL, CAMPAIGN_SMS, Message
from fieldlink.messaging.service import SEND_TOPIC
from fieldlink.outbox.models import OutboxJob

# Customer ids per statement (and per commit). PostgreSQL plans one whole-audience
# statement with hash joins; cut into id ranges it falls back to index nested loops that
# cost 5-7x more per row (benchmarks/README.md), so it takes a million at a time.
BATCH_CUSTOMERS = {"postgresql": 1_000_000, "sqlite": 100_000}
# PostgreSQL runs one statement in one backend (one core): a whole-audience send is cut
# into this many customer-id ranges written at once on their own connections.
PARALLEL_PARTS = {"postgresql": 2}
MIN_PARALLEL_CUSTOMERS = 20_000
MSG = typing.cast(Table, Message.__table__)
OUT = typing.cast(Table, OutboxJob.__table__)
C = typing.cast(Table, Customer.__table__)
M = typing.cast(Table, ContactMethod.__table__)
JOB_COLUMNS = ["topic", "payload", "status", "attempts", "max_attempts", "run_at", "created_at"]


def throttle_start(
    session: Session, *, company_id: int, campaign_id: int, now: datetime
) -> datetime:
    """When this campaign's first message may go: after the last throttle slot of the
    company's other campaigns still sending, so together they keep the per-minute limit."""
    busy = session.scalar(
        select(func.max(Campaign.last_slot_at)).where(
            Campaign.company_id == company_id,
            Campaign.status == "sending",
            Campaign.id != campaign_id,
        )
    )
    return max(now, busy + timedelta(minutes=1)) if busy else now


def snapshot(session: Session, *, company: Company, campaign: Campaign) -> dict[str, Any]:
    """The audience as resolved at send: eligible and blocked-by-reason counts."""
    result = preview_audience(
        session,
        company=company,
        channel=CONSENT_CHANNEL[campaign.channel],
        filter=audience_filter(campaign.audience),
        sample_size=0,
    )
    return {"eligible": result.eligible, "blocked": result.blocked}


def tag_dormant_emails(session: Session, *, company: Company, now: datetime) -> int:
    """Tag ``Email Dormant`` every customer who was sent campaign email before the dormant
    period began and has neither opened nor clicked one since (set-based). Only with
    tracking on: without it no open is ever seen and everyone would look dormant."""
    settings = settings_of(company)
    if not (settings.dormant_email_suppression and settings.email_tracking):
        return 0
    cutoff = now - timedelta(days=settings.dormant_email_days)
    T = typing.cast(Table, CustomerTag.__table__)
    E = typing.cast(Table, CampaignEvent.__table__)
    engaged = exists().where(
        E.c.customer_id == MSG.c.customer_id, E.c.kind.in_(("open", "click")), E.c.at >= cutoff
    )
    tagged = exists().where(T.c.customer_id == MSG.c.customer_id, T.c.tag == EMAIL_DORMANT_TAG)
    dormant = (
        select(MSG.c.company_id, MSG.c.customer_id, literal(EMAIL_DORMANT_TAG))
        .where(
            MSG.c.company_id == company.id,
            MSG.c.touchpoint == "campaign",
            MSG.c.channel == "email",
            MSG.c.customer_id.is_not(None),
            MSG.c.status.in_(("sent", "delivered")),
            MSG.c.sent_at < cutoff,
            not_(engaged),
            not_(tagged),
        )
        .distinct()
    )
    result = session.execute(insert(T).from_select(["company_id", "customer_id", "tag"], dormant))
    return _rowcount(result)


def queue_campaign(
    session: Session,
    *,
    campaign: Campaign,
    company: Company,
    now: datetime,
    checkpoint: Callable[[], None],
    batch_customers: int | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Write the campaign's messages and outbox rows, committing (``checkpoint``) after
    each batch of customer ids; stops early if the campaign is cancelled meanwhile.
    ``queued_at`` records (by ``clock``) when the last outbox row was committed; the
    blocked-by-reason counts for the report are taken after that, so they never hold
    delivery back. Returns how many messages this run queued (0 on a repeat)."""
    tune_for_bulk_read(session.connection())
    settings = settings_of(company)
    rate = settings.campaign_messages_per_minute
    if "slots_from" not in (campaign.snapshot or {}):
        if campaign.channel == "email":
            tag_dormant_emails(session, company=company, now=now)
        slots_from = throttle_start(
            session, company_id=company.id, campaign_id=campaign.id, now=now
        )
        campaign.snapshot = {"slots_from": slots_from.isoformat()}
        checkpoint()
    start = datetime.fromisoformat(campaign.snapshot["slots_from"])
    low, high = session.execute(
        select(func.min(C.c.id), func.max(C.c.id)).where(C.c.company_id == company.id)
    ).one()
    dialect = session.get_bind().dialect.name
    step = batch_customers or BATCH_CUSTOMERS.get(dialect, 100_000)
    # Parallel parts need connections of their own (a session bound to one cannot).
    parallel = not batch_customers and isinstance(session.get_bind(), Engine)
    parts = PARALLEL_PARTS.get(dialect, 1) if parallel else 1
    total = _already_queued(session, campaign)
    if total:
        _adopt_keyed_rows(session, campaign)
    added = 0
    lo = low or 0
    while high is not None and lo <= high:
        hi = lo + step - 1
        session.refresh(campaign, ["status"])
        if campaign.status != "sending":
            break  # cancelled while we were writing: what is not queued stays unqueued
        whole = lo <= (low or 0) and hi >= high
        if whole and parts > 1 and high - lo + 1 >= MIN_PARALLEL_CUSTOMERS:
            n, last = _insert_parallel(
                session,
                campaign=campaign,
                company=company,
                low=lo,
                high=high,
                parts=parts,
                offset=total,
                start=start,
                rate=rate,
                now=now,
            )
        else:
            tune_for_bulk_read(session.connection())
            n, last = _insert_batch(
                session,
                campaign=campaign,
                company=company,
                lo=lo,
                hi=hi,
                whole=whole,
                offset=total,
                start=start,
                rate=rate,
                now=now,
            )
        total += n
        added += n
        campaign.queued = total
        if last is not None and (campaign.last_slot_at is None or last > campaign.last_slot_at):
            campaign.last_slot_at = last
        checkpoint()
        lo = hi + 1
    if campaign.status == "sending" and campaign.queued_at is None:
        campaign.queued_at = clock()
        checkpoint()
    if "blocked" not in campaign.snapshot:
        campaign.snapshot = {
            **campaign.snapshot,
            **snapshot(session, company=company, campaign=campaign),
        }
        checkpoint()
    return added


def _already_queued(session: Session, campaign: Campaign) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                MSG.c.company_id == campaign.company_id, MSG.c.subject_ref == campaign.ref
            )
        )
        or 0
    )


def _adopt_keyed_rows(session: Session, campaign: Campaign) -> None:
    """A send resumed after the upgrade to 0014: rows an older version wrote carry a text
    key and no ``campaign_id``; given one, the unique indexes see them, so the recipients
    they name are not queued again."""
    session.execute(
        MSG.update()
        .where(
            MSG.c.company_id == campaign.company_id,
            MSG.c.subject_ref == campaign.ref,
            MSG.c.campaign_id.is_(None),
        )
        .values(campaign_id=campaign.id)
    )


def _insert_batch(
    session: Session,
    *,
    campaign: Campaign,
    company: Company,
    lo: int,
    hi: int,
    whole: bool,
    offset: int,
    start: datetime,
    rate: int,
    now: datetime,
) -> tuple[int, datetime | None]:
    """Queue one batch of customer ids; returns how many messages it added and the
    latest throttle slot among them (None if none)."""
    dialect = session.get_bind().dialect.name
    insert_messages = _insert_messages(
        campaign,
        company,
        dialect=dialect,
        ranges=None if whole else (lo, hi),
        offset=offset,
        start=start,
        rate=rate,
        now=now,
    )
    if dialect == "postgresql":
        count, last = session.execute(_with_jobs(insert_messages, now)).one()
        return int(count or 0), last
    # SQLite has no DML in CTEs: the new messages are those above the highest id before.
    before = session.scalar(select(func.coalesce(func.max(MSG.c.id), 0)))
    session.execute(insert_messages)
    new_rows = (
        select(MSG.c.id, MSG.c.send_after)
        .where(
            MSG.c.company_id == company.id,
            MSG.c.subject_ref == campaign.ref,
            MSG.c.id > before,
        )
        .subquery("new_messages")
    )
    added = _rowcount(
        session.execute(insert(OUT).from_select(JOB_COLUMNS, _job_rows(new_rows, dialect, now)))
    )
    last = session.scalar(select(func.max(new_rows.c.send_after))) if added else None
    return added, last


def _insert_parallel(
    session: Session,
    *,
    campaign: Campaign,
    company: Company,
    low: int,
    high: int,
    parts: int,
    offset: int,
    start: datetime,
    rate: int,
    now: datetime,
) -> tuple[int, datetime | None]:
    """PostgreSQL: the whole audience in ``parts`` customer-id ranges, each written by its
    own connection at the same time (one backend per core), each committing on its own.

    Part ``k`` takes throttle slots ``offset + k, offset + k + parts, …`` so the parts never
    share a slot. Each part is idempotent like a batch (``ON CONFLICT DO NOTHING`` on the
    key): if one fails, the job fails, and its retry writes only what is missing."""
    width = (high - low) // parts + 1
    statements = [
        _with_jobs(
            _insert_messages(
                campaign,
                company,
                dialect="postgresql",
                ranges=(low + k * width, min(high, low + (k + 1) * width - 1)),
                offset=offset,
                start=start,
                rate=rate,
                now=now,
                stride=parts,
                phase=k,
            ),
            now,
        )
        for k in range(parts)
    ]
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    # The statements are built above, in this thread: the threads touch no ORM object.

    def run(statement: Any) -> tuple[int, datetime | None]:
        with engine.connect() as conn, conn.begin():
            tune_for_bulk_read(conn)
            count, last = conn.execute(statement).one()
            return int(count or 0), last

    with ThreadPoolExecutor(max_workers=parts, thread_name_prefix="campaign-send") as pool:
        results = list(pool.map(run, statements))
    lasts = [last for _, last in results if last is not None]
    return sum(n for n, _ in results), max(lasts) if lasts else None


def _insert_messages(
    campaign: Campaign,
    company: Company,
    *,
    dialect: str,
    ranges: tuple[int, int] | None,
    offset: int,
    start: datetime,
    rate: int,
    now: datetime,
    stride: int = 1,
    phase: int = 0,
) -> Any:
    """``INSERT INTO messages … SELECT`` from the audience (of customer ids ``ranges``)."""
    # The id range is stated on both sides of the join so PostgreSQL scans only the
    # batch's slice of each index instead of every contact method per batch.
    in_range: tuple[ColumnElement[bool], ...] = (
        () if ranges is None else (C.c.id.between(*ranges), M.c.customer_id.between(*ranges))
    )
    audience = eligible_recipients(
        company.id,
        CONSENT_CHANNEL[campaign.channel],
        company_consent(company),
        audience_filter(campaign.audience, extra=in_range),
    ).subquery("audience")
    numbered = select(
        audience.c.customer_id,
        audience.c.method_id,
        audience.c.value,
        func.row_number().over(order_by=(audience.c.customer_id, audience.c.method_id)).label("rn"),
    ).subquery("numbered")
    columns = _message_columns(
        campaign,
        company,
        numbered,
        dialect=dialect,
        offset=offset,
        start=start,
        rate=rate,
        now=now,
        stride=stride,
        phase=phase,
    )
    rows = select(*(v.label(k) for k, v in columns.items())).select_from(numbered)
    # SQLite needs a WHERE on an INSERT … SELECT that has an ON CONFLICT clause.
    rows = rows.where(true() if dialect == "postgresql" else numbered.c.rn > 0)
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    if campaign.channel == "email":
        target, where = ["campaign_id", "customer_id"], CAMPAIGN_EMAIL
    else:
        target, where = ["campaign_id", "contact_method_id"], CAMPAIGN_SMS
    return (
        maker(MSG)
        .from_select(list(columns), rows)
        .on_conflict_do_nothing(index_elements=target, index_where=text(where))
    )


def _with_jobs(insert_messages: Any, now: datetime) -> Any:
    """PostgreSQL: the messages' INSERT chained through ``RETURNING`` into their outbox
    rows, one statement; selects how many were added and the latest slot among them.
    (PostgreSQL runs every data-modifying CTE once; rowcount is not reliable here.)"""
    new = insert_messages.returning(MSG.c.id, MSG.c.send_after).cte("new_messages")
    jobs = insert(OUT).from_select(JOB_COLUMNS, _job_rows(new, "postgresql", now))
    new_jobs = jobs.returning(OUT.c.id, OUT.c.run_at).cte("new_jobs")
    return select(func.count(), func.max(new_jobs.c.run_at))


def _message_columns(
    campaign: Campaign,
    company: Company,
    numbered: Any,
    *,
    dialect: str,
    offset: int,
    start: datetime,
    rate: int,
    now: datetime,
    stride: int = 1,
    phase: int = 0,
) -> dict[str, Any]:
    """The ``messages`` columns of each audience row, as SQL expressions."""
    # Part ``phase`` of ``stride`` parallel writers takes every stride-th throttle slot.
    position = (numbered.c.rn - 1) * stride + phase + offset
    slot = (position // rate) * 60 + ((position % rate) * 60) // rate  # rules.slot_seconds
    if dialect == "postgresql":
        send_after: Any = bindparam("start", start, type_=UTCDateTime) + func.make_interval(
            0, 0, 0, 0, 0, 0, cast(slot, Integer)
        )
    else:
        start_text = start.strftime("%Y-%m-%d %H:%M:%S.%f")
        send_after = func.datetime(
            literal(start_text), literal("+") + cast(slot, String) + " seconds"
        )
    return {
        "company_id": literal(company.id),
        "touchpoint": literal("campaign"),
        "channel": literal("email" if campaign.channel == "email" else "sms"),
        "to": numbered.c.value,
        "customer_id": numbered.c.customer_id,
        "contact_method_id": numbered.c.method_id,
        "subject_ref": literal(campaign.ref),
        "campaign_id": literal(campaign.id),
        "language": literal("en"),
        "subject": literal(campaign.subject, String),
        "body": literal(""),
        "status": literal("queued"),
        "reasons": literal_column("'[]'::jsonb" if dialect == "postgresql" else "'[]'"),
        "send_after": send_after,
        "attempts": literal(0),
        "created_at": _now(now),
        "updated_at": _now(now),
    }


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _now(now: datetime) -> Any:
    return bindparam("now_ts", now, type_=UTCDateTime)


def _job_rows(new: Any, dialect: str, now: datetime) -> Any:
    build = func.jsonb_build_object if dialect == "postgresql" else func.json_object
    return select(
        literal(SEND_TOPIC),
        build("message_id", new.c.id),
        literal("pending"),
        literal(0),
        literal(8),
        new.c.send_after,
        _now(now),
    ).select_from(new)
