"""Queue many messages at once: the same rules as ``queue_message``, set-based writes.

A bulk send (reminders for a day's appointments, a generated batch) decides consent for
every recipient from facts read in a few queries (tags and suppressions for the whole
batch), renders each body from the once-compiled template, then writes all rows in a
handful of statements: messages with ``INSERT … ON CONFLICT DO NOTHING`` on the
idempotency key (so a repeated or racing bulk send never doubles; the loser's rows are
stored as ``suppressed: duplicate``), a history event for each one not queued (why not:
a queued message's ``created_at`` is its ``queued`` entry, see ``messaging.api``), and one
outbox row per queued message. On PostgreSQL the rows travel by ``COPY`` (into a temporary
table for the messages, so the conflict check still applies); on SQLite by executemany.

``queue_message`` and this module share the decision (``rules.decide`` on the same facts),
the sender checks and the templates; ``tests/messaging/test_bulk.py`` holds them equal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from psycopg.errors import UniqueViolation
from sqlalchemy import Connection, Table, insert, inspect, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.consent import rules
from fieldlink.consent.models import Suppression
from fieldlink.consent.queries import company_consent, tags_of
from fieldlink.customers.models import Contact, ContactMethod, Customer
from fieldlink.db import any_of
from fieldlink.messaging.models import Message, MessageEvent
from fieldlink.messaging.reasons import reason
from fieldlink.messaging.service import (
    SEND_TOPIC,
    Refs,
    consent_channel,
    notification_blocks,
    sender_blocks,
    template_for,
)
from fieldlink.messaging.templates import Renderer, TemplateInvalid
from fieldlink.outbox.models import OutboxJob

CHUNK = 5000  # rows per statement / IN list

MESSAGES: Table = Message.__table__  # type: ignore[assignment]
# Columns a new message never sets (null until delivery, or set on campaign rows only; no
# server default): left out of the row, so COPY formats seven fewer values per message.
UNSET = frozenset(
    (
        "user_id",
        "campaign_id",
        "provider_id",
        "attempt_started_at",
        "last_error",
        "sent_at",
        "delivered_at",
    )
)
MESSAGE_COLUMNS = [c.key for c in MESSAGES.columns if c.key != "id" and c.key not in UNSET]
# A message row is a list in COPY order: id, then MESSAGE_COLUMNS; reasons as JSON text.
Row = list[Any]
ROW_COLUMNS = ["id", *MESSAGE_COLUMNS]
_AT = {name: i for i, name in enumerate(ROW_COLUMNS)}
STATUS, REASONS, KEY, DUPLICATE_OF = (
    _AT["status"],
    _AT["reasons"],
    _AT["idempotency_key"],
    _AT["duplicate_of_id"],
)
SEND_AFTER, COMPANY_ID = _AT["send_after"], _AT["company_id"]
EVENT_COLUMNS = ["company_id", "message_id", "status", "detail", "at"]
OUTBOX_COLUMNS = ["topic", "payload", "status", "attempts", "max_attempts", "run_at", "created_at"]
DUPLICATE_JSON = json.dumps([reason("duplicate")])


@dataclass(frozen=True)
class Intent:
    """One intended message to one contact method (what ``queue_message`` takes)."""

    touchpoint: str
    channel: str
    customer: Customer
    contact: Contact | None
    method: ContactMethod
    variables: dict[str, Any]
    idempotency_key: str
    refs: Refs = field(default_factory=Refs)
    send_by: datetime | None = None
    send_after: datetime | None = None
    template: tuple[str | None, str] | None = None


@dataclass(frozen=True)
class Queued:
    """What became of one intent (enough for a caller's counts and the API answer)."""

    id: int
    status: str
    reasons: list[dict[str, str]]
    idempotency_key: str | None
    duplicate_of_id: int | None = None


@dataclass
class BulkResult:
    messages: list[Queued] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.messages:
            out[m.status] = out.get(m.status, 0) + 1
        return out


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _suppressed(session: Session, company_id: int, emails: Iterable[str]) -> set[str]:
    out: set[str] = set()
    values = sorted(set(emails))
    for chunk in _chunks(values):
        out.update(
            session.scalars(
                select(Suppression.email).where(
                    Suppression.company_id == company_id,
                    any_of(session, Suppression.email, chunk),
                )
            )
        )
    return out


CUSTOMER_FACTS = (
    "id",
    "language",
    "do_not_mail",
    "do_not_service",
    "do_not_send_promotional_emails",
)
METHOD_FACTS = (
    "id",
    "value",
    "kind",
    "phone_type",
    "marketing_updates",
    "job_notifications",
    "marketing_sms_status",
)


def _read_facts(
    session: Session, entity: Any, objects: Iterable[Any], names: tuple[str, ...]
) -> dict[int, tuple[Any, ...]]:
    """``{id(object): (its values of names)}`` for ORM objects, without loading any of them
    one by one: a loaded object's values come from its ``__dict__``; an expired one's (a
    commit expired it, say) from one query for all of them by primary key.

    Everything a row needs is read here, before the COPY starts: while a COPY is in
    progress the connection is busy, and an ORM attribute that lazy-loads on it would wait
    for the COPY, which waits for the row: a self-deadlock that hangs the transaction."""
    values = itemgetter(*names)
    out: dict[int, tuple[Any, ...]] = {}
    missing: dict[Any, list[Any]] = {}
    for obj in objects:
        if id(obj) in out:
            continue
        try:
            found = values(obj.__dict__)
            out[id(obj)] = found if isinstance(found, tuple) else (found,)
        except KeyError:
            identity = inspect(obj).identity
            if identity is None:  # not stored yet: its attributes are all in memory
                out[id(obj)] = tuple(getattr(obj, n) for n in names)
            else:
                missing.setdefault(identity[0], []).append(obj)
    ids = sorted(missing)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for row in session.execute(
            select(*(getattr(entity, n) for n in names)).where(any_of(session, entity.id, chunk))
        ):
            for obj in missing.pop(row[0], ()):
                out[id(obj)] = tuple(row)
    for objs in missing.values():  # deleted meanwhile: the ORM's own error
        for obj in objs:
            out[id(obj)] = tuple(getattr(obj, n) for n in names)
    return out


# A decided intent: its message row, reasons (as a list) and the history detail.
Decided = tuple[Row, list[dict[str, str]], str | None]
assert ROW_COLUMNS == [  # the row built in _decider.decide, in this order
    "id",
    "company_id",
    "touchpoint",
    "channel",
    "to",
    "customer_id",
    "contact_id",
    "contact_method_id",
    "job_id",
    "appointment_id",
    "status_code_id",
    "subject_ref",
    "language",
    "subject",
    "body",
    "status",
    "reasons",
    "idempotency_key",
    "requested_key",
    "duplicate_of_id",
    "send_after",
    "send_by",
    "attempts",
    "created_at",
    "updated_at",
]


def _decider(
    session: Session, company: Company, intents: Sequence[Intent], now: datetime
) -> Callable[[Intent], Decided]:
    """Read the batch's facts (tags, suppressions, templates) and return the function that
    turns one intent into its message row (column values, status and reasons decided). It
    runs no query, so it can feed a COPY in progress.

    ``rules.decide`` is pure and reads only a handful of facts: each distinct combination
    is decided once per batch (a day's reminders have a few dozen, not thousands), and each
    template is compiled once into a :class:`Renderer`."""
    consent = company_consent(company)
    company_id = company.id
    customers = _read_facts(session, Customer, (i.customer for i in intents), CUSTOMER_FACTS)
    methods = _read_facts(session, ContactMethod, (i.method for i in intents), METHOD_FACTS)
    contacts = _read_facts(
        session, Contact, (i.contact for i in intents if i.contact is not None), ("id",)
    )
    tags = tags_of(session, (c[0] for c in customers.values()))
    suppressed = _suppressed(
        session, company_id, (m[1].lower() for m in methods.values() if m[2] == "email")
    )
    senders = {ch: sender_blocks(company, ch) for ch in {i.channel for i in intents}}
    switched_off = {
        (tp, ch): notification_blocks(company, tp, ch)
        for tp, ch in {(i.touchpoint, i.channel) for i in intents}
    }
    decided: dict[tuple[Any, ...], tuple[list[dict[str, str]], str | None, str]] = {}
    renderers: dict[tuple[Any, ...], Renderer | str] = {}
    for it in intents:
        template_key = (
            it.touchpoint,
            it.channel,
            customers[id(it.customer)][1] or "en",
            it.template,
        )
        if template_key not in renderers:
            touchpoint, channel, language, chosen = template_key
            source = chosen or template_for(
                session,
                company_id=company_id,
                touchpoint=touchpoint,
                channel=channel,
                language=language,
            )
            renderers[template_key] = (
                f"no template for {touchpoint} by {channel}"
                if source is None
                else Renderer(source[0], source[1], channel=channel)
            )
    no_tags: frozenset[str] = frozenset()

    def decide(it: Intent) -> Decided:
        # Facts only, no ORM attribute: this runs while a COPY holds the connection.
        customer_id, language, do_not_mail, do_not_service, no_promo = customers[id(it.customer)]
        method_id, value, kind, phone_type, marketing, job_notices, sms_status = methods[
            id(it.method)
        ]
        touchpoint, channel = it.touchpoint, it.channel
        language = language or "en"
        customer_tags = tags.get(customer_id, no_tags)
        is_suppressed = value.lower() in suppressed
        # Everything rules.decide looks at; of the address itself only whether it looks
        # like an email (MethodFacts.email_valid), so valid addresses share a decision.
        facts = (
            touchpoint,
            channel,
            do_not_mail,
            do_not_service,
            no_promo,
            customer_tags,
            kind,
            phone_type,
            marketing,
            job_notices,
            sms_status,
            is_suppressed,
            rules.looks_like_email(value),
        )
        known = decided.get(facts)
        if known is None:
            decision = rules.decide(
                consent_channel(touchpoint, channel),
                consent,
                rules.CustomerFacts(do_not_mail, do_not_service, no_promo, customer_tags),
                rules.MethodFacts(
                    kind, value, phone_type, marketing, job_notices, sms_status, is_suppressed
                ),
            )
            blocks = [{"code": r.code, "message": r.message} for r in decision.reasons]
            blocks += senders[channel]
            blocks += switched_off[(touchpoint, channel)]
            known = decided[facts] = (
                blocks,
                ", ".join(r["code"] for r in blocks) or None,
                json.dumps(blocks),
            )
        reasons, detail, reasons_json = known
        renderer = renderers[(touchpoint, channel, language, it.template)]
        subject: str | None = None
        body = ""
        failed: str | None = None
        if isinstance(renderer, str):
            failed = renderer
        else:
            try:
                subject, body = renderer.render(it.variables)
            except TemplateInvalid as exc:
                failed = str(exc)
        if reasons:
            status = "suppressed"
        elif failed is not None:
            status, detail = "failed", failed
            reasons = [reason("template_error", failed)]
            reasons_json = json.dumps(reasons)
        else:
            status = "queued"
        refs = it.refs
        contact = it.contact
        row = [
            None,  # id
            company_id,
            touchpoint,
            channel,
            value,  # to
            customer_id,
            contacts[id(contact)][0] if contact is not None else None,
            method_id,
            refs.job_id,
            refs.appointment_id,
            refs.status_code_id,
            refs.subject_ref,
            language,
            subject,
            body,
            status,
            reasons_json,
            it.idempotency_key,
            it.idempotency_key,  # requested_key
            None,  # duplicate_of_id
            it.send_after,
            it.send_by,
            0,  # attempts
            now,  # created_at
            now,  # updated_at
        ]
        return row, reasons, detail

    return decide


def queue_messages(
    session: Session, *, company: Company, intents: Sequence[Intent], now: datetime
) -> BulkResult:
    """Record every intent as a message (queued, suppressed with reasons, or failed) and
    queue delivery of the queued ones, in the caller's transaction."""
    result = BulkResult()
    if not intents:
        return result
    session.flush()  # our statements bypass the unit of work: put the caller's rows first
    decide = _decider(session, company, intents, now)
    connection = session.connection()
    first: list[int] = []  # a key repeated within this batch: the first one counts
    seen: set[str] = set()
    for index, it in enumerate(intents):
        if it.idempotency_key not in seen:
            seen.add(it.idempotency_key)
            first.append(index)
    decided: list[Decided | None] = [None] * len(intents)

    def first_rows() -> Iterator[Row]:
        # Decided while the COPY streams them: PostgreSQL stores one chunk of rows as
        # Python renders the next.
        for index in first:
            one = decided[index] = decide(intents[index])
            yield one[0]

    inserted = _copy_new_messages(connection, first_rows(), len(first))
    outcomes = [
        one if one is not None else decide(it) for one, it in zip(decided, intents, strict=True)
    ]
    notes = {id(row): (reasons, detail) for row, reasons, detail in outcomes}
    rows = [one[0] for one in outcomes]
    fresh = [rows[index] for index in first]
    chosen = set(first)
    repeats = [row for index, row in enumerate(rows) if index not in chosen]
    existing: dict[str, int] = {}
    if inserted is None:  # some keys were taken already: insert those that are not
        existing = _existing_keys(session, company.id, [r[KEY] for r in fresh])
        repeats += [r for r in fresh if r[KEY] in existing]
        fresh = [r for r in fresh if r[KEY] not in existing]
        inserted = _insert_messages(connection, fresh)
    lost = [r for r in fresh if r[KEY] not in inserted]  # raced and lost
    existing.update(inserted)  # a key repeated within this batch points at its first row
    if lost:
        existing.update(_existing_keys(session, company.id, [r[KEY] for r in lost]))
    sources = [*repeats, *lost]
    dupes = [_duplicate_of(r, existing) for r in sources]
    dupe_ids = _insert_plain(connection, dupes)
    order: dict[int, Queued] = {}
    events: list[tuple[Any, ...]] = []
    jobs: list[tuple[Any, ...]] = []
    company_id = company.id
    for row in fresh:
        new_id = inserted.get(row[KEY])
        if new_id is None:
            continue
        status = row[STATUS]
        reasons, detail = notes[id(row)]
        order[id(row)] = Queued(new_id, status, reasons, row[KEY])
        if status == "queued":
            jobs.append(
                (
                    SEND_TOPIC,
                    f'{{"message_id": {new_id}}}',
                    "pending",
                    0,
                    8,
                    row[SEND_AFTER] or now,
                    now,
                )
            )
        else:  # why it was not queued; a queued message's created_at is its queued entry
            events.append((company_id, new_id, status, detail, now))
    for source, row, new_id in zip(sources, dupes, dupe_ids, strict=True):
        original = row[DUPLICATE_OF]
        order[id(source)] = Queued(new_id, "suppressed", [reason("duplicate")], None, original)
        events.append((company_id, new_id, "suppressed", f"duplicate of message {original}", now))
    _copy_rows(connection, MessageEvent.__table__, EVENT_COLUMNS, events)
    _copy_rows(connection, OutboxJob.__table__, OUTBOX_COLUMNS, jobs, json_at=(1,))
    result.messages = [order[id(r)] for r in rows]
    return result


def _existing_keys(session: Session, company_id: int, keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(keys))):
        for key, message_id in session.execute(
            select(Message.idempotency_key, Message.id).where(
                Message.company_id == company_id,
                any_of(session, Message.idempotency_key, chunk),
            )
        ):
            assert key is not None
            found[key] = message_id
    return found


