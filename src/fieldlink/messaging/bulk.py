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
from fieldlink.consent.queries import any_of, company_consent, tags_of
from fieldlink.customers.models import Contact, ContactMethod, Customer
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


def _decider(
    session: Session, company: Company, intents: Sequence[Intent], now: datetime
) -> Callable[[Intent], dict[str, Any]]:
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
    decided: dict[tuple[Any, ...], tuple[list[dict[str, str]], str | None]] = {}
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

    def decide(it: Intent) -> dict[str, Any]:
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
            known = decided[facts] = (blocks, ", ".join(r["code"] for r in blocks) or None)
        reasons, detail = known
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
        else:
            status = "queued"
        refs = it.refs
        contact = it.contact
        return {
            "company_id": company_id,
            "touchpoint": touchpoint,
            "channel": channel,
            "to": value,
            "customer_id": customer_id,
            "contact_id": contacts[id(contact)][0] if contact is not None else None,
            "contact_method_id": method_id,
            "user_id": None,
            "job_id": refs.job_id,
            "appointment_id": refs.appointment_id,
            "status_code_id": refs.status_code_id,
            "subject_ref": refs.subject_ref,
            "language": language,
            "subject": subject,
            "body": body,
            "status": status,
            "reasons": reasons,
            "idempotency_key": it.idempotency_key,
            "requested_key": it.idempotency_key,
            "duplicate_of_id": None,
            "provider_id": None,
            "send_after": it.send_after,
            "send_by": it.send_by,
            "attempts": 0,
            "attempt_started_at": None,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
            "sent_at": None,
            "delivered_at": None,
            "_detail": detail,
        }

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
    decided: list[dict[str, Any] | None] = [None] * len(intents)

    def first_rows() -> Iterator[dict[str, Any]]:
        # Decided while the COPY streams them: PostgreSQL stores one chunk of rows as
        # Python renders the next.
        for index in first:
            row = decided[index] = decide(intents[index])
            yield row

    inserted = _copy_new_messages(connection, first_rows(), len(first))
    rows = [
        row if row is not None else decide(it) for row, it in zip(decided, intents, strict=True)
    ]
    fresh = [rows[index] for index in first]
    chosen = set(first)
    repeats = [row for index, row in enumerate(rows) if index not in chosen]
    existing: dict[str, int] = {}
    if inserted is None:  # some keys were taken already: insert those that are not
        existing = _existing_keys(session, company.id, [r["idempotency_key"] for r in fresh])
        repeats += [r for r in fresh if r["idempotency_key"] in existing]
        fresh = [r for r in fresh if r["idempotency_key"] not in existing]
        inserted = _insert_messages(connection, fresh)
    lost = [r for r in fresh if r["idempotency_key"] not in inserted]  # raced and lost
    existing.update(inserted)  # a key repeated within this batch points at its first row
    if lost:
        existing.update(_existing_keys(session, company.id, [r["idempotency_key"] for r in lost]))
    dupes = [_duplicate_of(r, existing) for r in (*repeats, *lost)]
    dupe_ids = _insert_plain(connection, dupes)
    order: dict[int, Queued] = {}
    events: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    for row in fresh:
        new_id = inserted.get(row["idempotency_key"])
        if new_id is None:
            continue
        order[id(row)] = Queued(new_id, row["status"], row["reasons"], row["idempotency_key"])
        if row["status"] != "queued":  # why it was not queued; queued is its created_at
            events.append(_event(row, new_id, row["_detail"], now))
        else:
            jobs.append(
                {
                    "topic": SEND_TOPIC,
                    "payload": {"message_id": new_id},
                    "dedupe_key": None,
                    "status": "pending",
                    "attempts": 0,
                    "max_attempts": 8,
                    "run_at": row["send_after"] or now,
                    "locked_until": None,
                    "locked_by": None,
                    "last_error": None,
                    "created_at": now,
                    "finished_at": None,
                }
            )
    for row, new_id in zip(dupes, dupe_ids, strict=True):
        order[id(row["_source"])] = Queued(
            new_id, "suppressed", row["reasons"], None, row["duplicate_of_id"]
        )
        events.append(_event(row, new_id, f"duplicate of message {row['duplicate_of_id']}", now))
    _copy_rows(connection, MessageEvent.__table__, events)
    _copy_rows(connection, OutboxJob.__table__, jobs)
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


def _duplicate_of(row: dict[str, Any], existing: dict[str, int]) -> dict[str, Any]:
    return {
        **row,
        "idempotency_key": None,
        "duplicate_of_id": existing.get(row["idempotency_key"]),
        "status": "suppressed",
        "reasons": [reason("duplicate")],
        "_source": row,
    }


def _event(
    row: dict[str, Any], message_id: int, detail: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "company_id": row["company_id"],
        "message_id": message_id,
        "status": row["status"],
        "detail": detail,
        "at": now,
    }


MESSAGES: Table = Message.__table__  # type: ignore[assignment]
MESSAGE_COLUMNS = [c.key for c in MESSAGES.columns if c.key != "id"]


def _values(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in MESSAGE_COLUMNS}


def _copy_new_messages(
    connection: Connection, rows: Iterator[dict[str, Any]], count: int
) -> dict[str, int] | None:
    """PostgreSQL's fast path for keys never used before (a first send): ids drawn from the
    sequence in one query, rows by COPY as ``rows`` yields them. If any key is taken (a
    repeat, or a race), the COPY is undone and None returned, so the caller takes the
    conflict-checking path."""
    if not count or connection.dialect.name != "postgresql":
        return None
    ids = iter(
        connection.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('messages', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        ).scalars()
    )
    keys: dict[str, int] = {}

    def numbered() -> Iterator[dict[str, Any]]:
        for row in rows:
            row["id"] = keys[row["idempotency_key"]] = next(ids)
            yield row

    savepoint = connection.begin_nested()
    try:
        _copy_pg(connection, "messages", ["id", *MESSAGE_COLUMNS], numbered())
    except UniqueViolation:
        savepoint.rollback()
        return None
    savepoint.commit()
    return keys


def _insert_messages(connection: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
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


def _insert_messages_pg(connection: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING."""
    connection.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS bulk_messages "
            "(LIKE messages INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
    )
    connection.execute(text("TRUNCATE bulk_messages"))
    _copy_pg(connection, "bulk_messages", MESSAGE_COLUMNS, (_values(r) for r in rows))
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


def _insert_plain(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows with no key (the duplicates' records), ids in the rows' order."""
    ids: list[int] = []
    for row in rows:  # rare: only repeats and lost races come here
        ids.append(
            connection.execute(insert(MESSAGES).returning(Message.id), _values(row)).scalar_one()
        )
    return ids


def _copy_rows(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        columns = list(rows[0])
        _copy_pg(connection, table.name, columns, rows)
        return
    for chunk in _chunks(rows, 1000):
        connection.execute(insert(table), list(chunk))


def _copy_pg(
    connection: Connection, table: str, columns: list[str], rows: Iterable[dict[str, Any]]
) -> None:
    raw = connection.connection.driver_connection
    assert raw is not None
    cols = ", ".join(f'"{c}"' for c in columns)
    values = itemgetter(*columns)
    json_at = [i for i, c in enumerate(columns) if c in ("reasons", "payload")]
    dumped: dict[int, tuple[Any, str]] = {}  # the rows of one decision share its reasons

    def as_json(value: Any) -> str:
        known = dumped.get(id(value))
        if known is None or known[0] is not value:
            known = dumped[id(value)] = (value, json.dumps(value))
        return known[1]

    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            out = list(values(row))
            for i in json_at:
                out[i] = as_json(out[i])
            write(out)
