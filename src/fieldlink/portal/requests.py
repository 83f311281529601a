"""A customer's service request from the portal: an unassigned job and a notice to the
office (touchpoint ``portal_service_request``, a company-editable template)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.customers.models import Customer
from fieldlink.jobs.models import Job
from fieldlink.messaging.notify import base_vars
from fieldlink.messaging.service import Refs, queue_staff_message
from fieldlink.portal.models import PortalAccount, PortalServiceRequest

SCHEDULE_LABELS = {"am": "AM", "pm": "PM", "all_day": "All day"}


@dataclass(frozen=True)
class ServiceRequestIn:
    customer_id: int
    location_id: int | None
    new_address: str | None
    job_type: str | None
    preferred_date: date | None
    schedule_type: str | None
    description: str
    sub_customer: bool


def office_recipient(session: Session, company: Company) -> User | None:
    """The point of contact, else the owner/admin with the lowest id (as for inbound texts)."""
    if company.point_of_contact_user_id is not None:
        user = session.get(User, company.point_of_contact_user_id)
        if user is not None and user.active:
            return user
    return session.scalar(
        select(User)
        .where(
            User.company_id == company.id,
            User.role.in_(("owner", "admin")),
            User.active.is_(True),
        )
        .order_by(User.id)
        .limit(1)
    )


def request_service(
    session: Session,
    *,
    company: Company,
    account: PortalAccount,
    data: ServiceRequestIn,
    now: datetime,
) -> PortalServiceRequest:
    """Open an unassigned job (no appointment, no technician) and tell the office.

    The caller has checked that the customer and location belong to the login.
    """
    description = data.description
    if data.new_address:
        description = f"{description}\n\nAddress given by the customer: {data.new_address}"
    job = Job(
        company_id=company.id,
        customer_id=data.customer_id,
        location_id=data.location_id,
        job_type=data.job_type,
        description=description,
        custom_fields={},
        status="open",
    )
    session.add(job)
    session.flush()
    request = PortalServiceRequest(
        company_id=company.id,
        customer_id=data.customer_id,
        account_id=account.id,
        job_id=job.id,
        preferred_date=data.preferred_date,
        schedule_type=data.schedule_type,
        new_address=data.new_address,
        sub_customer=data.sub_customer,
        created_at=now,
    )
    session.add(request)
    session.flush()
    _notify_office(session, company=company, job=job, request=request, now=now)
    return request


def _notify_office(
    session: Session,
    *,
    company: Company,
    job: Job,
    request: PortalServiceRequest,
    now: datetime,
) -> None:
    user = office_recipient(session, company)
    if user is None:
        return  # a company with no owner or admin: the job still waits in the job list
    customer = session.get(Customer, request.customer_id)
    assert customer is not None
    variables = base_vars(
        session, company=company, customer=customer, job=job, appointment=None, technician=None
    )
    if request.new_address:
        variables["location"] = {"address": request.new_address}
    variables["appointment"] = {
        "date": request.preferred_date.isoformat() if request.preferred_date else "",
        "window": SCHEDULE_LABELS.get(request.schedule_type or "", ""),
    }
    variables["message"] = job.description or ""
    variables["contact"] = {"name": user.name, "first_name": user.name.split()[0]}
    queue_staff_message(
        session,
        company=company,
        user=user,
        touchpoint="portal_service_request",
        channel="email",
        variables=variables,
        idempotency_key=f"portal_service_request:{request.id}:{user.id}",
        now=now,
        refs=Refs(job_id=job.id, subject_ref=f"portal_request:{request.id}"),
    )


def notify_account_request(
    session: Session, *, company: Company, account: PortalAccount, now: datetime
) -> None:
    """Tell the office a customer asked for a portal login (touchpoint
    ``portal_account_request``, editable); the login id names the request."""
    user = office_recipient(session, company)
    if user is None:
        return
    details = [
        f"Name: {account.request_name}",
        f"Email: {account.request_email}",
        f"Phone: {account.request_phone or '-'}",
        f"Address: {account.request_address or '-'}",
        f"Login id: {account.login_id}",
    ]
    if account.request_note:
        details.append(f"Note: {account.request_note}")
    variables = {
        "company": {
            "name": company.name,
            "phone": company.business_phone or "",
            "website": company.website or "",
            "logo_url": company.logo_url or "",
        },
        "customer": {"name": account.request_name or ""},
        "contact": {"name": account.request_name or "", "first_name": ""},
        "location": {"address": account.request_address or ""},
        "job": {"id": account.id, "job_type": "", "po_number": ""},
        "appointment": {"date": "", "window": ""},
        "technician": None,
        "eta": "",
        "status": {"name": ""},
        "link": "",
        "reschedule_link": "",
        "amount": "",
        "message": "\n".join(details),
    }
    queue_staff_message(
        session,
        company=company,
        user=user,
        touchpoint="portal_account_request",
        channel="email",
        variables=variables,
        idempotency_key=f"portal_account_request:{account.id}:{user.id}",
        now=now,
        refs=Refs(subject_ref=f"portal_account:{account.id}"),
    )
