"""The delivery hook of campaign messages, called by ``messaging.send`` for its batch.

Campaign messages are written set-based without per-recipient text; here, just before
the send, each is personalised (first name), given its unsubscribe link, CAN-SPAM footer,
RFC 8058 headers and tracking, or — for texts — held to the recipient's quiet hours. A
message of a cancelled campaign is held back. Consent itself is re-checked by the send
handler, which sees touchpoint ``campaign`` as marketing (messaging.service.consent_channel).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as phone_timezone
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import settings_of
from fieldlink.campaigns import rules
from fieldlink.campaigns.content import Recipient, email_footer, render_campaign
from fieldlink.campaigns.models import Campaign
from fieldlink.campaigns.service import CANCELLED
from fieldlink.campaigns.tracking import CampaignLinks
from fieldlink.customers.models import Contact, ContactMethod, Customer, Location
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging.layout import email_html
from fieldlink.messaging.models import Message
from fieldlink.messaging.reasons import reason
from fieldlink.messaging.service import record_status
from fieldlink.messaging.templates import TemplateInvalid
from fieldlink.outbox.registry import BatchContext

_links: CampaignLinks | None = None


def configure_links(links: LinkMaker) -> None:
    """Set the base URL and secret for links made at delivery (tests; the worker reads
    them from Settings on first use)."""
    global _links
    _links = CampaignLinks(links)


def _current_links() -> CampaignLinks:
    global _links
    if _links is None:
        from fieldlink.config import get_settings

        settings = get_settings()
        _links = CampaignLinks(LinkMaker(settings.base_url, settings.secret_key.get_secret_value()))
    return _links


@dataclass
class Prepared:
    """How to send one campaign message: extra email headers and HTML; or why not now."""

    headers: dict[str, str] = field(default_factory=dict)
    html: str | None = None
    hold: dict[str, str] | None = None  # suppress with this reason
    defer_until: datetime | None = None  # quiet hours or a daily cap: try again then
    defer_reason: str = "quiet hours at the recipient"


def _campaign_id(message: Message) -> int | None:
    ref = message.subject_ref or ""
    if message.touchpoint != "campaign" or not ref.startswith("campaign:"):
        return None
    tail = ref.removeprefix("campaign:")
    return int(tail) if tail.isdigit() else None


def prepare_campaign_messages(
    session: Session, messages: Iterable[Message], *, now: datetime
) -> dict[int, Prepared]:
    """Personalise the batch's campaign messages (others are ignored); one query per kind
    of row for the whole batch."""
    wanted = [(m, cid) for m in messages if (cid := _campaign_id(m)) is not None]
    if not wanted:
        return {}
    campaigns = {
        c.id: c
        for c in session.scalars(select(Campaign).where(Campaign.id.in_({c for _, c in wanted})))
    }
    method_ids = {m.contact_method_id for m, _ in wanted if m.contact_method_id}
    contacts = {
        method_id: (contact_id, name)
        for method_id, contact_id, name in session.execute(
            select(ContactMethod.id, Contact.id, Contact.name)
            .join(Contact, Contact.id == ContactMethod.contact_id)
            .where(ContactMethod.id.in_(method_ids))
        )
    }
    customer_ids = {m.customer_id for m, _ in wanted if m.customer_id}
    # One query for the batch's customers (the send handler reads its batch as Core rows,
    # so they are not in the session already: a get() each would be a SELECT each).
    customers = {
        c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
    }
    places = _places(session, customer_ids) if any(m.channel == "sms" for m, _ in wanted) else {}
    out: dict[int, Prepared] = {}
    for message, campaign_id in wanted:
        campaign = campaigns.get(campaign_id)
        if campaign is None or campaign.status == "cancelled":
            out[message.id] = Prepared(hold=CANCELLED)
            continue
        company = session.get(Company, message.company_id)
        customer = customers.get(message.customer_id) if message.customer_id else None
        assert company is not None
        contact_id, contact_name = contacts.get(message.contact_method_id or 0, (None, None))
        message.contact_id = message.contact_id or contact_id
        if customer is not None:
            message.language = customer.language or "en"
        recipient = Recipient(customer.name if customer else "", contact_name)
        try:
            out[message.id] = _prepare(
                message, campaign, company, recipient, places.get(message.customer_id), now=now
            )
        except TemplateInvalid as exc:
            out[message.id] = Prepared(hold=reason("template_error", str(exc)))
    return out


def _places(
    session: Session, customer_ids: set[int]
) -> dict[int | None, tuple[str | None, str | None]]:
    """Each customer's first location: (region, time zone)."""
    found: dict[int | None, tuple[str | None, str | None]] = {}
    rows = session.execute(
        select(Location.customer_id, Location.region, Location.time_zone)
        .where(Location.customer_id.in_(customer_ids))
        .order_by(Location.customer_id, Location.id)
    )
    for customer_id, region, zone in rows:
        found.setdefault(customer_id, (region, zone))
    return found


