"""Everything the customer page shows, read through the domain queries the API uses."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.consent.models import ConsentEvent
from fieldlink.consent.queries import Eligibility, customer_eligibility
from fieldlink.customers.models import Customer
from fieldlink.customers.queries import customer_detail
from fieldlink.customers.schemas import CustomerDetail
from fieldlink.jobs.models import Invoice, Job, Payment
from fieldlink.links.models import WorkAcknowledgement
from fieldlink.messaging.models import Message

CHANNELS_OF_KIND = {
    "email": ("transactional_email", "marketing_email"),
    "phone": ("transactional_sms", "marketing_sms"),
}
TIMELINE_LIMIT = 100


@dataclass(frozen=True)
class CustomerPage:
    detail: CustomerDetail
    parent: Customer | None
    eligibility: dict[int, list[Eligibility]]  # by method id
    direct_mail: list[Eligibility]
    history: list[ConsentEvent]
    messages: list[Message]
    invoices: list[Invoice]
    payments: list[Payment]
    acknowledgements: list[WorkAcknowledgement]


def customer_page(session: Session, *, company: Company, customer: Customer) -> CustomerPage:
    detail = customer_detail(session, customer)
    by_method: dict[int, list[Eligibility]] = defaultdict(list)
    direct_mail: list[Eligibility] = []
    kinds = {m.id: m.kind for c in detail.contacts for m in c.methods}
    for item in customer_eligibility(session, company=company, customer_id=customer.id):
        if item.channel == "direct_mail":
            direct_mail.append(item)
        elif item.method_id is not None and item.channel in CHANNELS_OF_KIND.get(
            kinds.get(item.method_id, ""), ()
        ):
            by_method[item.method_id].append(item)
    history = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.company_id == company.id, ConsentEvent.customer_id == customer.id)
        .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc())
        .limit(TIMELINE_LIMIT)
    ).all()
    messages = session.scalars(
        select(Message)
        .where(Message.company_id == company.id, Message.customer_id == customer.id)
        .order_by(Message.id.desc())
        .limit(TIMELINE_LIMIT)
    ).all()
    invoices = session.scalars(
        select(Invoice)
        .where(Invoice.company_id == company.id, Invoice.customer_id == customer.id)
        .order_by(Invoice.id.desc())
    ).all()
    payments = session.scalars(
        select(Payment)
        .where(Payment.company_id == company.id, Payment.customer_id == customer.id)
        .order_by(Payment.id.desc())
    ).all()
    parent = session.get(Customer, customer.parent_id) if customer.parent_id else None
    return CustomerPage(
        detail=detail,
        parent=parent,
        eligibility=dict(by_method),
        direct_mail=direct_mail,
        history=list(history),
        messages=list(messages),
        invoices=list(invoices),
        payments=list(payments),
        acknowledgements=acknowledgements_of(session, company_id=company.id, customer=customer),
    )


def acknowledgements_of(
    session: Session, *, company_id: int, customer: Customer
) -> list[WorkAcknowledgement]:
    """The work acknowledgements signed on this customer's jobs, newest first."""
    job_ids = select(Job.id).where(Job.company_id == company_id, Job.customer_id == customer.id)
    return list(
        session.scalars(
            select(WorkAcknowledgement)
            .where(
                WorkAcknowledgement.company_id == company_id,
                WorkAcknowledgement.job_id.in_(job_ids),
            )
            .order_by(WorkAcknowledgement.id.desc())
        )
    )
