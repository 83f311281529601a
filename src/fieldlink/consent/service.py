"""Consent changes with their audit trail, and the per-company email suppression list.

Who may change what (DESIGN.md "Consent rules"; ServiceTitan reference 003):
- Marketing SMS: only the customer opts in — by keyword, web form or confirming an opt-in
  request; anyone's STOP opts out. The office path (``office_set_marketing_sms_status``
  in ``consent/changes.py``) can only opt out and never resubscribes.
- Marketing email: the customer unsubscribes (link, reply, complaint); the office may
  resubscribe by clearing ``do_not_send_promotional_emails``.
Every change writes a ``ConsentEvent`` through ``record_consent_event``. Nothing commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.consent.changes import (
    office_set_marketing_sms_status,
    record_consent_event,
    set_marketing_sms_status,
)
from fieldlink.consent.models import SUPPRESSION_REASONS, ConsentEvent, Suppression
from fieldlink.customers.models import ContactMethod, Customer
from fieldlink.db import get_scoped
from fieldlink.errors import Forbidden, ValidationFailed
from fieldlink.validation import normalise_email

CUSTOMER_OPT_IN_SOURCES = ("keyword", "web_form", "opt_in_request")

__all__ = [
    "add_suppression",
    "customer_opt_in_sms",
    "customer_opt_out_sms",
    "office_resubscribe_email",
    "office_set_marketing_sms_status",
    "remove_suppression",
    "unsubscribe_email",
]


def _mobiles_with_number(session: Session, *, company_id: int, phone: str) -> list[ContactMethod]:
    return list(
        session.scalars(
            select(ContactMethod)
            .where(
                ContactMethod.company_id == company_id,
                ContactMethod.kind == "phone",
                ContactMethod.value == phone,
            )
            .order_by(ContactMethod.id)
        )
    )


def customer_opt_in_sms(
    session: Session,
    *,
    company_id: int,
    phone: str,
    source: str,
    wording: str,
    reference: str | None = None,
    at: datetime,
    methods: list[ContactMethod] | None = None,
) -> list[ConsentEvent]:
    """The customer opts ``phone`` (E.164) in to marketing texts; returns the events
    (``methods``: the company's phone methods with that number, when the caller has them).

    TCPA/CTIA: consent is the number holder's own act, so ``source`` must be a customer
    channel (``keyword``, ``web_form``, ``opt_in_request``) and ``wording`` the exact text
    received or shown. Consent is per phone number: every mobile method of the company with
    that number is opted in, and its ``marketing_updates`` turned on — the customer asked
    for marketing texts, so the office flag must not silently swallow the request. An
    empty list means nothing changed (a repeat START gets no second confirmation).
    """
    if source not in CUSTOMER_OPT_IN_SOURCES:
        raise Forbidden(
            "only the customer can opt in to marketing texts (keyword, web form or "
            "confirming an opt-in request)",
            code="office_cannot_opt_in",
        )
    events: list[ConsentEvent] = []
    if methods is None:
        methods = _mobiles_with_number(session, company_id=company_id, phone=phone)
    for method in methods:
        if method.phone_type != "mobile":
            continue
        event = set_marketing_sms_status(
            session,
            method=method,
            status="opted_in",
            source=source,
            wording=wording,
            reference=reference,
            at=at,
        )
        if event is not None:
            events.append(event)
        if not method.marketing_updates:
            method.marketing_updates = True
            events.append(
                record_consent_event(
                    session,
                    company_id=company_id,
                    customer_id=method.customer_id,
                    contact_method_id=method.id,
                    subject=method.value,
                    field="marketing_updates",
                    old_value=False,
                    new_value=True,
                    source=source,
                    wording=wording,
                    reference=reference,
                    at=at,
                )
            )
    return events


def customer_opt_out_sms(
    session: Session,
    *,
    company_id: int,
    phone: str,
    source: str,
    wording: str | None = None,
    reference: str | None = None,
    at: datetime,
    methods: list[ContactMethod] | None = None,
) -> list[ConsentEvent]:
    """``phone`` opts out of marketing texts (STOP & co., a form, carrier error 21610);
    ``methods`` as for :func:`customer_opt_in_sms`.

    FCC TCPA revocation rule (2025): a revocation by any reasonable means is honoured at
    once, for every method holding the number. An empty list means it was already opted
    out: CTIA allows one confirmation per change, so the caller sends none.
    """
    events: list[ConsentEvent] = []
    if methods is None:
        methods = _mobiles_with_number(session, company_id=company_id, phone=phone)
    for method in methods:
        event = set_marketing_sms_status(
            session,
            method=method,
            status="opted_out",
            source=source,
            wording=wording,
            reference=reference,
            at=at,
        )
        if event is not None:
            events.append(event)
    return events


def _set_promotional_flag(
    session: Session,
    *,
    customer: Customer,
    value: bool,
    source: str,
    actor: str | None,
    wording: str | None,
    reference: str | None,
    at: datetime,
) -> ConsentEvent | None:
    old = customer.do_not_send_promotional_emails
    if old == value:
        return None
    customer.do_not_send_promotional_emails = value
    return record_consent_event(
        session,
        company_id=customer.company_id,
        customer_id=customer.id,
        contact_method_id=None,
        subject=f"customer {customer.id}",
        field="do_not_send_promotional_emails",
        old_value=old,
        new_value=value,
        source=source,
        actor=actor,
        wording=wording,
        reference=reference,
        at=at,
    )


def unsubscribe_email(
    session: Session,
    *,
    company_id: int,
    email: str,
    source: str = "web_form",
    wording: str | None = None,
    reference: str | None = None,
    at: datetime,
) -> list[ConsentEvent]:
    """The holder of ``email`` unsubscribes from marketing email, effective at once.

    CAN-SPAM §5(a)(4) (15 U.S.C. §7704): the address goes on the suppression list and
    every customer holding it gets ``do_not_send_promotional_emails``.
    """
    address = _normalised(email)
    events: list[ConsentEvent] = []
    _, event = _add_suppression(
        session,
        company_id=company_id,
        email=address,
        reason="unsubscribed",
        detail=wording,
        source=source,
        actor=None,
        at=at,
    )
    if event is not None:
        events.append(event)
    holders = session.scalars(
        select(Customer)
        .join(ContactMethod, ContactMethod.customer_id == Customer.id)
        .where(
            ContactMethod.company_id == company_id,
            ContactMethod.kind == "email",
            ContactMethod.value == address,
        )
        .distinct()
        .order_by(Customer.id)
    ).all()
    for customer in holders:
        event = _set_promotional_flag(
            session,
            customer=customer,
            value=True,
            source=source,
            actor=None,
            wording=wording,
            reference=reference,
            at=at,
        )
        if event is not None:
            events.append(event)
    return events


def office_resubscribe_email(
    session: Session, *, customer: Customer, actor: str, at: datetime
) -> list[ConsentEvent]:
    """Office staff resubscribe a customer to marketing email (ServiceTitan: "deselect Do
    not send promotional emails"). Also lifts the customer's addresses' ``unsubscribed``
    suppressions; bounce and complaint suppressions stay — they protect deliverability
    and only a deliberate DELETE of the suppression lifts them."""
    events: list[ConsentEvent] = []
    event = _set_promotional_flag(
        session,
        customer=customer,
        value=False,
        source="office",
        actor=actor,
        wording=None,
        reference=None,
        at=at,
    )
    if event is not None:
        events.append(event)
    emails = select(ContactMethod.value).where(
        ContactMethod.customer_id == customer.id, ContactMethod.kind == "email"
    )
    unsubscribed = session.scalars(
        select(Suppression).where(
            Suppression.company_id == customer.company_id,
            Suppression.reason == "unsubscribed",
            Suppression.email.in_(emails),
        )
    ).all()
    for row in unsubscribed:
        events.append(_delete_suppression(session, row=row, actor=actor, at=at))
    return events


def add_suppression(
    session: Session,
    *,
    company_id: int,
    email: str,
    reason: str,
    detail: str | None = None,
    source: str = "office",
    actor: str | None = None,
    at: datetime,
) -> tuple[Suppression, bool]:
    """Put ``email`` (normalised to lower case) on the company's suppression list.

    Idempotent: an address already listed keeps its first row and reason; returns
    ``(row, created)``.
    """
    row, event = _add_suppression(
        session,
        company_id=company_id,
        email=_normalised(email),
        reason=reason,
        detail=detail,
        source=source,
        actor=actor,
        at=at,
    )
    return row, event is not None


def remove_suppression(
    session: Session, *, company_id: int, suppression_id: int, actor: str, at: datetime
) -> ConsentEvent:
    """The office takes an address off the suppression list (404 for another company's)."""
    row: Suppression = get_scoped(session, Suppression, suppression_id, company_id, "suppression")
    return _delete_suppression(session, row=row, actor=actor, at=at)


def _normalised(email: str) -> str:
    try:
        return normalise_email(email)
    except ValueError as exc:
        raise ValidationFailed("email", str(exc)) from exc


def _add_suppression(
    session: Session,
    *,
    company_id: int,
    email: str,
    reason: str,
    detail: str | None,
    source: str,
    actor: str | None,
    at: datetime,
) -> tuple[Suppression, ConsentEvent | None]:
    if reason not in SUPPRESSION_REASONS:
        raise ValidationFailed("reason", f"must be one of {', '.join(SUPPRESSION_REASONS)}")
    existing = session.scalar(
        select(Suppression).where(Suppression.company_id == company_id, Suppression.email == email)
    )
    if existing is not None:
        return existing, None
    row = Suppression(
        company_id=company_id, email=email, reason=reason, detail=detail, created_at=at
    )
    session.add(row)
    session.flush()
    event = record_consent_event(
        session,
        company_id=company_id,
        customer_id=None,
        contact_method_id=None,
        subject=email,
        field="suppression",
        old_value=None,
        new_value=reason,
        source=source,
        actor=actor,
        wording=detail,
        at=at,
    )
    return row, event


def _delete_suppression(
    session: Session, *, row: Suppression, actor: str, at: datetime
) -> ConsentEvent:
    event = record_consent_event(
        session,
        company_id=row.company_id,
        customer_id=None,
        contact_method_id=None,
        subject=row.email,
        field="suppression",
        old_value=row.reason,
        new_value=None,
        source="office",
        actor=actor,
        at=at,
    )
    session.delete(row)
    session.flush()
    return event
