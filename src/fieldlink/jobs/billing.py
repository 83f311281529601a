"""Use cases for estimates, invoices, payments and payment methods on file."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldlink.customers.models import Customer, Location
from fieldlink.db import get_scoped
from fieldlink.errors import Conflict, NotFound, ValidationFailed
from fieldlink.jobs import rules
from fieldlink.jobs.billing_schemas import (
    EstimateIn,
    EstimatePatch,
    InvoiceIn,
    InvoicePatch,
    LineIn,
    PaymentIn,
    PaymentMethodIn,
)
from fieldlink.jobs.models import Estimate, Invoice, Job, Payment, PaymentMethod
from fieldlink.jobs.service import referenced


def _owner(
    session: Session, *, company_id: int, customer_id: int | None, job_id: int | None
) -> tuple[Customer, Job | None]:
    """The customer a document is for, checked against its job when both are named."""
    job = None
    if job_id is not None:
        job = referenced(session, Job, job_id, company_id=company_id, label="job", field="job_id")
    if customer_id is None:
        if job is None:
            raise ValidationFailed("customer_id", "give customer_id or job_id")
        customer_id = job.customer_id
    customer = referenced(
        session, Customer, customer_id, company_id=company_id, label="customer", field="customer_id"
    )
    if job is not None and job.customer_id != customer.id:
        raise ValidationFailed(
            "job_id",
            f"job {job.id} belongs to another customer than {customer.id}",
            code="job_not_of_customer",
        )
    return customer, job


def _lines(lines: list[LineIn], total: Decimal | None) -> tuple[list[dict[str, str]], Decimal]:
    parsed = [rules.Line(ln.description, ln.quantity, ln.unit_price) for ln in lines]
    computed = rules.lines_total(parsed)
    if total is None and computed < 0:
        raise ValidationFailed("lines", "the lines add up to less than zero")
    stored = [
        {
            "description": ln.description,
            "quantity": str(ln.quantity.normalize()),
            "unit_price": f"{ln.unit_price:.2f}",
            "amount": f"{ln.amount:.2f}",
        }
        for ln in parsed
    ]
    return stored, rules.money(total if total is not None else computed)


def _number(
    session: Session, model: Any, *, company_id: int, prefix: str, given: str | None
) -> str:
    """The document number: the given one if free, else the company's next free one.

    Two requests racing for the same generated number meet the unique constraint and
    the loser answers 409; retrying is safe.
    """
    label = model.__tablename__.removesuffix("s")

    def taken(number: str) -> bool:
        stmt = select(model.id).where(model.company_id == company_id, model.number == number)
        return session.scalar(stmt) is not None

    if given is not None:
        if taken(given):
            raise Conflict(f"{label} number {given!r} is taken", code=f"{label}_number_taken")
        return given
    count = session.scalar(select(func.count(model.id)).where(model.company_id == company_id))
    candidate = 1001 + int(count or 0)
    while taken(f"{prefix}-{candidate}"):
        candidate += 1
    return f"{prefix}-{candidate}"


def _transition(kind: str, transitions: Any, current: str, new: str) -> None:
    if not rules.can_transition(transitions, current, new):
        allowed = ", ".join(sorted(transitions.get(current, ()))) or "none"
        raise Conflict(
            f"{kind} cannot go from {current} to {new} (allowed: {allowed})",
            code="invalid_status_transition",
        )


# --- estimates ------------------------------------------------------------------------


def get_estimate(session: Session, *, company_id: int, estimate_id: int) -> Estimate:
    estimate: Estimate = get_scoped(session, Estimate, estimate_id, company_id, "estimate")
    return estimate


def create_estimate(session: Session, *, company_id: int, data: EstimateIn) -> Estimate:
    customer, job = _owner(
        session, company_id=company_id, customer_id=data.customer_id, job_id=data.job_id
    )
    location_id = job.location_id if job is not None else None
    if data.location_id is not None:
        location = referenced(
            session,
            Location,
            data.location_id,
            company_id=company_id,
            label="location",
            field="location_id",
        )
        if location.customer_id != customer.id:
            raise ValidationFailed(
                "location_id",
                f"location {location.id} is not a location of customer {customer.id}",
                code="location_not_of_customer",
            )
        location_id = location.id
    lines, total = _lines(data.lines, data.total)
    estimate = Estimate(
        company_id=company_id,
        customer_id=customer.id,
        job_id=job.id if job else None,
        location_id=location_id,
        number=_number(session, Estimate, company_id=company_id, prefix="EST", given=data.number),
        status=data.status,
        description=data.description,
        lines=lines,
        total=total,
    )
    session.add(estimate)
    session.flush()
    return estimate


def update_estimate(
    session: Session, *, estimate: Estimate, patch: EstimatePatch, now: datetime
) -> Estimate:
    data = patch.model_dump(exclude_unset=True)
    if "status" in data:
        if data["status"] is None:
            raise ValidationFailed("status", "cannot be null")
        _transition("estimate", rules.ESTIMATE_TRANSITIONS, estimate.status, data["status"])
        if data["status"] in ("approved", "declined") and estimate.status != data["status"]:
            estimate.decided_at = now
        estimate.status = data["status"]
    if "description" in data and data["description"] != estimate.description:
        if estimate.status != "draft":
            raise Conflict(
                "only a draft estimate's description can change", code="estimate_not_draft"
            )
        estimate.description = data["description"]
    if "customer_comment" in data:
        estimate.customer_comment = data["customer_comment"]
    session.flush()
    return estimate


# --- invoices -------------------------------------------------------------------------


def get_invoice(session: Session, *, company_id: int, invoice_id: int) -> Invoice:
    invoice: Invoice = get_scoped(session, Invoice, invoice_id, company_id, "invoice")
    return invoice


def create_invoice(session: Session, *, company_id: int, data: InvoiceIn) -> Invoice:
    customer, job = _owner(
        session, company_id=company_id, customer_id=data.customer_id, job_id=data.job_id
    )
    lines, total = _lines(data.lines, data.total)
    invoice = Invoice(
        company_id=company_id,
        customer_id=customer.id,
        job_id=job.id if job else None,
        number=_number(session, Invoice, company_id=company_id, prefix="INV", given=data.number),
        status=data.status,
        lines=lines,
        total=total,
        balance=total,
        due_date=data.due_date,
    )
    session.add(invoice)
    session.flush()
    return invoice


def update_invoice(session: Session, *, invoice: Invoice, patch: InvoicePatch) -> Invoice:
    data = patch.model_dump(exclude_unset=True)
    if "status" in data and data["status"] != invoice.status:
        new = data["status"]
        if new is None:
            raise ValidationFailed("status", "cannot be null")
        if new == "paid":
            raise Conflict(
                "an invoice becomes paid when recorded payments cover it; record a payment",
                code="invalid_status_transition",
            )
        _transition("invoice", rules.INVOICE_TRANSITIONS, invoice.status, new)
        if new == "void" and _paid_amounts(session, invoice=invoice):
            raise Conflict("an invoice with payments cannot be voided", code="invoice_has_payments")
        invoice.status = new
    if "due_date" in data:
        invoice.due_date = data["due_date"]
    session.flush()
    return invoice


def _paid_amounts(session: Session, *, invoice: Invoice) -> list[Decimal]:
    return list(
        session.scalars(
            select(Payment.amount).where(
                Payment.invoice_id == invoice.id, Payment.status == "succeeded"
            )
        )
    )


# --- payments -------------------------------------------------------------------------


def get_payment(session: Session, *, company_id: int, payment_id: int) -> Payment:
    payment: Payment = get_scoped(session, Payment, payment_id, company_id, "payment")
    return payment


def _same_request(payment: Payment, data: PaymentIn, kind: str) -> bool:
    return (
        payment.invoice_id == data.invoice_id
        and payment.amount == data.amount
        and payment.kind == kind
        and payment.payment_method_id == data.payment_method_id
        and payment.processor_ref == data.processor_ref
    )


def record_payment(
    session: Session,
    *,
    company_id: int,
    data: PaymentIn,
    idempotency_key: str | None,
    now: datetime,
) -> Payment:
    """Record money received against an invoice and bring its balance down.

    With an idempotency key, a repeat of the same request returns the first payment
    instead of charging the balance twice; the same key with another body is a 409.
    """
    # Lock the invoice row (PostgreSQL) so two payments can't both fit under one balance,
    # and so a retried request waits for the first and then finds its payment.
    invoice = session.scalar(
        select(Invoice)
        .where(Invoice.id == data.invoice_id, Invoice.company_id == company_id)
        .with_for_update()
    )
    if invoice is None:
        message = f"invoice {data.invoice_id} not found"
        raise NotFound(
            message,
            code="invoice_not_found",
            errors=[{"field": "invoice_id", "message": message}],
        )
    kind = data.kind or ("card" if data.payment_method_id is not None else "other")
    if idempotency_key is not None:
        prior = session.scalar(
            select(Payment).where(
                Payment.company_id == company_id, Payment.idempotency_key == idempotency_key
            )
        )
        if prior is not None:
            if not _same_request(prior, data, kind):
                raise Conflict(
                    "this Idempotency-Key was used for a different payment",
                    code="idempotency_key_reused",
                )
            return prior
    if invoice.status == "void":
        raise Conflict(f"invoice {invoice.number} is void", code="invoice_void")
    if data.amount > invoice.balance:
        raise ValidationFailed(
            "amount",
            f"{data.amount:.2f} is more than the invoice balance {invoice.balance:.2f}",
            code="amount_exceeds_balance",
        )
    if data.payment_method_id is not None:
        method = referenced(
            session,
            PaymentMethod,
            data.payment_method_id,
            company_id=company_id,
            label="payment method",
            field="payment_method_id",
        )
        if method.customer_id != invoice.customer_id:
            raise ValidationFailed(
                "payment_method_id",
                f"payment method {method.id} belongs to another customer than the invoice's",
                code="payment_method_not_of_customer",
            )
    payment = Payment(
        company_id=company_id,
        customer_id=invoice.customer_id,
        invoice_id=invoice.id,
        payment_method_id=data.payment_method_id,
        amount=data.amount,
        kind=kind,
        status="succeeded",
        processor_ref=data.processor_ref,
        idempotency_key=idempotency_key,
        received_at=now,
    )
    session.add(payment)
    session.flush()
    invoice.balance = rules.balance_after(invoice.total, _paid_amounts(session, invoice=invoice))
    if invoice.balance <= 0:
        invoice.status = "paid"
    session.flush()
    return payment


# --- payment methods ------------------------------------------------------------------


def get_payment_method(session: Session, *, company_id: int, method_id: int) -> PaymentMethod:
    method: PaymentMethod = get_scoped(
        session, PaymentMethod, method_id, company_id, "payment method"
    )
    return method


def add_payment_method(
    session: Session, *, company_id: int, data: PaymentMethodIn
) -> PaymentMethod:
    """Keep a processor token, brand and last four for a customer; never a card number."""
    customer = referenced(
        session,
        Customer,
        data.customer_id,
        company_id=company_id,
        label="customer",
        field="customer_id",
    )
    method = PaymentMethod(
        company_id=company_id,
        customer_id=customer.id,
        processor=data.processor,
        token=data.token,
        brand=data.brand,
        last4=data.last4,
        exp_month=data.exp_month,
        exp_year=data.exp_year,
    )
    session.add(method)
    session.flush()
    return method


def remove_payment_method(session: Session, *, method: PaymentMethod) -> None:
    # Payments keep their history; their payment_method_id is set null by the database.
    session.delete(method)
    session.flush()
