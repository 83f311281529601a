"""The invoice link ``/i/{token}``: view the invoice and pay it through the payment adapter.

Each rendering of the form carries a fresh random ``nonce``; with the invoice id it makes the
idempotency key, so a double click or a resubmitted form is charged once. The ``test``
processor offers test cards; ``stripe`` mounts Stripe.js card fields, which hand us only a
payment-method id (card data never reaches this server).
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.db import utcnow
from fieldlink.jobs.models import Invoice, Payment
from fieldlink.links.access import links_of, open_link, settings_of
from fieldlink.links.summary import display_lines, format_when, money
from fieldlink.pages import csrf, i18n, render
from fieldlink.pages.i18n import N_
from fieldlink.pages.render import CSP
from fieldlink.payments import PaymentRefused, pay_invoice, processor
from fieldlink.payments.service import submission_key
from fieldlink.web.deps import DbSession

router = APIRouter(tags=["pages"], include_in_schema=False)

_NONCE = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")
_AMOUNT = re.compile(r"^\$?\s*(\d{1,9}(?:,\d{3})*|\d+)(\.\d{1,2})?$")
# What the test processor offers on the page (Stripe's test tokens).
TEST_CARDS = (
    ("tok_visa", N_("Visa ending 4242 (approved)")),
    ("tok_mastercard", N_("Mastercard ending 4444 (approved)")),
    ("tok_chargeDeclined", N_("Visa ending 0002 (declined)")),
    ("tok_chargeDeclinedInsufficientFunds", N_("Visa ending 9995 (insufficient funds)")),
    ("tok_chargeDeclinedExpiredCard", N_("Visa ending 0069 (expired card)")),
)
REFUSALS = {
    "invoice_paid": N_("This invoice is already paid. Nothing was charged."),
    "invoice_void": N_("This invoice was cancelled. Nothing was charged."),
    "amount_exceeds_balance": N_(
        "The amount is more than the balance due. Please pay at most the balance."
    ),
    "invalid_amount": N_("Please enter an amount greater than zero, like 125.00."),
    "idempotency_key_reused": N_(
        "This payment form was already submitted. Please reload the page to pay again."
    ),
}
STRIPE_CSP = CSP.replace("script-src 'self'", "script-src 'self' https://js.stripe.com") + (
    "; frame-src https://js.stripe.com https://hooks.stripe.com"
    "; connect-src 'self' https://api.stripe.com"
)


def parse_amount(text: str) -> Decimal | None:
    match = _AMOUNT.match(text.strip())
    if not match:
        return None
    try:
        return Decimal(match.group(0).lstrip("$").strip().replace(",", ""))
    except InvalidOperation:
        return None


def _invoice_page(
    request: Request,
    session: Session,
    *,
    token: str,
    company: Company,
    invoice: Invoice,
    status: int = 200,
    errors: dict[str, str] | None = None,
    amount: str | None = None,
    nonce: str | None = None,
    card: str = "",
) -> HTMLResponse:
    lang = i18n.choose(request)
    settings = settings_of(request)
    payments = list(
        session.scalars(
            select(Payment)
            .where(Payment.invoice_id == invoice.id, Payment.status == "succeeded")
            .order_by(Payment.received_at, Payment.id)
        )
    )
    just_paid = next((p for p in payments if str(p.id) == request.query_params.get("paid")), None)
    stripe = settings.payment_provider == "stripe"
    context: dict[str, Any] = {
        "token": token,
        "invoice": invoice,
        "company": company,
        "money": money,
        "lines": display_lines(invoice.lines),
        "payments": [
            (format_when(company, p.received_at, lang), money(p.amount)) for p in payments
        ],
        "paid_total": money(invoice.total - invoice.balance),
        "just_paid": money(just_paid.amount) if just_paid else None,
        "payable": invoice.status == "sent" and invoice.balance > 0,
        "errors": errors or {},
        "amount": amount if amount is not None else f"{invoice.balance:.2f}",
        "nonce": nonce or secrets.token_urlsafe(18),
        "provider": settings.payment_provider,
        "test_cards": TEST_CARDS,
        "card": card or TEST_CARDS[0][0],
        "stripe_key": settings.stripe_publishable_key if stripe else "",
    }
    headers = {"Content-Security-Policy": STRIPE_CSP} if stripe else None
    return render(
        request, "links/invoice.html", context, company=company, status=status, headers=headers
    )


@router.get("/i/{token}", response_class=HTMLResponse)
def invoice_link(token: str, request: Request, session: DbSession) -> HTMLResponse:
    company, invoice = open_link(
        session, request, kind="i", token=token, model=Invoice, now=utcnow()
    )
    return _invoice_page(request, session, token=token, company=company, invoice=invoice)


@router.post("/i/{token}", response_class=Response, dependencies=[Depends(csrf.verify)])
def pay_invoice_link(
    token: str,
    request: Request,
    session: DbSession,
    amount: str = Form(""),
    card: str = Form(""),
    payment_method: str = Form(""),
    nonce: str = Form(""),
) -> Response:
    now = utcnow()
    company, invoice = open_link(session, request, kind="i", token=token, model=Invoice, now=now)
    settings = settings_of(request)
    source = (payment_method if settings.payment_provider == "stripe" else card).strip()
    page: dict[str, Any] = dict(
        token=token, company=company, invoice=invoice, amount=amount[:40], card=card[:60]
    )
    value = parse_amount(amount)
    errors: dict[str, str] = {}
    if value is None:
        errors["amount"] = N_("Please enter an amount like 125.00.")
    known = settings.payment_provider != "test" or source in dict(TEST_CARDS)
    if not source or len(source) > 200 or not known:
        errors["card"] = N_("Please choose a card.")
    if not _NONCE.match(nonce):
        errors["form"] = N_("This form has expired. Please go back, reload the page and try again.")
    if errors or value is None:
        return _invoice_page(request, session, **page, status=422, errors=errors)
    try:
        outcome = pay_invoice(
            session,
            invoice=invoice,
            amount=value,
            token_or_method=source,
            idempotency_key=submission_key(invoice.id, nonce),
            processor=processor(settings),
            links=links_of(request),
            now=now,
        )
    except PaymentRefused as exc:
        message = REFUSALS.get(exc.code, N_("This payment could not be made. Nothing was charged."))
        return _invoice_page(request, session, **page, status=409, errors={"form": message})
    if outcome.ok and outcome.payment is not None:
        return RedirectResponse(f"/i/{token}?paid={outcome.payment.id}", status_code=303)
    if outcome.status == "unavailable":
        # Keep the nonce: the retry is safe (the processor answers a repeat key once).
        message = outcome.message or ""
        return _invoice_page(
            request, session, **page, status=503, errors={"form": message}, nonce=nonce
        )
    declined = outcome.message or N_("Your card was declined.")
    return _invoice_page(request, session, **page, status=402, errors={"card": declined})
