"""Approving or declining an estimate on its link; the office hears of it through the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.customers.models import Customer
from fieldlink.jobs.models import Estimate, Job
from fieldlink.links.office import notify_office
from fieldlink.links.summary import money
from fieldlink.messaging.notify import base_vars
from fieldlink.messaging.service import Refs

DECISIONS = ("approved", "declined")
MAX_COMMENT = 2000


class AlreadyDecided(Exception):
    """The estimate was approved or declined before; nothing changed."""


def decide_estimate(
    session: Session,
    *,
    company: Company,
    estimate: Estimate,
    decision: str,
    comment: str,
    now: datetime,
) -> Estimate:
    """Record the customer's decision (once) and tell the office.

    The row is locked first, so two tabs deciding at once can't both win; the loser (and
    any later attempt) gets :class:`AlreadyDecided`.
    """
    if decision not in DECISIONS:
        raise ValueError(decision)
    locked = session.scalar(
        select(Estimate)
        .where(Estimate.id == estimate.id, Estimate.company_id == company.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert locked is not None
    if locked.status != "sent":
        raise AlreadyDecided(locked.status)
    locked.status = decision
    locked.decided_at = now
    locked.customer_comment = comment.strip()[:MAX_COMMENT] or None
    session.flush()
    customer = session.get(Customer, locked.customer_id)
    job = session.get(Job, locked.job_id) if locked.job_id else None
    assert customer is not None
    variables = base_vars(
        session, company=company, customer=customer, job=job, appointment=None, technician=None
    )
    variables["status"] = {"name": decision}
    variables["amount"] = money(locked.total)
    detail = f"Estimate {locked.number} ({money(locked.total)})"
    if locked.customer_comment:
        detail += f'. Comment: "{locked.customer_comment}"'
    variables["message"] = detail
    notify_office(
        session,
        company=company,
        touchpoint="estimate_decision",
        variables=variables,
        key=f"estimate_decision:{locked.id}",
        refs=Refs(job_id=job.id if job else None, subject_ref=f"estimate:{locked.id}"),
        now=now,
    )
    return locked
