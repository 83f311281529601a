"""Signed work acknowledgements: what the customer signed for on the service link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldlink.db import Base, JSONType, UTCDateTime

SIGNATURE_METHODS = ("drawn", "typed")


class WorkAcknowledgement(Base):
    """One per job: the customer's signature under the exact summary text they were shown.

    The text and its SHA-256 are kept as signed, so a later edit of the job can't change
    what the customer agreed to; a second signing finds this row and changes nothing.
    """

    __tablename__ = "work_acknowledgements"
    __table_args__ = (UniqueConstraint("job_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    signer_name: Mapped[str] = mapped_column(String(200))
    signature_method: Mapped[str] = mapped_column(String(10))
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    summary_text: Mapped[str] = mapped_column(Text)
    summary_sha256: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(5), default="en")
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)


RESCHEDULE_KINDS = ("reschedule", "call", "cancel")


class RescheduleRequest(Base):
    """A customer's request, from the ``/r/`` link, to move, discuss or cancel a visit.

    It never moves or cancels the appointment itself: the office is told (outbox) and
    decides. ``submission_key`` (one per rendered form) makes a double submission one row.
    """

    __tablename__ = "reschedule_requests"
    __table_args__ = (UniqueConstraint("company_id", "submission_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    preferred_dates: Mapped[list[str]] = mapped_column(JSONType, default=list)
    time_of_day: Mapped[str] = mapped_column(String(10), default="any")
    message: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="open")
    submission_key: Mapped[str] = mapped_column(String(80))
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


ATTACHMENT_KINDS = ("photo", "document")


class JobAttachment(Base):
    """A photo or document of the visit (by https URL on the company's file host), shown
    on the job's service link."""

    __tablename__ = "job_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
