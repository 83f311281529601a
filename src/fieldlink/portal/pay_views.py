"""Portal payments: pay an invoice (saved card or a new one) and save a card, both
through the payment adapter's token flow (``fieldlink.payments``)."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from fieldlink.config import Settings
from fieldlink.db import utcnow
from fieldlink.errors import FieldlinkError, NotFound
from fieldlink.jobs.models import Invoice, Payment, PaymentMethod
from fieldlink.links.invoice_views import REFUSALS, STRIPE_CSP, parse_amount
from fieldlink.pages import csrf
from fieldlink.pages.i18n import N_
from fieldlink.payments import PaymentRefused, ProcessorUnavailable, pay_invoice, processor
from fieldlink.payments.sandbox import PAGE_CARDS as TEST_CARDS
from fieldlink.payments.service import submission_key
from fieldlink.portal import cards, queries
from fieldlink.portal.context import Portal, require_login
from fieldlink.portal.pages import helpers, parse_int
from fieldlink.web.deps import DbSession, get_links

router = APIRouter(tags=["portal pages"], include_in_schema=False)
CSRF = [Depends(csrf.verify)]
P = "/portal/{company_code}"
_NONCE = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")
UNAVAILABLE = N_(
    "The payment service is not answering right now. Nothing was charged; "
    "please try again in a few minutes."
)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _card_context(portal: Portal) -> dict[str, Any]:
    settings = _settings(portal.request)
    stripe = settings.payment_provider == "stripe"
    return {
        "provider": settings.payment_provider,
        "test_cards": TEST_CARDS,
        "stripe_key": settings.stripe_publishable_key if stripe else "",
    }


def _headers(portal: Portal) -> dict[str, str] | None:
    stripe = _settings(portal.request).payment_provider == "stripe"
    return {"Content-Security-Policy": STRIPE_CSP} if stripe else None


def _pay_page(
    portal: Portal,
    invoice: Invoice,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    amount: str | None = None,
    nonce: str | None = None,
    choice: str = "",
) -> Response:
    saved = queries.payment_methods(portal) if portal.settings.payment_methods else []
    saved = [m for m in saved if m.customer_id == invoice.customer_id]
    paid_id = request_paid(portal)
    just_paid = portal.session.get(Payment, paid_id) if paid_id is not None else None
    if just_paid is not None and just_paid.invoice_id != invoice.id:
        just_paid = None
    context = {
        **helpers(portal),
        **_card_context(portal),
        "invoice": invoice,
        "saved_cards": saved,
        "choice": choice or (f"saved-{saved[0].id}" if saved else TEST_CARDS[0][0]),
        "errors": errors or {},
        "amount": amount if amount is not None else f"{invoice.balance:.2f}",
        "nonce": nonce or secrets.token_urlsafe(18),
        "just_paid": just_paid,
        "payable": invoice.status == "sent" and invoice.balance > 0,
    }
    response = portal.page("portal/pay.html", context, status=status)
    for key, value in (_headers(portal) or {}).items():
        response.headers[key] = value
    return response


def request_paid(portal: Portal) -> int | None:
    return parse_int(portal.request.query_params.get("paid"))


def _invoice(portal: Portal, invoice_id: int) -> Invoice:
    invoice: Invoice = queries.one_of(portal, Invoice, invoice_id, "invoice")
    if invoice.status not in queries.VISIBLE_INVOICE_STATUSES:
        raise NotFound("invoice not found")
    return invoice


@router.get(P + "/invoices/{invoice_id}/pay", response_model=None)
def pay_page(company_code: str, invoice_id: int, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "can_make_payment")
    if not isinstance(portal, Portal):
        return portal
    return _pay_page(portal, _invoice(portal, invoice_id))


@router.post(P + "/invoices/{invoice_id}/pay", dependencies=CSRF, response_model=None)
async def pay_submit(
    company_code: str, invoice_id: int, request: Request, session: DbSession
) -> Response:
    portal = require_login(request, session, company_code, "can_make_payment")
    if not isinstance(portal, Portal):
        return portal
    invoice = _invoice(portal, invoice_id)
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip()[:200] if isinstance(value, str) else ""

    choice = text("saved") or text("card")
    nonce = text("nonce")
    page: dict[str, Any] = {"amount": text("amount")[:40], "choice": choice}
    value = parse_amount(text("amount"))
    errors: dict[str, str] = {}
    if value is None:
        errors["amount"] = N_("Please enter an amount like 125.00.")
    method, source = _source(portal, invoice, text("saved"), text("card"), text("payment_method"))
    if source is None:
        errors["card"] = N_("Please choose a card.")
    if not _NONCE.match(nonce):
        errors["form"] = N_("This form has expired. Please go back, reload the page and try again.")
    if errors or value is None or source is None:
        return _pay_page(portal, invoice, status=422, errors=errors, **page)
    return _charge(portal, invoice, value, source, method, nonce, page)


def _source(
    portal: Portal, invoice: Invoice, saved: str, card: str, payment_method: str
) -> tuple[PaymentMethod | None, str | None]:
    """The saved card (only the customer's own) or the new card's token to charge."""
    if saved.startswith("saved-") and portal.settings.payment_methods:
        method_id = parse_int(saved.removeprefix("saved-"))
        method = portal.session.get(PaymentMethod, method_id) if method_id else None
        if (
            method is None
            or method.company_id != portal.company.id
            or method.customer_id != invoice.customer_id
        ):
            raise NotFound("payment method not found")
        return method, method.token
    provider = _settings(portal.request).payment_provider
    source = payment_method if provider == "stripe" else card
    if not source or (provider == "test" and source not in dict(TEST_CARDS)):
        return None, None
    return None, source


def _charge(
    portal: Portal,
    invoice: Invoice,
    amount: Decimal,
    source: str,
    method: PaymentMethod | None,
    nonce: str,
    page: dict[str, Any],
) -> Response:
    settings = _settings(portal.request)
    customer_ref = (
        cards.customer_ref_of(
            portal.session, customer_id=invoice.customer_id, processor=method.processor
        )
        if method is not None
        else None
    )
    try:
        outcome = pay_invoice(
            portal.session,
            invoice=invoice,
            amount=amount,
            token_or_method=source,
            idempotency_key=submission_key(invoice.id, nonce),
            processor=processor(settings),
            links=get_links(portal.request),
            now=utcnow(),
            payment_method=method,
            customer_ref=customer_ref,
        )
    except PaymentRefused as exc:
        message = REFUSALS.get(exc.code, N_("This payment could not be made. Nothing was charged."))
        return _pay_page(portal, invoice, status=409, errors={"form": message}, **page)
    if outcome.ok and outcome.payment is not None:
        return RedirectResponse(
            f"{portal.base}/invoices/{invoice.id}/pay?paid={outcome.payment.id}", status_code=303
        )
    if outcome.status == "unavailable":
        return _pay_page(
            portal, invoice, status=503, errors={"form": UNAVAILABLE}, nonce=nonce, **page
        )
    declined = outcome.message or N_("Your card was declined.")
    return _pay_page(portal, invoice, status=402, errors={"card": declined}, **page)


# --- save a card -----------------------------------------------------------------------


@router.post(P + "/payment-methods", dependencies=CSRF, response_model=None)
async def add_card(company_code: str, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "payment_methods")
    if not isinstance(portal, Portal):
        return portal
    form = await request.form()
    settings = _settings(request)
    field = "payment_method" if settings.payment_provider == "stripe" else "card"
    value = form.get(field)
    token = value.strip()[:200] if isinstance(value, str) else ""
    error: str | None = None
    if not token or (settings.payment_provider == "test" and token not in dict(TEST_CARDS)):
        error = N_("Please choose a card.")
    else:
        try:
            cards.save_card(
                session,
                customer=portal.customer,
                token=token,
                processor=processor(settings),
                now=utcnow(),
            )
        except ProcessorUnavailable:
            error = UNAVAILABLE
        except (ValueError, FieldlinkError) as exc:
            session.rollback()
            error = str(exc) if isinstance(exc, ValueError) else N_("Please choose a card.")
    if error is None:
        return RedirectResponse(f"{portal.base}/payment-methods?done=added", status_code=303)
    return methods_page(portal, error=error, status=422)


def methods_page(portal: Portal, *, error: str | None = None, status: int = 200) -> Response:
    response = portal.page(
        "portal/payment_methods.html",
        {
            **helpers(portal),
            **_card_context(portal),
            "cards": queries.payment_methods(portal),
            "notice": portal.request.query_params.get("done"),
            "error": error,
        },
        status=status,
    )
    for key, value in (_headers(portal) or {}).items():
        response.headers[key] = value
    return response


@router.get(P + "/payment-methods", response_model=None)
def payment_methods(company_code: str, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "payment_methods")
    if not isinstance(portal, Portal):
        return portal
    return methods_page(portal)


@router.post(P + "/payment-methods/{method_id}/remove", dependencies=CSRF, response_model=None)
def remove_card(
    company_code: str, method_id: int, request: Request, session: DbSession
) -> Response:
    portal = require_login(request, session, company_code, "payment_methods")
    if not isinstance(portal, Portal):
        return portal
    method: PaymentMethod = queries.one_of(portal, PaymentMethod, method_id, "payment method")
    if method.customer_id != portal.customer.id:
        raise NotFound("payment method not found")
    try:
        cards.remove_card(session, method=method, processor=processor(_settings(request)))
    except ProcessorUnavailable:
        return methods_page(portal, error=UNAVAILABLE, status=503)
    return RedirectResponse(f"{portal.base}/payment-methods?done=removed", status_code=303)