def _duplicate_of(row: Row, existing: dict[str, int]) -> Row:
    out = row.copy()
    out[0] = out[KEY] = None
    out[DUPLICATE_OF] = existing.get(row[KEY])
    out[STATUS], out[REASONS] = "suppressed", DUPLICATE_JSON
    return out


def _values(row: Row) -> dict[str, Any]:
    """A row as the column values an INSERT takes (reasons as a list, not JSON text)."""
    values = dict(zip(MESSAGE_COLUMNS, row[1:], strict=True))
    values["reasons"] = json.loads(values["reasons"])
    return values


def _copy_new_messages(
    connection: Connection, rows: Iterator[Row], count: int
) -> dict[str, int] | None:
    """PostgreSQL's fast path for keys never used before (a first send): ids drawn from the
    sequence in one query, rows by COPY as ``rows`` yields them. If any key is taken (a
    repeat, or a race), the COPY is undone and None returned, so the caller takes the
    conflict-checking path."""
    if not count or connection.dialect.name != "postgresql":
        return None
    ids = iter(  # one array value, not a result row per id
        connection.execute(
            text(
                "SELECT array(SELECT nextval(pg_get_serial_sequence('messages', 'id')) "
                "FROM generate_series(1, :n))"
            ),
            {"n": count},
        ).scalar_one()
    )
    keys: dict[str, int] = {}

    def numbered() -> Iterator[Row]:
        for row in rows:
            row[0] = keys[row[KEY]] = next(ids)
            yield row

    savepoint = connection.begin_nested()
    try:
        _copy_pg(connection, "messages", ROW_COLUMNS, numbered())
    except UniqueViolation:
        savepoint.rollback()
        return None
    savepoint.commit()
    return keys


