"""Touchpoints that send a document: service link, estimate, invoice, review request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import settings_of
from fieldlink.customers.models import Customer
from fieldlink.db import get_scoped
from fieldlink.errors import Conflict
from fieldlink.jobs.models import Estimate, Invoice, Job
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging.audience import resolve
from fieldlink.messaging.notify import NotifyResult, base_vars, configured_roles, notify
from fieldlink.messaging.service import Refs


def _money(amount: Any) -> str:
    return f"${amount:,.2f}" if amount is not None else ""


def send_document(
    session: Session,
    *,
    company: Company,
    touchpoint: str,
    customer: Customer,
    job: Job | None,
    object_id: int,
    link_kind: str,
    amount: Any,
    contact_ids: Sequence[int],
    roles: Sequence[str],
    links: LinkMaker,
    now: datetime,
) -> NotifyResult:
    """Send a signed link to a service summary, estimate or invoice.

    The key carries the minute, so a double click sends once while a deliberate resend
    later goes out again.
    """
    if not contact_ids and not roles:
        roles = ["financial", "owner"] if touchpoint == "invoice" else []
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=customer.id,
        roles=roles,
        contact_ids=contact_ids,
        require_usable=bool(contact_ids),
    )
    variables = base_vars(
        session, company=company, customer=customer, job=job, appointment=None, technician=None
    )
    variables["link"] = links.url(link_kind, company_id=company.id, object_id=object_id, now=now)
    variables["amount"] = _money(amount)
    return notify(
        session,
        company=company,
        customer=customer,
        targets=targets,
        touchpoint=touchpoint,
        channels=("sms", "email"),
        key=f"{touchpoint}:{object_id}:{now:%Y%m%d%H%M}",
        variables=variables,
        now=now,
        refs=Refs(job_id=job.id if job else None, subject_ref=f"{touchpoint}:{object_id}"),
    )


def request_review(session: Session, *, company: Company, job: Job, now: datetime) -> NotifyResult:
    """After a job is completed: ask for a review, once per job."""
    review_url = settings_of(company).review_url or company.website
    customer = session.get(Customer, job.customer_id)
    if not review_url or customer is None:
        return NotifyResult()
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=customer.id,
        roles=configured_roles(company, "review_request", ()),
        location_id=job.location_id,
    )
    variables = base_vars(
        session, company=company, customer=customer, job=job, appointment=None, technician=None
    )
    variables["link"] = review_url
    return notify(
        session,
        company=company,
        customer=customer,
        targets=targets,
        touchpoint="review_request",
        channels=("email", "sms"),
        key=f"review:job:{job.id}",
        variables=variables,
        now=now,
        send_after=now + timedelta(hours=1),
        refs=Refs(job_id=job.id),
    )


def _owners(
    session: Session, company_id: int, customer_id: int, job_id: int | None
) -> tuple[Customer, Job | None]:
    customer: Customer = get_scoped(session, Customer, customer_id, company_id, "customer")
    job: Job | None = get_scoped(session, Job, job_id, company_id, "job") if job_id else None
    return customer, job


def send_service_link(
    session: Session,
    *,
    company: Company,
    job: Job,
    contact_ids: Sequence[int],
    roles: Sequence[str],
    links: LinkMaker,
    now: datetime,
) -> NotifyResult:
    """The signed link to the visit summary (and work acknowledgement)."""
    customer, _ = _owners(session, company.id, job.customer_id, None)
    return send_document(
        session,
        company=company,
        touchpoint="service_link",
        customer=customer,
        job=job,
        object_id=job.id,
        link_kind="s",
        amount=None,
        contact_ids=contact_ids,
        roles=roles,
        links=links,
        now=now,
    )


def send_estimate(
    session: Session,
    *,
    company: Company,
    estimate: Estimate,
    contact_ids: Sequence[int],
    roles: Sequence[str],
    links: LinkMaker,
    now: datetime,
) -> NotifyResult:
    """Send the estimate link; a draft becomes ``sent``."""
    if estimate.status == "draft":
        estimate.status = "sent"
    customer, job = _owners(session, company.id, estimate.customer_id, estimate.job_id)
    return send_document(
        session,
        company=company,
        touchpoint="estimate",
        customer=customer,
        job=job,
        object_id=estimate.id,
        link_kind="e",
        amount=estimate.total,
        contact_ids=contact_ids,
        roles=roles,
        links=links,
        now=now,
    )


def send_invoice(
    session: Session,
    *,
    company: Company,
    invoice: Invoice,
    contact_ids: Sequence[int],
    roles: Sequence[str],
    links: LinkMaker,
    now: datetime,
) -> NotifyResult:
    """Send the invoice and payment link; a draft becomes ``sent``; a void one can't go."""
    if invoice.status == "void":
        raise Conflict(f"invoice {invoice.number} is void", code="invoice_void")
    if invoice.status == "draft":
        invoice.status = "sent"
    customer, job = _owners(session, company.id, invoice.customer_id, invoice.job_id)
    return send_document(
        session,
        company=company,
        touchpoint="invoice",
        customer=customer,
        job=job,
        object_id=invoice.id,
        link_kind="i",
        amount=invoice.balance,
        contact_ids=contact_ids,
        roles=roles,
        links=links,
        now=now,
    )
