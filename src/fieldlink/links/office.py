"""Telling the office what a customer did on a link, through the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.messaging.models import Message
from fieldlink.messaging.service import Refs, queue_staff_message
from fieldlink.sms import rules as routing_rules


def office_users(session: Session, *, company: Company) -> list[User]:
    """The company's point of contact, else its active owner/admin with the lowest id (the
    same choice as for an inbound text with no visit in progress)."""
    staff = list(session.scalars(select(User).where(User.company_id == company.id)))
    decision = routing_rules.route_inbound(
        visits=(),
        point_of_contact_id=company.point_of_contact_user_id,
        staff=[routing_rules.StaffMember(u.id, u.role, u.active) for u in staff],
    )
    by_id = {u.id: u for u in staff}
    return [by_id[i] for i in decision.user_ids]


def notify_office(
    session: Session,
    *,
    company: Company,
    touchpoint: str,
    variables: dict[str, Any],
    key: str,
    refs: Refs,
    now: datetime,
) -> list[Message]:
    """Queue an email to each office user (``key`` makes a repeat a logged duplicate)."""
    return [
        queue_staff_message(
            session,
            company=company,
            user=user,
            touchpoint=touchpoint,
            channel="email",
            variables=variables,
            idempotency_key=f"{key}:user:{user.id}",
            now=now,
            refs=refs,
        )
        for user in office_users(session, company=company)
    ]
