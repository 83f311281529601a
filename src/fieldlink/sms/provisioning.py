"""The company's dedicated SMS number: requested with an area code, bought by an outbox job.

Buying a number is a side effect with a cost, so it is queued, never done inside a
request (STYLE rule 4); the job names the number after the company at the provider, so a
retry after a crash finds the number it already bought instead of paying twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.errors import Conflict, ValidationFailed
from fieldlink.outbox.publish import publish
from fieldlink.sms.models import SmsNumber
from fieldlink.validation import normalise_phone

PROVISION_TOPIC = "sms.provision_number"


def provider_name(company_id: int) -> str:
    """How the number is named at the provider (its FriendlyName)."""
    return f"fieldlink-company-{company_id}"


def number_of(session: Session, *, company_id: int) -> SmsNumber | None:
    return session.scalar(select(SmsNumber).where(SmsNumber.company_id == company_id))


def request_number(
    session: Session, *, company: Company, area_code: str, now: datetime
) -> SmsNumber:
    """Ask for a number in ``area_code``; the outbox job buys it (409 if one exists)."""
    if not (area_code.isdigit() and len(area_code) == 3):
        raise ValidationFailed("area_code", "an area code is three digits, like 919")
    row = number_of(session, company_id=company.id)
    if company.sms_number or (row is not None and row.status == "active"):
        raise Conflict("the company already has an SMS number", code="sms_number_exists")
    if row is not None and row.status == "requested":
        raise Conflict("a number is being provisioned", code="sms_number_requested")
    if row is None:
        row = SmsNumber(company_id=company.id, area_code=area_code, requested_at=now)
        session.add(row)
    row.area_code, row.status, row.error, row.requested_at = area_code, "requested", None, now
    company.sms_area_code = area_code
    session.flush()
    publish(session, PROVISION_TOPIC, run_at=now, sms_number_id=row.id)
    return row


def record_number(
    session: Session, *, row: SmsNumber, company: Company, number: str, now: datetime
) -> SmsNumber:
    """Keep the number the provider handed out and make it the company's sender."""
    e164 = normalise_phone(number)
    taken = session.scalar(
        select(Company.id).where(Company.sms_number == e164, Company.id != company.id)
    )
    if taken is not None:
        return record_failure(row=row, error=f"{e164} already belongs to another company")
    row.number, row.status, row.error, row.provisioned_at = e164, "active", None, now
    company.sms_number = e164
    session.flush()
    return row


def record_failure(*, row: SmsNumber, error: str) -> SmsNumber:
    row.status, row.error = "failed", error
    return row
