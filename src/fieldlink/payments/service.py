"""Paying an invoice online: one use case shared by the invoice link and the portal.

The charge happens while the invoice row is locked, so two submissions can't both fit under
one balance; the idempotency key (one per invoice and form submission) goes to the processor
and is unique in ``payments``, so a double submission is charged and recorded once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.customers.models import Customer
from fieldlink.errors import FieldlinkError
from fieldlink.jobs import rules
from fieldlink.jobs.models import Invoice, Payment, PaymentMethod
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging.audience import resolve
from fieldlink.messaging.notify import base_vars, notify
from fieldlink.messaging.service import Refs
from fieldlink.pages.i18n import N_
from fieldlink.payments.base import PaymentProcessor, ProcessorUnavailable

_KEY = re.compile(r"^[A-Za-z0-9:_\-]{8,200}$")


class PaymentRefused(FieldlinkError):
    """The payment can't be attempted as asked (nothing was charged)."""

    status = 409
    code = "payment_refused"
    title = "Payment refused"


@dataclass(frozen=True)
class PaymentOutcome:
    """``paid`` (this submission charged and recorded), ``repeat`` (this submission was
    already charged: the first payment is returned), ``declined`` (a failed payment is
    recorded with the reason, nothing paid) or ``unavailable`` (processor unreachable:
    nothing recorded, retrying with the same key is safe)."""

    status: Literal["paid", "repeat", "declined", "unavailable"]
    payment: Payment | None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("paid", "repeat")


def submission_key(invoice_id: int, nonce: str) -> str:
    """The idempotency key of one form submission paying one invoice."""
    return f"pay:invoice:{invoice_id}:{nonce}"


def _locked_invoice(session: Session, invoice: Invoice) -> Invoice:
    # Lock the row (PostgreSQL) for the whole attempt: a second submission waits, then
    # finds the first one's payment or the new balance.
    locked = session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice.id, Invoice.company_id == invoice.company_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert locked is not None
    return locked


def _prior(session: Session, company_id: int, key: str) -> Payment | None:
    return session.scalar(
        select(Payment).where(Payment.company_id == company_id, Payment.idempotency_key == key)
    )


def _from_prior(prior: Payment, invoice: Invoice, amount: Decimal) -> PaymentOutcome:
    if prior.invoice_id != invoice.id or prior.amount != amount:
        raise PaymentRefused(
            "this payment form was already used for another amount; reload the page",
            code="idempotency_key_reused",
        )
    if prior.status == "succeeded":
        return PaymentOutcome("repeat", prior)
    return PaymentOutcome("declined", prior, prior.failure_reason)


def check_payable(invoice: Invoice, amount: Decimal) -> None:
    """Refuse what must never reach the processor: a void or paid invoice, a zero, negative
    or fractional-cent amount, or more than the balance."""
    if invoice.status == "void":
        raise PaymentRefused(f"invoice {invoice.number} is void", code="invoice_void")
    if invoice.status == "paid" or invoice.balance <= 0:
        raise PaymentRefused(f"invoice {invoice.number} is already paid", code="invoice_paid")
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise PaymentRefused("the amount must be a positive sum in cents", code="invalid_amount")
    if amount > invoice.balance:
        raise PaymentRefused(
            f"{amount:.2f} is more than the balance {invoice.balance:.2f}",
            code="amount_exceeds_balance",
        )