def _prepare(
    message: Message,
    campaign: Campaign,
    company: Company,
    recipient: Recipient,
    place: tuple[str | None, str | None] | None,
    *,
    now: datetime,
) -> Prepared:
    rendered = render_campaign(
        company,
        channel=campaign.channel,
        subject=campaign.subject,
        template=campaign.template,
        recipient=recipient,
    )
    message.subject, message.body = rendered.subject, rendered.body
    if message.channel == "sms":
        zone, state = _where(message.to or "", place, company)
        settings = settings_of(company)
        window = rules.allowed_window(
            rules.QuietHours(settings.quiet_hours.start, settings.quiet_hours.end), state
        )
        quiet = rules.next_allowed(now, zone, window)
        capped = None
        if state and state.strip().upper() in rules.DAILY_CAP_STATES:
            capped = rules.capped_until(state, _recent_texts(message, now), now)
        if capped is not None and (quiet is None or capped > quiet):
            # The cap's end may fall in the night: the quiet-hours check runs again then.
            return Prepared(defer_until=capped, defer_reason="3 marketing texts in 24 hours")
        return Prepared(defer_until=quiet)
    links = _current_links()
    unsubscribe = links.unsubscribe(company_id=company.id, message_id=message.id, now=now)
    text = f"{rendered.body}\n\n{email_footer(company, unsubscribe)}"
    message.body = text
    html = email_html(company, text)
    if settings_of(company).email_tracking:
        html = links.track_html(
            html, company_id=company.id, message_id=message.id, keep=unsubscribe, now=now
        )
    # RFC 8058 §3.1: an https List-Unsubscribe URI plus List-Unsubscribe-Post with exactly
    # "List-Unsubscribe=One-Click"; the mail client POSTs to it without cookies.
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return Prepared(headers=headers, html=html)


def _recent_texts(message: Message, now: datetime) -> list[datetime]:
    """When marketing texts went to this number in the last 24 hours."""
    session = object_session(message)
    if session is None:
        return []
    return [
        t
        for t in session.scalars(
            select(Message.sent_at).where(
                Message.company_id == message.company_id,
                Message.to == message.to,
                Message.channel == "sms",
                Message.touchpoint == "campaign",
                Message.sent_at > now - timedelta(hours=24),
            )
        )
        if t is not None
    ]


def _where(
    number: str, place: tuple[str | None, str | None] | None, company: Company
) -> tuple[str, str | None]:
    """The recipient's time zone and state: from their location, else the number's area
    code (TCPA: the called party's local time), else the company's zone."""
    region, zone = place or (None, None)
    try:
        parsed = phonenumbers.parse(number, company.country or "US")
        zones = [z for z in phone_timezone.time_zones_for_number(parsed) if "/" in z]
        state = geocoder.description_for_number(parsed, "en") or None
    except phonenumbers.NumberParseException:
        zones, state = [], None
    return zone or (zones[0] if zones else company.time_zone), region or state


def held(batch: BatchContext, job_id: int, message: Message, prepared: Prepared | None) -> bool:
    """Apply a hold of ``prepare_campaign_messages``: True if the message goes not now."""
    if prepared is None:
        return False
    if prepared.hold is not None:
        message.reasons = [prepared.hold]
        record_status(
            batch.session, message, "suppressed", now=batch.now, detail=prepared.hold["code"]
        )
        return True
    if prepared.defer_until is not None:
        # TCPA quiet hours and state caps: deferred, not dropped.
        until = prepared.defer_until.isoformat()
        detail = f"{prepared.defer_reason}: deferred to {until}"
        record_status(batch.session, message, "queued", now=batch.now, detail=detail)
        delay = max(1.0, (prepared.defer_until - batch.now).total_seconds())
        batch.retry(job_id, detail, delay)
        return True
    return False
