"""Messages (every intended message and its outcome), their history, template overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from fieldlink.db import Base, JSONType, UTCDateTime, utcnow

MESSAGE_STATUSES = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "suppressed",
)
FINAL_STATUSES = ("delivered", "undelivered", "failed", "suppressed")
# Column ``info`` key: the table an id column refers to without a foreign key (the
# data-rights export follows these as it follows foreign keys).
REFERS_TO = "refers_to"
# The predicates of the partial unique indexes that keep a campaign to one message per
# recipient (an ON CONFLICT target repeats them word for word).
CAMPAIGN_EMAIL = "campaign_id IS NOT NULL AND channel = 'email'"
CAMPAIGN_SMS = "campaign_id IS NOT NULL AND channel = 'sms'"


class Message(Base):
    """One intended message. It is stored whatever happens to it, with the reasons.

    No column is a foreign key: a campaign writes a million of these rows at once, and each
    foreign key cost a trigger per row (migrations 0013, 0014). The ids point at rows
    fieldlink never deletes, or at contacts and contact methods, whose deletes clear or
    settle the messages themselves (``customers.methods.release_messages``). ``info``
    names what each id refers to, for the data-rights export, which follows references.
    """

    __tablename__ = "messages"
    __table_args__ = (
        # The idempotency key is unique among the messages that count; a repeat trigger is
        # stored as its own `suppressed: duplicate` row with the key in `requested_key`.
        Index(
            "uq_messages_company_key",
            "company_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
            sqlite_where=text("idempotency_key IS NOT NULL"),
        ),
        # A campaign's messages leave the text key NULL: their recipient is unique per
        # campaign on integers (the customer for email, the number for texts), which costs
        # a campaign row far less than the text key's index entry (migration 0014).
        Index(
            "uq_messages_campaign_customer",
            "campaign_id",
            "customer_id",
            unique=True,
            postgresql_where=text(CAMPAIGN_EMAIL),
            sqlite_where=text(CAMPAIGN_EMAIL),
        ),
        Index(
            "uq_messages_campaign_method",
            "campaign_id",
            "contact_method_id",
            unique=True,
            postgresql_where=text(CAMPAIGN_SMS),
            sqlite_where=text(CAMPAIGN_SMS),
        ),
        Index("ix_messages_company_customer", "company_id", "customer_id"),
        # Partial: most messages (all of a campaign's) have no appointment, job or
        # provider id yet; every lookup filters on a value, which implies NOT NULL.
        Index(
            "ix_messages_company_appointment",
            "company_id",
            "appointment_id",
            postgresql_where=text("appointment_id IS NOT NULL"),
            sqlite_where=text("appointment_id IS NOT NULL"),
        ),
        Index(
            "ix_messages_provider_id",
            "provider_id",
            postgresql_where=text("provider_id IS NOT NULL"),
            sqlite_where=text("provider_id IS NOT NULL"),
        ),
        Index(
            "ix_messages_job_id",
            "job_id",
            postgresql_where=text("job_id IS NOT NULL"),
            sqlite_where=text("job_id IS NOT NULL"),
        ),
        # Metrics count the last day's messages and `fieldlink purge` finds old bodies.
        Index("ix_messages_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(Integer)
    touchpoint: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    to: Mapped[str | None] = mapped_column(String(320))
    customer_id: Mapped[int | None] = mapped_column(Integer, info={REFERS_TO: "customers"})
    contact_id: Mapped[int | None] = mapped_column(Integer, info={REFERS_TO: "contacts"})
    contact_method_id: Mapped[int | None] = mapped_column(
        Integer, info={REFERS_TO: "contact_methods"}
    )
    user_id: Mapped[int | None] = mapped_column(Integer)
    job_id: Mapped[int | None] = mapped_column(Integer, info={REFERS_TO: "jobs"})
    appointment_id: Mapped[int | None] = mapped_column(Integer, info={REFERS_TO: "appointments"})
    status_code_id: Mapped[int | None] = mapped_column(Integer)
    subject_ref: Mapped[str | None] = mapped_column(String(100))
    # Set on a campaign's messages only (``subject_ref`` is then ``campaign:<id>``).
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(5), default="en")
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    idempotency_key: Mapped[str | None] = mapped_column(String(300))
    requested_key: Mapped[str | None] = mapped_column(String(300))
    duplicate_of_id: Mapped[int | None] = mapped_column(Integer)
    provider_id: Mapped[str | None] = mapped_column(String(200))
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempt_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def reference(self) -> str:
        """Our id as carried to providers (status-callback URL, email header)."""
        return f"flm-{self.id}"


class MessageEvent(Base):
    """The history of a message: each status it passed through, when, and why."""

    __tablename__ = "message_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TemplateOverride(Base):
    """A company's own wording for one touchpoint × channel × language."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("company_id", "touchpoint", "channel", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    touchpoint: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(5), default="en")
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
