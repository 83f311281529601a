"""The company's SMS number, conversation threads, their texts, and opt-in requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldlink.db import Base, JSONType, UTCDateTime, utcnow

NUMBER_STATES = ("requested", "active", "failed")
DIRECTIONS = ("inbound", "outbound")
OPT_IN_REQUEST_STATES = ("pending", "confirmed", "declined", "not_sent")


class SmsNumber(Base):
    """The provisioning record of a company's dedicated number (one per company).

    ``requested`` until the outbox job has bought it from the provider; ``active`` copies
    the number to ``companies.sms_number``, which every sender reads.
    """

    __tablename__ = "sms_numbers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), unique=True)
    area_code: Mapped[str] = mapped_column(String(5))
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="requested")
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    provisioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Conversation(Base):
    """One SMS thread per (company, phone number), known customer or not.

    ``keyword_status`` is what the number itself last said by keyword (``none``,
    ``opted_in``, ``opted_out``): the only consent record an unknown sender has, and what
    decides whether a keyword is a change that earns a confirmation.
    """

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("company_id", "phone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    phone: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    assigned_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    route_reason: Mapped[str | None] = mapped_column(String(40))
    keyword_status: Mapped[str] = mapped_column(String(20), default="none")
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationAssignee(Base):
    """Every user the thread is routed to now (all technicians of an in-progress visit)."""

    __tablename__ = "conversation_assignees"
    __table_args__ = (Index("ix_conversation_assignees_company_user", "company_id", "user_id"),)

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))


class SmsMessage(Base):
    """One text in a thread. Inbound texts carry the provider's ``MessageSid`` (unique, so
    a webhook retry is recognised) and the keyword reply we answered with (replayed, never
    re-decided, on a retry); outbound texts point at their ``messages`` row."""

    __tablename__ = "conversation_messages"
    __table_args__ = (
        UniqueConstraint("company_id", "provider_sid"),
        Index("ix_conversation_messages_conversation_at", "conversation_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    keyword: Mapped[str | None] = mapped_column(String(20))
    likely_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opt_out_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_reply: Mapped[str | None] = mapped_column(Text)
    routed_user_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    route_reason: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OptInRequest(Base):
    """A request texted to a number asking it to reply YES to marketing texts.

    ``pending`` until the number answers YES (``confirmed``) or STOP (``declined``);
    ``not_sent`` when the text itself was held (consent, sender), so it blocks nothing.
    """

    __tablename__ = "opt_in_requests"
    __table_args__ = (
        Index("ix_opt_in_requests_company_phone", "company_id", "phone"),
        Index("ix_opt_in_requests_company_created", "company_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    phone: Mapped[str] = mapped_column(String(20))
    contact_method_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_methods.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(20))
    requester_ip: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    answer_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
