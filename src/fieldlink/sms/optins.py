"""Opt-in requests: a text asking a number to reply YES to marketing texts.

Sent by the office for a contact's mobile, or by the public web form for the number
typed in (double opt-in: nothing changes until the number itself answers YES, handled in
``inbound.py``). Both are SMS-pumping targets (DESIGN.md), so both go through
:func:`rules.opt_in_request_blocks` under a lock on the number's thread.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.consent.changes import set_marketing_sms_status
from fieldlink.customers.models import Contact, ContactMethod, Customer
from fieldlink.errors import Conflict, FieldlinkError, ValidationFailed
from fieldlink.messaging.models import Message
from fieldlink.messaging.service import Refs, queue_message, template_for
from fieldlink.messaging.templates import TemplateInvalid, render
from fieldlink.sms import rules
from fieldlink.sms.models import Conversation, OptInRequest
from fieldlink.sms.service import add_text, conversation_for, methods_for_phone, queue_text
from fieldlink.validation import normalise_phone

DAY = timedelta(days=1)
LIMIT_CODES = {"number_daily_limit", "ip_daily_limit", "company_daily_limit", "too_many_unanswered"}
MESSAGES = {
    "country_not_allowed": "texts go only to numbers in the company's countries",
    "number_opted_out": "this number opted out; the customer can text START to opt back in",
    "already_opted_in": "this number already receives marketing texts",
    "opt_in_request_unanswered": "this number has not answered the last request; we never "
    "send another to a number that has not answered",
    "number_daily_limit": "a request already went to this number today",
    "ip_daily_limit": "too many requests from this address today",
    "company_daily_limit": "too many opt-in requests for this company today",
    "too_many_unanswered": "too many opt-in requests are waiting for an answer",
}


class RateLimited(FieldlinkError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


def request_for_method(
    session: Session, *, company: Company, method: ContactMethod, actor: str, now: datetime
) -> OptInRequest:
    """The office asks a contact's mobile to reply YES (a transactional text, so the
    consent rules for transactional SMS apply to it: DNS or no job notifications hold it
    and the request is stored ``not_sent``)."""
    if method.kind != "phone" or method.phone_type != "mobile":
        raise ValidationFailed(
            "contact_method_id",
            "marketing SMS consent applies to mobile phone numbers only",
            code="marketing_sms_not_applicable",
        )
    conversation = _locked_thread(session, company=company, phone=method.value, now=now)
    _check(session, company=company, conversation=conversation, ip=None, now=now)
    request = _new_request(
        session,
        company=company,
        phone=method.value,
        now=now,
        source="office",
        method_id=method.id,
        ip=None,
    )
    customer = session.get(Customer, method.customer_id)
    contact = session.get(Contact, method.contact_id)
    assert customer is not None
    message = queue_message(
        session,
        company=company,
        touchpoint="opt_in_request",
        channel="sms",
        customer=customer,
        contact=contact,
        method=method,
        variables=_variables(company),
        idempotency_key=f"opt_in_request:{request.id}",
        now=now,
        refs=_refs(request),
    )
    request.message_id = message.id
    add_text(
        session,
        conversation=conversation,
        direction="outbound",
        body=message.body,
        now=now,
        message_id=message.id,
    )
    _settle(
        session,
        company=company,
        request=request,
        sent=message.status == "queued",
        wording=message.body,
        actor=actor,
        now=now,
    )
    return request


def request_from_web(
    session: Session, *, company: Company, phone: str, ip: str | None, now: datetime
) -> OptInRequest:
    """The public form asks the typed number to reply YES (double confirmation)."""
    try:
        e164 = normalise_phone(phone, default_region=company.country or "US")
    except ValueError as exc:
        raise ValidationFailed("phone", str(exc)) from exc
    conversation = _locked_thread(session, company=company, phone=e164, now=now)
    _check(session, company=company, conversation=conversation, ip=ip or "unknown", now=now)
    request = _new_request(
        session,
        company=company,
        phone=e164,
        now=now,
        source="web_form",
        method_id=None,
        ip=ip or "unknown",
    )
    source = template_for(
        session, company_id=company.id, touchpoint="opt_in_request", channel="sms", language="en"
    )
    assert source is not None
    try:
        body = render(source[0], source[1], _variables(company), channel="sms").body
    except TemplateInvalid:
        body = render(None, _FALLBACK, _variables(company), channel="sms").body
    text = queue_text(
        session,
        company=company,
        conversation=conversation,
        touchpoint="opt_in_request",
        body=body,
        blocks=[],
        idempotency_key=f"opt_in_request:{request.id}",
        now=now,
    )
    request.message_id = text.message_id
    sent = _message_status(session, text.message_id) == "queued"
    _settle(
        session,
        company=company,
        request=request,
        sent=sent,
        wording=rules.web_form_disclosure(company.name),
        actor=None,
        now=now,
    )
    return request


_FALLBACK = (
    "{{ company.name }}: reply YES to get offers and news by text. Msg&data rates may apply. "
    "Reply STOP to opt out."
)


def _variables(company: Company) -> dict[str, object]:
    return {
        "company": {
            "name": company.name,
            "phone": company.business_phone or "",
            "website": company.website or "",
            "logo_url": company.logo_url or "",
        }
    }


def _refs(request: OptInRequest) -> Refs:
    return Refs(subject_ref=f"opt_in_request:{request.id}")


def _message_status(session: Session, message_id: int | None) -> str | None:
    message = session.get(Message, message_id) if message_id else None
    return message.status if message else None


def _locked_thread(
    session: Session, *, company: Company, phone: str, now: datetime
) -> Conversation:
    conversation = conversation_for(session, company_id=company.id, phone=phone, now=now)
    # Serialise requests for one number: two clicks at once must not both pass "never
    # resend to a number that has not answered".
    session.scalars(
        select(Conversation)
        .where(Conversation.id == conversation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return conversation


def _check(
    session: Session, *, company: Company, conversation: Conversation, ip: str | None, now: datetime
) -> None:
    phone, since = conversation.phone, now - DAY
    mine = (
        select(func.count()).select_from(OptInRequest).where(OptInRequest.company_id == company.id)
    )
    sent = mine.where(OptInRequest.status != "not_sent", OptInRequest.created_at >= since)
    facts = rules.OptInFacts(
        number_region=_region(phone),
        company_countries=frozenset({company.country or "US"}),
        number_status=phone_status(session, conversation=conversation),
        unanswered_for_number=bool(
            session.scalar(
                mine.where(OptInRequest.phone == phone, OptInRequest.status == "pending")
            )
        ),
        sent_to_number_today=session.scalar(sent.where(OptInRequest.phone == phone)) or 0,
        from_ip_today=session.scalar(
            mine.where(OptInRequest.requester_ip == ip, OptInRequest.created_at >= since)
        )
        or 0
        if ip
        else 0,
        company_today=session.scalar(sent) or 0,
        company_unanswered=session.scalar(mine.where(OptInRequest.status == "pending")) or 0,
        from_web=ip is not None,
    )
    blocks = rules.opt_in_request_blocks(facts)
    if not blocks:
        return
    code = blocks[0]
    if code == "country_not_allowed":
        raise ValidationFailed("phone", MESSAGES[code], code=code)
    if code in LIMIT_CODES:
        raise RateLimited(MESSAGES[code], code=code)
    raise Conflict(MESSAGES[code], code=code)


def _region(phone: str) -> str | None:
    try:
        region: str | None = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return None
    return region


def phone_status(session: Session, *, conversation: Conversation) -> str:
    """The number's marketing-SMS status across its methods and its own keywords: an
    opt-out anywhere wins (consent is per number), then an opt-in."""
    statuses = {
        m.marketing_sms_status
        for m in methods_for_phone(
            session, company_id=conversation.company_id, phone=conversation.phone
        )
        if m.phone_type == "mobile"
    } | {conversation.keyword_status}
    for status in ("opted_out", "opted_in"):
        if status in statuses:
            return status
    return "none"


def _new_request(
    session: Session,
    *,
    company: Company,
    phone: str,
    now: datetime,
    source: str,
    method_id: int | None,
    ip: str | None,
) -> OptInRequest:
    request = OptInRequest(
        company_id=company.id,
        phone=phone,
        contact_method_id=method_id,
        source=source,
        requester_ip=ip,
        status="pending",
        created_at=now,
    )
    session.add(request)
    session.flush()
    return request


def _settle(
    session: Session,
    *,
    company: Company,
    request: OptInRequest,
    sent: bool,
    wording: str,
    actor: str | None,
    now: datetime,
) -> None:
    """A held text leaves the request ``not_sent`` (it blocks nothing later); a queued one
    marks the number's methods ``pending`` with the request as evidence."""
    if not sent:
        request.status = "not_sent"
        session.flush()
        return
    for method in methods_for_phone(session, company_id=company.id, phone=request.phone):
        if method.phone_type == "mobile" and method.marketing_sms_status == "none":
            set_marketing_sms_status(
                session,
                method=method,
                status="pending",
                source="opt_in_request" if request.source == "office" else "web_form",
                actor=actor,
                wording=wording,
                reference=f"opt_in_request:{request.id}",
                at=now,
            )
    session.flush()


def requests_for_method(
    session: Session, *, company_id: int, method: ContactMethod
) -> list[OptInRequest]:
    return list(
        session.scalars(
            select(OptInRequest)
            .where(OptInRequest.company_id == company_id, OptInRequest.phone == method.value)
            .order_by(OptInRequest.id)
        )
    )
