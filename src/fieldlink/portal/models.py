"""Customer portal: logins (and requests for one), sessions, login attempts, service
requests made in the portal and files customers upload."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fieldlink.db import Base, UTCDateTime, utcnow

# requested: asked for by the customer, waiting for the office; active: may log in;
# rejected: the office said no; disabled: the office switched the login off.
ACCOUNT_STATUSES = ("requested", "active", "rejected", "disabled")


class PortalAccount(Base):
    """A customer's portal login: login id + argon2id hash, tied to one customer account."""

    __tablename__ = "portal_accounts"
    __table_args__ = (UniqueConstraint("company_id", "login_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    # Unknown while a customer's request waits: the office links it when approving.
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    login_id: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="active")
    language: Mapped[str | None] = mapped_column(String(5))
    # What the customer typed when asking for a login (shown to the office).
    request_name: Mapped[str | None] = mapped_column(String(200))
    request_email: Mapped[str | None] = mapped_column(String(320))
    request_phone: Mapped[str | None] = mapped_column(String(20))
    request_address: Mapped[str | None] = mapped_column(Text)
    request_note: Mapped[str | None] = mapped_column(Text)
    requester_ip: Mapped[str | None] = mapped_column(String(64))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PortalSession(Base):
    """A logged-in browser. Only a SHA-256 of the cookie's random value is stored."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("portal_accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PortalLoginAttempt(Base):
    """Every login try, kept to throttle by IP and by login id across processes."""

    __tablename__ = "portal_login_attempts"
    __table_args__ = (
        Index("ix_portal_login_attempts_ip_at", "ip", "at"),
        Index("ix_portal_login_attempts_login_at", "company_id", "login_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    login_id: Mapped[str] = mapped_column(String(80))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PortalServiceRequest(Base):
    """A customer's request for service: an unassigned job plus what they asked for."""

    __tablename__ = "portal_service_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_accounts.id", ondelete="SET NULL")
    )
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    preferred_date: Mapped[date | None] = mapped_column(Date)
    schedule_type: Mapped[str | None] = mapped_column(String(10))
    new_address: Mapped[str | None] = mapped_column(Text)
    sub_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PortalUpload(Base):
    """A file a customer uploaded. The bytes live under ``FIELDLINK_UPLOAD_DIR`` by a
    random storage key, never under a name the customer chose."""

    __tablename__ = "portal_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_accounts.id", ondelete="SET NULL")
    )
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessorCustomer(Base):
    """The customer's id at the card processor (cards on file hang off it there)."""

    __tablename__ = "processor_customers"
    __table_args__ = (UniqueConstraint("customer_id", "processor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    processor: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
