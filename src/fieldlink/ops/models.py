"""Stored answers of idempotent API writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldlink.db import Base, UTCDateTime, utcnow


class IdempotencyRecord(Base):
    """One ``Idempotency-Key`` of one company, with the answer given to it.

    The row is inserted in the request's own transaction before the endpoint runs, so it
    exists exactly when the write it guards was committed; the answer is stored right
    after the commit and before the client sees it. ``status_code`` is null only while the
    request is in flight (or if the process died in that millisecond after the commit).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("company_id", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    # A random token of the request holding the claim: its answer is stored only on its
    # own row (SQLite may hand a rolled-back row's id to the next insert).
    owner: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