def pay_invoice(
    session: Session,
    *,
    invoice: Invoice,
    amount: Decimal,
    token_or_method: str,
    idempotency_key: str,
    processor: PaymentProcessor,
    links: LinkMaker,
    now: datetime,
    payment_method: PaymentMethod | None = None,
    customer_ref: str | None = None,
    currency: str = "usd",
) -> PaymentOutcome:
    """Charge ``amount`` of ``invoice`` with a processor token or saved method and record it.

    Raises :class:`PaymentRefused` (nothing charged) for a void or paid invoice, a bad
    amount, more than the balance, a card number instead of a token, or a key reused for
    another amount. On success the balance drops (the invoice becomes ``paid`` at zero) and a
    receipt email is queued to the customer's financial/owner contacts.
    """
    if not _KEY.match(idempotency_key):
        raise PaymentRefused("invalid payment form; reload the page", code="invalid_key")
    if rules.looks_like_card_number(token_or_method):
        raise PaymentRefused(rules.CARD_NUMBER_MESSAGE, code="card_number_refused")
    if payment_method is not None and payment_method.customer_id != invoice.customer_id:
        raise PaymentRefused("that card belongs to another customer", code="method_not_of_customer")
    invoice = _locked_invoice(session, invoice)
    prior = _prior(session, invoice.company_id, idempotency_key)
    if prior is not None:
        return _from_prior(prior, invoice, amount)
    check_payable(invoice, amount)
    try:
        result = processor.charge(
            amount=amount,
            currency=currency,
            token_or_method=token_or_method,
            idempotency_key=idempotency_key,
            customer_ref=customer_ref,
            description=f"Invoice {invoice.number}",
        )
    except ProcessorUnavailable:
        return PaymentOutcome(
            "unavailable",
            None,
            N_(
                "The payment service is not answering right now. Nothing was charged; "
                "please try again in a few minutes."
            ),
        )
    payment = Payment(
        company_id=invoice.company_id,
        customer_id=invoice.customer_id,
        invoice_id=invoice.id,
        payment_method_id=payment_method.id if payment_method else None,
        amount=amount,
        kind="card",
        status="succeeded" if result.succeeded else "failed",
        processor_ref=result.processor_ref,
        idempotency_key=idempotency_key,
        failure_reason=None if result.succeeded else result.failure_message,
        received_at=now,
    )
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError:
        # Another request with this key got there first (SQLite has no row lock): the
        # processor answered both with the same charge, so report the recorded one.
        prior = _prior(session, invoice.company_id, idempotency_key)
        assert prior is not None
        return _from_prior(prior, invoice, amount)
    if not result.succeeded:
        return PaymentOutcome("declined", payment, result.failure_message)
    paid = session.scalars(
        select(Payment.amount).where(
            Payment.invoice_id == invoice.id, Payment.status == "succeeded"
        )
    )
    invoice.balance = rules.balance_after(invoice.total, list(paid))
    if invoice.balance <= 0:
        invoice.status = "paid"
    session.flush()
    queue_receipt(session, invoice=invoice, payment=payment, links=links, now=now)
    return PaymentOutcome("paid", payment)


def queue_receipt(
    session: Session, *, invoice: Invoice, payment: Payment, links: LinkMaker, now: datetime
) -> None:
    """Email the receipt (touchpoint ``payment_receipt``) to the financial/owner contacts,
    else the primary ones; once per payment."""
    company = session.get(Company, invoice.company_id)
    customer = session.get(Customer, invoice.customer_id)
    assert company is not None and customer is not None
    targets = resolve(
        session,
        company_id=company.id,
        customer_id=customer.id,
        roles=("financial", "owner"),
    ) or resolve(session, company_id=company.id, customer_id=customer.id)
    variables = base_vars(
        session, company=company, customer=customer, job=None, appointment=None, technician=None
    )
    variables["amount"] = f"${payment.amount:,.2f}"
    variables["link"] = links.url("i", company_id=company.id, object_id=invoice.id, now=now)
    variables["message"] = f"Invoice {invoice.number}, remaining balance ${invoice.balance:,.2f}"
    notify(
        session,
        company=company,
        customer=customer,
        targets=targets,
        touchpoint="payment_receipt",
        channels=("email",),
        key=f"payment_receipt:{payment.id}",
        variables=variables,
        now=now,
        refs=Refs(job_id=invoice.job_id, subject_ref=f"payment:{payment.id}"),
    )
