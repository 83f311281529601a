"""Read side of campaigns: the report, and direct-mail recipients."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.campaigns.audience import audience_filter
from fieldlink.campaigns.models import Campaign, CampaignEvent
from fieldlink.consent.audience import eligible_recipients
from fieldlink.consent.queries import company_consent
from fieldlink.customers.models import Customer, Location
from fieldlink.messaging.models import Message


def report(session: Session, *, campaign: Campaign) -> dict[str, Any]:
    """Sent, delivered, failed, suppressed by reason (blocked at send by the consent
    engine, or at delivery), unsubscribes, unique opens and clicks."""
    by_status = dict(
        session.execute(
            select(Message.status, func.count())
            .where(Message.company_id == campaign.company_id, Message.subject_ref == campaign.ref)
            .group_by(Message.status)
        ).all()
    )
    suppressed: Counter[str] = Counter(
        {k: int(v) for k, v in (campaign.snapshot or {}).get("blocked", {}).items() if v}
    )
    if by_status.get("suppressed"):
        for reasons in session.scalars(
            select(Message.reasons).where(
                Message.company_id == campaign.company_id,
                Message.subject_ref == campaign.ref,
                Message.status == "suppressed",
            )
        ):
            for r in reasons or [{"code": "unknown"}]:
                suppressed[r["code"]] += 1
    events = dict(
        session.execute(
            select(CampaignEvent.kind, func.count(func.distinct(CampaignEvent.message_id)))
            .where(CampaignEvent.campaign_id == campaign.id)
            .group_by(CampaignEvent.kind)
        ).all()
    )
    sent = by_status.get("sent", 0) + by_status.get("delivered", 0)
    if campaign.channel == "direct_mail" and campaign.status == "sent":
        sent = int((campaign.snapshot or {}).get("eligible", 0))
    return {
        "campaign_id": campaign.id,
        "status": campaign.status,
        "audience": int((campaign.snapshot or {}).get("eligible", 0)),
        "queued": campaign.queued,
        "pending": by_status.get("queued", 0) + by_status.get("sending", 0),
        "sent": sent,
        "delivered": by_status.get("delivered", 0),
        "failed": by_status.get("failed", 0) + by_status.get("undelivered", 0),
        "suppressed": dict(suppressed),
        "unsubscribes": events.get("unsubscribe", 0),
        "opens": events.get("open", 0),
        "clicks": events.get("click", 0),
    }


@dataclass(frozen=True)
class MailingAddress:
    customer_id: int
    name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postcode: str
    country: str

    def lines(self) -> list[str]:
        last = " ".join(p for p in (f"{self.city},", self.region, self.postcode) if p)
        if not self.region:
            last = f"{self.city} {self.postcode}"
        out = [self.name, self.line1, *([self.line2] if self.line2 else []), last]
        if self.country != "US":
            out.append(self.country)
        return out


def mailing_list(
    session: Session, *, company: Company, campaign: Campaign
) -> Iterator[MailingAddress]:
    """Every customer the campaign may mail, at their first valid address (one piece per
    customer record), in customer order; streamed, so a large list never sits in memory."""
    recipients = eligible_recipients(
        company.id,
        "direct_mail",
        company_consent(company),
        audience_filter(campaign.audience),
        one_per_customer=True,
    ).subquery("recipients")
    stmt = (
        select(
            Customer.id,
            Customer.name,
            Location.line1,
            Location.line2,
            Location.city,
            Location.region,
            Location.postcode,
            Location.country,
        )
        .join(recipients, recipients.c.location_id == Location.id)
        .join(Customer, Customer.id == Location.customer_id)
        .order_by(Customer.id)
    )
    for row in session.execute(stmt, execution_options={"yield_per": 2000}):
        yield MailingAddress(*row)  # type: ignore[arg-type]
