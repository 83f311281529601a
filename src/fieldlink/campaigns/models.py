"""Marketing campaigns and what recipients did with them (opens, clicks, unsubscribes).

A campaign's messages are ordinary ``messages`` rows (touchpoint ``campaign``) carrying
``subject_ref = "campaign:<id>"``; the index below serves the report and cancel queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fieldlink.db import Base, JSONType, UTCDateTime, utcnow
from fieldlink.messaging.models import Message

CAMPAIGN_CHANNELS = ("email", "marketing_sms", "direct_mail")
CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")
EVENT_KINDS = ("open", "click", "unsubscribe")


class Campaign(Base):
    """An email, marketing-SMS or direct-mail campaign to an audience of customers."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # At send: the audience as resolved then ({eligible, blocked: {code: n}}).
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    queued: Mapped[int] = mapped_column(Integer, default=0)
    # The throttle slot of the campaign's last message: the next campaign starts after it.
    last_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def ref(self) -> str:
        return campaign_ref(self.id)


def campaign_ref(campaign_id: int) -> str:
    """The ``subject_ref`` of a campaign's messages."""
    return f"campaign:{campaign_id}"


class CampaignEvent(Base):
    """Something a recipient did with a campaign message: opened, clicked, unsubscribed."""

    __tablename__ = "campaign_events"
    __table_args__ = (Index("ix_campaign_events_campaign_kind", "campaign_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Campaign reports and cancel select a campaign's messages by subject_ref; declared here
# (with the campaigns migration) so messaging's model stays as it is.
Index("ix_messages_company_subject_ref", Message.company_id, Message.subject_ref)