def _insert_messages(connection: Connection, rows: list[Row]) -> dict[str, int]:
    """Insert rows whose key is not taken; ``{idempotency_key: id}`` of those inserted."""
    if not rows:
        return {}
    if connection.dialect.name == "postgresql":
        return _insert_messages_pg(connection, rows)
    stmt = (
        sqlite_insert(MESSAGES)
        .on_conflict_do_nothing(
            index_elements=["company_id", "idempotency_key"],
            index_where=Message.idempotency_key.is_not(None),
        )
        .returning(Message.id, Message.idempotency_key)
    )
    found: dict[str, int] = {}
    for chunk in _chunks(rows, 500):
        for new_id, key in connection.execute(stmt, [_values(r) for r in chunk]):
            found[str(key)] = new_id
    return found


def _insert_messages_pg(connection: Connection, rows: list[Row]) -> dict[str, int]:
    """COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING."""
    connection.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS bulk_messages "
            "(LIKE messages INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
    )
    connection.execute(text("TRUNCATE bulk_messages"))
    _copy_pg(connection, "bulk_messages", MESSAGE_COLUMNS, (r[1:] for r in rows))
    cols = ", ".join(f'"{c}"' for c in MESSAGE_COLUMNS)
    inserted = connection.execute(
        text(
            f"INSERT INTO messages ({cols}) SELECT {cols} FROM bulk_messages "
            "ON CONFLICT (company_id, idempotency_key) WHERE idempotency_key IS NOT NULL "
            "DO NOTHING RETURNING id, idempotency_key"
        )
    )
    found = {key: new_id for new_id, key in inserted}
    connection.execute(text("TRUNCATE bulk_messages"))
    return found


def _insert_plain(connection: Connection, rows: list[Row]) -> list[int]:
    """Insert rows with no key (the duplicates' records), ids in the rows' order."""
    ids: list[int] = []
    for row in rows:  # rare: only repeats and lost races come here
        ids.append(
            connection.execute(insert(MESSAGES).returning(Message.id), _values(row)).scalar_one()
        )
    return ids


def _copy_rows(
    connection: Connection,
    table: Any,
    columns: list[str],
    rows: list[tuple[Any, ...]],
    json_at: tuple[int, ...] = (),
) -> None:
    """Rows (tuples in ``columns`` order, JSON columns at ``json_at`` as text) into table."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy_pg(connection, table.name, columns, rows)
        return
    for chunk in _chunks(rows, 1000):
        values = [dict(zip(columns, row, strict=True)) for row in chunk]
        for value in values:
            for i in json_at:
                value[columns[i]] = json.loads(value[columns[i]])
        connection.execute(insert(table), values)


def _copy_pg(
    connection: Connection, table: str, columns: list[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY rows (sequences in ``columns`` order, ready as they are) into table."""
    raw = connection.connection.driver_connection
    assert raw is not None
    cols = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            write(row)
