"""A campaign's audience as the consent engine's ``AudienceFilter``: the customer filters,
plus job-history conditions (last service date, job type, open estimate) as SQL on the
customers table, so sending stays one set-based query (consent/audience.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, not_, select

from fieldlink.campaigns.schemas import AudienceIn
from fieldlink.consent.audience import AudienceFilter
from fieldlink.consent.rules import Channel
from fieldlink.customers.models import Customer
from fieldlink.jobs.models import Estimate, Job

C = Customer.__table__
OPEN_ESTIMATE_STATUSES = ("draft", "sent")
CONSENT_CHANNEL: dict[str, Channel] = {
    "email": "marketing_email",
    "marketing_sms": "marketing_sms",
    "direct_mail": "direct_mail",
}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _many(value: str | list[str] | None) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else (value or [])
    return tuple(v.strip() for v in items if v.strip())


def audience_filter(
    stored: dict[str, Any], *, extra: tuple[ColumnElement[bool], ...] = ()
) -> AudienceFilter:
    """The filter of a campaign's stored ``audience`` (validated again: it is JSON)."""
    spec = AudienceIn.model_validate(stored)
    base = spec.to_filter()
    conditions: list[ColumnElement[bool]] = list(extra)
    if spec.last_service_from or spec.last_service_to:
        last = (
            select(func.max(Job.completed_at))
            .where(Job.customer_id == C.c.id, Job.status == "completed")
            .scalar_subquery()
        )
        if spec.last_service_from:
            conditions.append(last >= _start_of(spec.last_service_from))
        if spec.last_service_to:
            conditions.append(last < _start_of(spec.last_service_to + timedelta(days=1)))
    job_types = _many(spec.job_type)
    if job_types:
        conditions.append(exists().where(Job.customer_id == C.c.id, Job.job_type.in_(job_types)))
    if spec.has_open_estimate is not None:
        has_open = exists().where(
            Estimate.customer_id == C.c.id, Estimate.status.in_(OPEN_ESTIMATE_STATUSES)
        )
        conditions.append(has_open if spec.has_open_estimate else not_(has_open))
    return AudienceFilter(
        types=base.types,
        tags=base.tags,
        cities=base.cities,
        postcodes=base.postcodes,
        conditions=tuple(conditions),
    )
