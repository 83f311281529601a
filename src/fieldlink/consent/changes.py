"""Writing consent changes: the audit trail and the marketing-SMS status of a number.

Every change of a consent-relevant value (``marketing_sms_status``, ``marketing_updates``
and ``job_notifications`` on a contact method; ``do_not_mail``, ``do_not_service`` and
``do_not_send_promotional_emails`` on a customer) goes through here, so the history answers
"who changed what, when, how" (DESIGN.md, "Consent evidence is kept for every opt-in and
opt-out"). Nothing here commits; the caller's unit of work does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.consent.models import CONSENT_SOURCES, ConsentEvent
from fieldlink.customers.models import MARKETING_SMS_STATES, ContactMethod
from fieldlink.errors import Forbidden, ValidationFailed

ConsentValue = str | bool | None


def _as_text(value: ConsentValue) -> str | None:
    # Booleans are stored as "true"/"false" so one column holds flags and statuses alike.
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def record_consent_event(
    session: Session,
    *,
    company_id: int,
    customer_id: int | None,
    contact_method_id: int | None,
    subject: str,
    field: str,
    old_value: ConsentValue,
    new_value: ConsentValue,
    source: str,
    actor: str | None = None,
    wording: str | None = None,
    reference: str | None = None,
    at: datetime,
) -> ConsentEvent:
    """Append one row to the consent history and return it (flushed, so it has an id).

    ``subject`` names what the consent is about in words that outlive the row it points at
    (the email address or E.164 number, or ``"customer <id>"``): a deleted method leaves
    its history behind with ``contact_method_id`` set to NULL. ``old_value`` is ``None``
    for a value set when its method or customer was created. ``source`` is one of
    ``CONSENT_SOURCES``; ``wording`` is the exact text shown or received and ``reference``
    the message or request id, where there is one.
    """
    if source not in CONSENT_SOURCES:
        raise ValueError(f"unknown consent source {source!r}")
    event = ConsentEvent(
        company_id=company_id,
        customer_id=customer_id,
        contact_method_id=contact_method_id,
        subject=subject,
        field=field,
        old_value=_as_text(old_value),
        new_value=_as_text(new_value),
        source=source,
        actor=actor,
        wording=wording,
        reference=reference,
        at=at,
    )
    session.add(event)
    session.flush()
    return event


def set_marketing_sms_status(
    session: Session,
    *,
    method: ContactMethod,
    status: str,
    source: str,
    actor: str | None = None,
    wording: str | None = None,
    reference: str | None = None,
    at: datetime,
) -> ConsentEvent | None:
    """Set one method's ``marketing_sms_status`` with its evidence, without any policy.

    Returns the event, or ``None`` when the status already had that value (a repeat STOP
    or a PATCH that sends back what it read changes nothing and records nothing). Callers
    enforce who may make which change: the office through
    :func:`office_set_marketing_sms_status`, the customer through keywords and forms.
    """
    if status not in MARKETING_SMS_STATES:
        raise ValueError(f"unknown marketing SMS status {status!r}")
    old = method.marketing_sms_status
    if old == status:
        return None
    method.marketing_sms_status = status
    method.marketing_sms_source = source
    method.marketing_sms_changed_at = at
    method.marketing_sms_evidence = wording or (f"set by {actor}" if actor else None)
    return record_consent_event(
        session,
        company_id=method.company_id,
        customer_id=method.customer_id,
        contact_method_id=method.id,
        subject=method.value,
        field="marketing_sms_status",
        old_value=old,
        new_value=status,
        source=source,
        actor=actor,
        wording=wording,
        reference=reference,
        at=at,
    )


def office_set_marketing_sms_status(
    session: Session,
    *,
    method: ContactMethod,
    status: str,
    actor: str | None = None,
    at: datetime,
) -> list[ConsentEvent]:
    """Apply a marketing-SMS status sent by office staff; return the events written.

    Only the customer can opt in (DESIGN.md, "Marketing SMS"): the office may set
    ``opted_out`` and nothing else, and can never move a number out of ``opted_out``
    (403 ``office_cannot_opt_in`` / ``office_cannot_resubscribe`` /
    ``marketing_sms_status_read_only``). Sending the current value is a no-op. The status
    applies to mobile numbers only (422 otherwise). Consent is per phone number, so an
    opt-out reaches every method of the company holding the same number.
    """
    if method.kind != "phone" or method.phone_type != "mobile":
        raise ValidationFailed(
            "marketing_sms_status",
            "marketing SMS consent applies to mobile phone numbers only",
            code="marketing_sms_not_applicable",
        )
    current = method.marketing_sms_status
    if status == current:
        return []
    if status in ("opted_in", "pending"):
        raise Forbidden(
            "only the customer can opt in to marketing texts (keyword, web form or "
            "confirming an opt-in request); send an opt-in request instead",
            code="office_cannot_opt_in",
        )
    if current == "opted_out":
        raise Forbidden(
            "this number opted out of marketing texts; only the customer can opt back in",
            code="office_cannot_resubscribe",
        )
    if status != "opted_out":
        raise Forbidden(
            "the office can only set marketing_sms_status to opted_out",
            code="marketing_sms_status_read_only",
        )
    same_number = session.scalars(
        select(ContactMethod)
        .where(
            ContactMethod.company_id == method.company_id,
            ContactMethod.kind == "phone",
            ContactMethod.value == method.value,
            ContactMethod.id != method.id,
        )
        .order_by(ContactMethod.id)
    ).all()
    events = []
    for target in (method, *same_number):
        event = set_marketing_sms_status(
            session, method=target, status="opted_out", source="office", actor=actor, at=at
        )
        if event is not None:
            events.append(event)
    return events
