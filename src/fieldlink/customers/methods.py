"""Use cases for contact methods (email addresses and phone numbers) and their consent flags.

Defaults follow DESIGN.md, "Consent rules" → Defaults: ``marketing_updates`` is on for a
method created with a new customer record and off for one added later (the office may pass
``true`` explicitly); ``job_notifications`` is on; ``marketing_sms_status`` starts ``none``;
a phone's type defaults to ``mobile``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from fieldlink.consent.changes import (
    office_set_marketing_sms_status,
    record_consent_event,
    set_marketing_sms_status,
)
from fieldlink.customers.models import Contact, ContactMethod
from fieldlink.customers.schemas import MethodIn, MethodPatch
from fieldlink.errors import ValidationFailed
from fieldlink.messaging.models import Message, MessageEvent
from fieldlink.messaging.reasons import reason
from fieldlink.validation import normalise_email, normalise_phone

METHOD_FLAGS = ("marketing_updates", "job_notifications")


def normalise_value(kind: str, value: str, region: str) -> str:
    """E.164 for phones (the company's country is the default region), lower-case email."""
    return normalise_phone(value, region) if kind == "phone" else normalise_email(value)


def check_method(data: MethodIn, *, region: str, field: str) -> list[dict[str, str]]:
    """Problems with one method of a request, as ``{field, message}`` (empty when fine)."""
    errors: list[dict[str, str]] = []
    try:
        normalise_value(data.kind, data.value, region)
    except ValueError as exc:
        errors.append({"field": f"{field}value", "message": str(exc)})
    if data.kind == "email" and data.phone_type is not None:
        errors.append({"field": f"{field}phone_type", "message": "only phones have a type"})
    phone_type = data.phone_type or "mobile"
    sms_status = data.marketing_sms_status
    if sms_status not in (None, "none") and (data.kind != "phone" or phone_type != "mobile"):
        errors.append(
            {
                "field": f"{field}marketing_sms_status",
                "message": "marketing SMS consent applies to mobile phone numbers only",
            }
        )
    return errors


def raise_errors(errors: list[dict[str, str]]) -> None:
    """Raise one 422 listing every problem found, so a form can mark all fields at once."""
    if errors:
        exc = ValidationFailed(errors[0]["field"], errors[0]["message"])
        exc.errors = errors
        exc.detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise exc


def add_method(
    session: Session,
    *,
    contact: Contact,
    data: MethodIn,
    region: str,
    with_new_customer: bool,
    actor: str | None,
    now: datetime,
) -> ContactMethod:
    """Add an email or phone to a contact, recording the consent it starts with.

    ``with_new_customer`` is true when the method arrives in the same request that creates
    the customer record; only then does ``marketing_updates`` default to on.
    """
    raise_errors(check_method(data, region=region, field=""))
    marketing = data.marketing_updates
    if marketing is None:
        # DESIGN.md Defaults: on with a new customer record, off when added later.
        marketing = with_new_customer
    method = ContactMethod(
        company_id=contact.company_id,
        customer_id=contact.customer_id,
        contact_id=contact.id,
        kind=data.kind,
        value=normalise_value(data.kind, data.value, region),
        phone_type=(data.phone_type or "mobile") if data.kind == "phone" else None,
        marketing_updates=marketing,
        job_notifications=data.job_notifications,
        marketing_sms_status="none",
    )
    session.add(method)
    session.flush()
    # The history starts with every grant the method is born with; an absent grant (a
    # false flag) is the empty state and needs no evidence.
    for flag in METHOD_FLAGS:
        if getattr(method, flag):
            _record(session, method=method, field=flag, old=None, new=True, actor=actor, now=now)
    if data.marketing_sms_status not in (None, "none"):
        office_set_marketing_sms_status(
            session, method=method, status=data.marketing_sms_status, actor=actor, at=now
        )
    _inherit_opt_out(session, method=method, now=now)
    return method


def update_method(
    session: Session,
    *,
    method: ContactMethod,
    patch: MethodPatch,
    region: str,
    actor: str | None,
    now: datetime,
) -> ContactMethod:
    """Apply an office PATCH to a method; consent flags changed are recorded."""
    data = patch.model_dump(exclude_unset=True)
    for key in ("value", *METHOD_FLAGS):
        if key in data and data[key] is None:
            raise ValidationFailed(key, "cannot be null")
    if "phone_type" in data:
        if method.kind == "email" and data["phone_type"] is not None:
            raise ValidationFailed("phone_type", "only phones have a type")
        if method.kind == "phone" and data["phone_type"] is None:
            raise ValidationFailed("phone_type", "cannot be null for a phone")
        method.phone_type = data["phone_type"]
    if "value" in data:
        try:
            value = normalise_value(method.kind, data["value"], region)
        except ValueError as exc:
            raise ValidationFailed("value", str(exc)) from exc
        if value != method.value:
            _change_value(session, method=method, value=value, actor=actor, now=now)
    for flag in METHOD_FLAGS:
        if flag in data and data[flag] != getattr(method, flag):
            old = getattr(method, flag)
            setattr(method, flag, data[flag])
            _record(
                session, method=method, field=flag, old=old, new=data[flag], actor=actor, now=now
            )
    status = data.get("marketing_sms_status")
    # Sending back the status just read (even "none" on an email) is not a change.
    if status is not None and status != method.marketing_sms_status:
        office_set_marketing_sms_status(session, method=method, status=status, actor=actor, at=now)
    session.flush()
    return method


METHOD_DELETED = "the contact method was deleted"


def delete_method(session: Session, *, method: ContactMethod, now: datetime) -> None:
    """Delete a method; its consent history stays, keyed by the address or number, and its
    messages stay in the log (``release_messages``)."""
    release_messages(
        session,
        [method.id],
        company_id=method.company_id,
        customer_id=method.customer_id,
        now=now,
    )
    session.delete(method)
    session.flush()


def release_messages(
    session: Session,
    method_ids: Collection[int],
    *,
    company_id: int,
    customer_id: int,
    now: datetime,
) -> int:
    """Before contact methods are deleted: settle the messages addressed to them, as no
    foreign key does it (migration 0014). A message still ``queued`` will not be sent: it is
    ``suppressed`` with ``no_recipient`` and a history row saying why. The others keep their
    row with the method id cleared, as ``ON DELETE SET NULL`` did (one ``sending`` is in a
    provider's hands or is reconciled by the worker). Returns how many were suppressed.

    The queued ones are locked first, so a worker that has them in its batch finishes first
    (it then finds them ``sending``) or finds them settled afterwards. Should a method be
    deleted some other way, the worker still answers ``no_recipient`` for an id whose
    method is gone.

    The methods are the customer's: the messages are found through the customer's index
    (``ix_messages_company_customer``; ``contact_method_id`` has none, as campaigns write
    a million rows at a time), not by a scan of the whole table."""
    ids = sorted(set(method_ids))
    if not ids:
        return 0
    mine = (Message.company_id == company_id, Message.customer_id == customer_id)
    queued = session.execute(
        select(Message.id, Message.company_id)
        .where(*mine, Message.contact_method_id.in_(ids), Message.status == "queued")
        .order_by(Message.id)
        .with_for_update()
    ).all()
    if queued:
        session.execute(
            update(Message)
            .where(Message.id.in_([m for m, _ in queued]), Message.status == "queued")
            .values(
                status="suppressed",
                reasons=[reason("no_recipient", METHOD_DELETED)],
                updated_at=now,
            )
            .execution_options(synchronize_session="fetch")
        )
        session.execute(
            insert(MessageEvent),
            [
                {
                    "company_id": company_id,
                    "message_id": message_id,
                    "status": "suppressed",
                    "detail": f"not sent: {METHOD_DELETED} before delivery",
                    "at": now,
                }
                for message_id, company_id in queued
            ],
        )
    session.execute(
        update(Message)
        .where(*mine, Message.contact_method_id.in_(ids))
        .values(contact_method_id=None)
        .execution_options(synchronize_session="fetch")
    )
    return len(queued)


def _change_value(
    session: Session, *, method: ContactMethod, value: str, actor: str | None, now: datetime
) -> None:
    old_value = method.value
    method.value = value
    if method.kind != "phone":
        return
    # Consent to marketing texts belongs to a number, not to the row that held it: a new
    # number starts without the old one's opt-in. An opt-out stays; only the customer
    # can lift it, and keeping it errs on the side of not texting.
    if method.marketing_sms_status in ("opted_in", "pending"):
        set_marketing_sms_status(
            session,
            method=method,
            status="none",
            source="office",
            actor=actor,
            wording=f"number changed from {old_value}; consent stays with the old number",
            at=now,
        )
    _inherit_opt_out(session, method=method, now=now)


def _inherit_opt_out(session: Session, *, method: ContactMethod, now: datetime) -> None:
    """A number that opted out anywhere in the company stays opted out on a new row."""
    if method.kind != "phone" or method.marketing_sms_status == "opted_out":
        return
    opted_out = session.scalar(
        select(ContactMethod.id)
        .where(
            ContactMethod.company_id == method.company_id,
            ContactMethod.kind == "phone",
            ContactMethod.value == method.value,
            ContactMethod.marketing_sms_status == "opted_out",
            ContactMethod.id != method.id,
        )
        .limit(1)
    )
    if opted_out is not None:
        set_marketing_sms_status(
            session,
            method=method,
            status="opted_out",
            source="system",
            wording=f"the number already opted out (contact method {opted_out})",
            reference=f"contact_method:{opted_out}",
            at=now,
        )


def _record(
    session: Session,
    *,
    method: ContactMethod,
    field: str,
    old: bool | None,
    new: bool,
    actor: str | None,
    now: datetime,
) -> None:
    record_consent_event(
        session,
        company_id=method.company_id,
        customer_id=method.customer_id,
        contact_method_id=method.id,
        subject=method.value,
        field=field,
        old_value=old,
        new_value=new,
        source="office",
        actor=actor,
        at=now,
    )
