"""A customer's data rights: export everything held about them, and erase them.

Export walks the schema, not a hand-kept list: every table that references the customer
(directly or through rows already exported, e.g. appointments through jobs) is included,
so tables added later are exported too. A reference is a foreign key or, where a column
has none (``messages``: migrations 0013, 0014), the table its ``info`` names. Secrets
(password hashes, processor tokens) are left out.

Erasure removes or anonymises personal data and keeps what the law makes us keep:
- consent evidence (TCPA, CTIA, CAN-SPAM: proof of opt-in and that opt-outs were honoured)
  stays, with the phone number or address replaced by a keyed hash;
- the email suppression list keeps the address — it is what stops mail to it (CAN-SPAM
  requires an opt-out to be honoured indefinitely), and it holds nothing else;
- a conversation whose number texted STOP keeps the number and its status, detached from
  the customer and with every text removed, so the opt-out still holds if the number
  comes back;
- jobs, invoices and payments stay (bookkeeping and tax records), attached to the
  anonymised customer; payment methods (processor tokens) are deleted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Table, delete, select, update
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.consent.models import ConsentEvent
from fieldlink.customers.methods import release_messages
from fieldlink.customers.models import Contact, ContactMethod, Customer, CustomerTag, Location
from fieldlink.db import Base, get_scoped
from fieldlink.messaging.models import REFERS_TO, Message
from fieldlink.sms.inbound import forget_received
from fieldlink.sms.models import Conversation, OptInRequest, SmsMessage

# Not the customer's data, or not data at all: never walked into.
_SKIP_TABLES = frozenset({"companies", "users", "api_keys", "outbox", "idempotency_keys"})
_SECRET_COLUMNS = frozenset({"password_hash", "token", "key_hash", "login_password_hash"})
ERASED = "erased"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {
        c.name: _jsonable(row._mapping[c])
        for c in table.columns
        if c.name not in _SECRET_COLUMNS and not c.name.endswith("_hash")
    }


def export_customer(
    session: Session, *, company_id: int, customer_id: int, now: datetime
) -> dict[str, Any]:
    """Everything held about one customer of the company, as JSON-ready data."""
    customer = get_scoped(session, Customer, customer_id, company_id, "customer")
    tables = Base.metadata.tables
    found: dict[str, dict[Any, dict[str, Any]]] = {
        "customers": {(customer.id,): _row(tables["customers"], _load_one(session, customer))}
    }
    changed = True
    while changed:  # follow references until no new rows turn up
        changed = False
        for name, table in sorted(tables.items()):
            if name in _SKIP_TABLES:
                continue
            for column, target, target_column in _references(table):
                if target not in found or (name == target == "customers"):
                    continue  # sub-customers are other records, exported on their own
                ids = [
                    v
                    for v in {r.get(target_column) for r in found[target].values()}
                    if v is not None
                ]
                if not ids:
                    continue
                stmt = select(table).where(column.in_(ids))
                if "company_id" in table.c:
                    stmt = stmt.where(table.c.company_id == company_id)
                rows = found.setdefault(name, {})
                for row in session.execute(stmt):
                    key = _key(table, row)
                    if key not in rows:
                        rows[key] = _row(table, row)
                        changed = True
    emails = [
        r["value"].lower()
        for r in found.get("contact_methods", {}).values()
        if r.get("kind") == "email"
    ]
    if emails:
        sup = tables["suppressions"]
        found["suppressions"] = {
            _key(sup, r): _row(sup, r)
            for r in session.execute(
                select(sup).where(sup.c.company_id == company_id, sup.c.email.in_(emails))
            )
        }
    return {
        "exported_at": now.isoformat(),
        "company_id": company_id,
        "customer_id": customer.id,
        "data": {
            name: sorted(rows.values(), key=lambda r: str(r.get("id", "")))
            for name, rows in sorted(found.items())
            if rows
        },
    }


def _references(table: Table) -> Iterator[tuple[Column[Any], str, str]]:
    """(column, referenced table, referenced column) of each reference the table holds."""
    for fk in table.foreign_keys:
        yield fk.parent, fk.column.table.name, fk.column.name
    for column in table.columns:
        if REFERS_TO in column.info and not column.foreign_keys:
            yield column, column.info[REFERS_TO], "id"


def _load_one(session: Session, customer: Customer) -> Any:
    table = Base.metadata.tables["customers"]
    return session.execute(select(table).where(table.c.id == customer.id)).one()


def _key(table: Table, row: Any) -> Any:
    return tuple(row._mapping[c] for c in table.primary_key.columns)


@dataclass(frozen=True)
class Erasure:
    customer_id: int
    contacts: int
    contact_methods_deleted: int
    locations: int
    messages_redacted: int
    conversations_deleted: int
    conversations_kept_for_opt_out: int
    consent_events_hashed: int
    payment_methods_deleted: int
    portal_logins_deleted: int = 0
    uploads_deleted: int = 0
    unthreaded_texts_deleted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def pseudonym(secret: str, value: str) -> str:
    """A keyed hash of a phone number or address: the same value always maps to the same
    pseudonym (so evidence can be matched when the person asks), but the value can't be
    recovered by hashing every phone number."""
    digest = hmac.new(secret.encode(), value.strip().lower().encode(), hashlib.sha256)
    return "hmac-sha256:" + digest.hexdigest()[:48]


def erase_customer(
    session: Session,
    *,
    company_id: int,
    customer_id: int,
    secret: str,
    now: datetime,
    upload_dir: str | None = None,
) -> Erasure:
    """Remove or anonymise the customer's personal data (see the module docstring)."""
    from fieldlink.jobs.models import Job, PaymentMethod
    from fieldlink.links.models import WorkAcknowledgement
    from fieldlink.portal.models import PortalAccount, PortalUpload
    from fieldlink.portal.uploads import storage_path

    customer = get_scoped(session, Customer, customer_id, company_id, "customer")
    cid = customer.id
    method_ids = list(
        session.scalars(select(ContactMethod.id).where(ContactMethod.customer_id == cid))
    )
    values = list(
        session.scalars(select(ContactMethod.value).where(ContactMethod.customer_id == cid))
    )
    # A message still queued to the customer's methods will not be sent (no_recipient).
    release_messages(session, method_ids, company_id=company_id, customer_id=cid, now=now)
    hashed = 0
    for event in session.scalars(select(ConsentEvent).where(ConsentEvent.customer_id == cid)):
        if not event.subject.startswith("hmac-sha256:"):
            event.subject = pseudonym(secret, event.subject)
            hashed += 1
    phones = [v for v in values if v.startswith("+")]
    kept = deleted_conversations = 0
    for conversation in session.scalars(
        select(Conversation).where(
            Conversation.company_id == company_id,
            (Conversation.customer_id == cid) | Conversation.phone.in_(phones),
        )
    ):
        session.execute(delete(SmsMessage).where(SmsMessage.conversation_id == conversation.id))
        if conversation.keyword_status == "opted_out":
            # TCPA/CTIA: the STOP must keep holding if this number is ever added again.
            conversation.customer_id = None
            conversation.contact_id = None
            kept += 1
        else:
            session.delete(conversation)
            deleted_conversations += 1
    # Texts from those numbers recorded by the webhook but not yet threaded by a worker:
    # threading them after the erasure would bring the words and the number back.
    company = session.get(Company, company_id)
    unthreaded = forget_received(session, company=company, phones=phones) if company else 0
    for request in session.scalars(
        select(OptInRequest).where(
            OptInRequest.company_id == company_id,
            (OptInRequest.contact_method_id.in_(method_ids)) | OptInRequest.phone.in_(phones),
        )
    ):
        request.phone = pseudonym(secret, request.phone)[:20]
        request.requester_ip = None
    redacted = 0
    for message in session.scalars(
        select(Message).where(Message.company_id == company_id, Message.customer_id == cid)
    ):
        message.to = None
        message.subject = None
        message.body = ""
        message.contact_id = message.contact_method_id = None
        # Keys name the recipient (…:sms:+19195550100); a keyed hash keeps them unique.
        for attr in ("idempotency_key", "requested_key"):
            key = getattr(message, attr)
            for value in values:
                if key and value.lower() in key:
                    key = key.replace(value.lower(), pseudonym(secret, value)[12:36])
            setattr(message, attr, key)
        redacted += 1
    session.execute(delete(ContactMethod).where(ContactMethod.customer_id == cid))
    contacts = _rows(
        session.execute(
            update(Contact).where(Contact.customer_id == cid).values(name="Erased contact")
        )
    )
    locations = _rows(
        session.execute(
            update(Location)
            .where(Location.customer_id == cid)
            .values(name=None, line1=ERASED, line2=None, city=ERASED, postcode=None)
        )
    )
    session.execute(delete(CustomerTag).where(CustomerTag.customer_id == cid))
    payment_methods = _rows(
        session.execute(delete(PaymentMethod).where(PaymentMethod.customer_id == cid))
    )
    # Portal: the logins (their sessions go with them) and the files the customer sent.
    portal_logins = _rows(
        session.execute(delete(PortalAccount).where(PortalAccount.customer_id == cid))
    )
    uploads = list(session.scalars(select(PortalUpload).where(PortalUpload.customer_id == cid)))
    for upload in uploads:
        if upload_dir:
            storage_path(upload_dir, upload.company_id, upload.storage_key).unlink(missing_ok=True)
        session.delete(upload)
    # A signed acknowledgement stays (it is the business's record of accepted work, like an
    # invoice), without the signer's network identifiers.
    session.execute(
        update(WorkAcknowledgement)
        .where(
            WorkAcknowledgement.company_id == company_id,
            WorkAcknowledgement.job_id.in_(select(Job.id).where(Job.customer_id == cid)),
        )
        .values(ip=None, user_agent=None)
    )
    customer.name = f"Erased customer {cid}"
    customer.notes = None
    session.flush()
    return Erasure(
        customer_id=cid,
        contacts=contacts,
        contact_methods_deleted=len(method_ids),
        locations=locations,
        messages_redacted=redacted,
        conversations_deleted=deleted_conversations,
        conversations_kept_for_opt_out=kept,
        consent_events_hashed=hashed,
        payment_methods_deleted=payment_methods,
        portal_logins_deleted=portal_logins,
        uploads_deleted=len(uploads),
        unthreaded_texts_deleted=unthreaded,
    )
