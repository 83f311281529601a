"""Signed work acknowledgements: what the customer signed for on the service link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldlink.db import Base, UTCDateTime

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
