"""What recipients do with campaign messages: unsubscribe, confirm opt-in, open, click."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.campaigns.content import Recipient, variables
from fieldlink.campaigns.models import CampaignEvent
from fieldlink.campaigns.tracking import CampaignLinks
from fieldlink.consent.changes import record_consent_event
from fieldlink.consent.models import Suppression
from fieldlink.consent.rules import EMAIL_DORMANT_TAG, OPTED_IN_TAG, looks_like_email
from fieldlink.consent.service import unsubscribe_email
from fieldlink.customers.models import ContactMethod, Customer, CustomerTag
from fieldlink.errors import Conflict, NotFound
from fieldlink.messaging.models import Message
from fieldlink.messaging.service import queue_message

UNSUBSCRIBE_WORDING = "Unsubscribe from marketing emails (link in a campaign email)"
ONE_CLICK_WORDING = "List-Unsubscribe one-click (RFC 8058) from a campaign email"
OPT_IN_SUBJECT = "Please confirm: emails from {{ company.name }}"
OPT_IN_BODY = (
    "Hi {{ contact.first_name }},\n\nPlease confirm you'd like offers and news by email "
    "from {{ company.name }}: {{ link }}\n\nIf you didn't ask for this, ignore this email "
    "and you won't hear from us.\n\n{{ company.name }}"
)
OPT_IN_WORDING = "Confirmed the email opt-in link (double opt-in)"


def campaign_id_of(message: Message) -> int | None:
    ref = message.subject_ref or ""
    tail = ref.removeprefix("campaign:")
    return int(tail) if ref.startswith("campaign:") and tail.isdigit() else None


def is_unsubscribed(session: Session, *, message: Message) -> bool:
    return (
        session.scalar(
            select(Suppression.id).where(
                Suppression.company_id == message.company_id,
                Suppression.email == (message.to or "").lower(),
            )
        )
        is not None
    )


def unsubscribe_by_link(
    session: Session, *, message: Message, one_click: bool, now: datetime
) -> None:
    """CAN-SPAM §7704(a)(4) and RFC 8058: the address that got ``message`` is unsubscribed
    at once (suppression + every holder's promotional-email flag), with the evidence;
    the campaign's report counts it once."""
    if message.channel != "email" or not message.to:
        raise NotFound("nothing to unsubscribe", code="link_not_found")
    unsubscribe_email(
        session,
        company_id=message.company_id,
        email=message.to,
        source="web_form",
        wording=ONE_CLICK_WORDING if one_click else UNSUBSCRIBE_WORDING,
        reference=message.reference,
        at=now,
    )
    _record_once(session, message, "unsubscribe", now=now)


def _record_once(session: Session, message: Message, kind: str, *, now: datetime) -> None:
    campaign_id = campaign_id_of(message)
    if campaign_id is None:
        return
    seen = session.scalar(
        select(CampaignEvent.id).where(
            CampaignEvent.message_id == message.id, CampaignEvent.kind == kind
        )
    )
    if seen is None:
        session.add(_event(message, campaign_id, kind, None, now))


def _event(
    message: Message, campaign_id: int, kind: str, url: str | None, now: datetime
) -> CampaignEvent:
    return CampaignEvent(
        company_id=message.company_id,
        campaign_id=campaign_id,
        message_id=message.id,
        customer_id=message.customer_id,
        kind=kind,
        url=url,
        at=now,
    )


def record_engagement(
    session: Session, *, message: Message, kind: str, url: str | None, now: datetime
) -> None:
    """An open (pixel) or click (redirect). The customer is engaged, so no longer dormant."""
    campaign_id = campaign_id_of(message)
    if campaign_id is None:
        return
    session.add(_event(message, campaign_id, kind, url, now))
    if message.customer_id is not None:
        session.execute(
            delete(CustomerTag).where(
                CustomerTag.customer_id == message.customer_id,
                CustomerTag.tag == EMAIL_DORMANT_TAG,
            )
        )


def request_email_opt_in(
    session: Session,
    *,
    company: Company,
    customer: Customer,
    links: CampaignLinks,
    now: datetime,
) -> Message:
    """Double opt-in: email the customer's first valid address a signed confirmation link.
    Not to an address that unsubscribed or is suppressed (409): asking again is marketing."""
    methods = session.scalars(
        select(ContactMethod)
        .where(ContactMethod.customer_id == customer.id, ContactMethod.kind == "email")
        .order_by(ContactMethod.id)
    ).all()
    method = next((m for m in methods if looks_like_email(m.value)), None)
    if method is None:
        raise Conflict("the customer has no email address", code="no_email_address")
    suppressed = session.scalar(
        select(Suppression.id).where(
            Suppression.company_id == company.id, Suppression.email == method.value.lower()
        )
    )
    if suppressed is not None or customer.do_not_send_promotional_emails:
        raise Conflict("the customer unsubscribed from marketing email", code="email_unsubscribed")
    link = links.opt_in(company_id=company.id, method_id=method.id, now=now)
    data = variables(company, Recipient(customer.name, None))
    data["link"] = link
    return queue_message(
        session,
        company=company,
        touchpoint="opt_in_request",
        channel="email",
        customer=customer,
        contact=None,
        method=method,
        variables=data,
        # One request per address per day: a double click doesn't send two.
        idempotency_key=f"email_opt_in:{method.id}:{now.date().isoformat()}",
        now=now,
        template=(OPT_IN_SUBJECT, OPT_IN_BODY),
    )


def confirm_email_opt_in(session: Session, *, method: ContactMethod, now: datetime) -> bool:
    """The address holder confirmed: tag the customer ``Opted In`` (once), with evidence."""
    tagged = session.scalar(
        select(CustomerTag.id).where(
            CustomerTag.customer_id == method.customer_id, CustomerTag.tag == OPTED_IN_TAG
        )
    )
    if tagged is not None:
        return False
    session.add(
        CustomerTag(company_id=method.company_id, customer_id=method.customer_id, tag=OPTED_IN_TAG)
    )
    record_consent_event(
        session,
        company_id=method.company_id,
        customer_id=method.customer_id,
        contact_method_id=method.id,
        subject=method.value,
        field="tag",
        old_value=None,
        new_value=OPTED_IN_TAG,
        source="web_form",
        wording=OPT_IN_WORDING,
        at=now,
    )
    return True
