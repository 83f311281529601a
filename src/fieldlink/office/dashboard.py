"""Dashboard figures: messages per day by status, delivery rate, opt-outs, reviews asked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.consent.models import ConsentEvent
from fieldlink.messaging.models import Message
from fieldlink.office import queries

STATUS_ORDER = ("delivered", "sent", "sending", "queued", "suppressed", "undelivered", "failed")
HANDED_OVER = ("sent", "delivered", "undelivered", "failed")  # reached a provider


@dataclass(frozen=True)
class Day:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Dashboard:
    days: list[Day]
    totals: dict[str, int]
    delivery_rate: float | None  # delivered ÷ handed to a provider; None when nothing was
    opt_outs: int
    reviews_requested: int
    peak: int

    @property
    def messages(self) -> int:
        return sum(self.totals.values())


def dashboard(session: Session, *, company: Company, now: datetime, days: int = 14) -> Dashboard:
    """The last ``days`` days (the company's calendar days, today included)."""
    last = queries.today(company, now)
    first = last - timedelta(days=days - 1)
    out: list[Day] = []
    for n in range(days):
        day = first + timedelta(days=n)
        start, end = queries.local_day_bounds(company, day, day)
        rows = session.execute(
            select(Message.status, func.count(Message.id))
            .where(
                Message.company_id == company.id,
                Message.user_id.is_(None),  # customers' messages, not staff notices
                Message.created_at >= start,
                Message.created_at < end,
            )
            .group_by(Message.status)
        ).all()
        out.append(Day(day, {status: count for status, count in rows}))
    totals: dict[str, int] = {}
    for d in out:
        for status, count in d.counts.items():
            totals[status] = totals.get(status, 0) + count
    handed = sum(totals.get(s, 0) for s in HANDED_OVER)
    start, end = queries.local_day_bounds(company, first, last)
    opt_outs = session.scalar(
        select(func.count(ConsentEvent.id)).where(
            ConsentEvent.company_id == company.id,
            ConsentEvent.at >= start,
            ConsentEvent.at < end,
            or_(
                and_(
                    ConsentEvent.field == "marketing_sms_status",
                    ConsentEvent.new_value == "opted_out",
                ),
                and_(
                    ConsentEvent.field == "do_not_send_promotional_emails",
                    ConsentEvent.new_value == "true",
                ),
            ),
        )
    )
    reviews = session.scalar(
        select(func.count(Message.id)).where(
            Message.company_id == company.id,
            Message.touchpoint == "review_request",
            Message.status != "suppressed",
            Message.created_at >= start,
            Message.created_at < end,
        )
    )
    return Dashboard(
        days=out,
        totals=totals,
        delivery_rate=(totals.get("delivered", 0) / handed) if handed else None,
        opt_outs=opt_outs or 0,
        reviews_requested=reviews or 0,
        peak=max((d.total for d in out), default=0),
    )
