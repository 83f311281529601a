"""Cards on file in the portal, through the payment adapter's token flow.

The browser turns the card into a processor token (test cards, or Stripe.js); we attach it
to the customer's record at the processor and keep only the method id, brand, last four
and expiry (PCI SAQ A: card data never reaches this server).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.customers.models import Customer
from fieldlink.errors import ValidationFailed
from fieldlink.jobs import rules
from fieldlink.jobs.models import PaymentMethod
from fieldlink.payments import PaymentProcessor
from fieldlink.portal.models import ProcessorCustomer


def processor_customer_ref(
    session: Session, *, customer: Customer, processor: PaymentProcessor, now: datetime
) -> str:
    """The customer's id at the processor, made on first use (idempotently: a retry after a
    lost answer finds the same processor customer)."""
    known = session.scalar(
        select(ProcessorCustomer).where(
            ProcessorCustomer.customer_id == customer.id,
            ProcessorCustomer.processor == processor.name,
        )
    )
    if known is not None:
        return known.ref
    ref = processor.create_customer(
        name=customer.name,
        idempotency_key=f"fieldlink-customer-{customer.company_id}-{customer.id}",
    )
    session.add(
        ProcessorCustomer(
            company_id=customer.company_id,
            customer_id=customer.id,
            processor=processor.name,
            ref=ref,
            created_at=now,
        )
    )
    session.flush()
    return ref


def save_card(
    session: Session,
    *,
    customer: Customer,
    token: str,
    processor: PaymentProcessor,
    now: datetime,
) -> PaymentMethod:
    """Attach a processor token to the customer and keep the card's public facts.

    Raises ValueError (with a sentence for the customer) when the processor refuses the card
    and ``ProcessorUnavailable`` when it can't be reached.
    """
    if rules.looks_like_card_number(token):
        raise ValidationFailed("card", rules.CARD_NUMBER_MESSAGE, code="card_number_refused")
    ref = processor_customer_ref(session, customer=customer, processor=processor, now=now)
    info = processor.attach_method(customer_ref=ref, token_or_method=token)
    method = PaymentMethod(
        company_id=customer.company_id,
        customer_id=customer.id,
        processor=processor.name,
        token=info.ref,
        brand=info.brand,
        last4=info.last4[-4:].rjust(4, "0"),
        exp_month=info.exp_month,
        exp_year=info.exp_year,
    )
    session.add(method)
    session.flush()
    return method


def customer_ref_of(session: Session, *, customer_id: int, processor: str) -> str | None:
    return session.scalar(
        select(ProcessorCustomer.ref).where(
            ProcessorCustomer.customer_id == customer_id, ProcessorCustomer.processor == processor
        )
    )


def remove_card(session: Session, *, method: PaymentMethod, processor: PaymentProcessor) -> None:
    """Detach the card at the processor (when it is that processor's) and forget it here;
    past payments keep their history."""
    if method.processor == processor.name:
        processor.detach_method(method_ref=method.token)
    session.delete(method)
    session.flush()
