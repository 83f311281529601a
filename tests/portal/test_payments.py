"""Portal payments through the payment adapter (test processor): pay an invoice with a new
or saved card, once per submission; save and remove cards through the token flow."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldlink.jobs.models import Invoice, Payment, PaymentMethod
from fieldlink.payments.sandbox import TestProcessor
from fieldlink.portal.models import ProcessorCustomer
from tests.conftest import Tenant
from tests.portal.helpers import Seed, csrf_of, logged_in, seed, set_portal

_NONCE = re.compile(r'name="nonce" value="([^"]+)"')


@pytest.fixture
def s(session: Session, tenant: Tenant) -> Seed:
    return seed(session, tenant.company_id)


@pytest.fixture
def web(client: TestClient, s: Seed) -> TestClient:
    return logged_in(client, s)


def _pay(web: TestClient, s: Seed, invoice: Invoice, **fields: str) -> object:
    page = web.get(f"/portal/{s.code}/invoices/{invoice.id}/pay")
    assert page.status_code == 200
    nonce = _NONCE.search(page.text)
    assert nonce
    data = {"csrf_token": csrf_of(page.text), "nonce": nonce.group(1), **fields}
    return web.post(
        f"/portal/{s.code}/invoices/{invoice.id}/pay", data=data, follow_redirects=False
    )


def _balance(session: Session, invoice: Invoice) -> Decimal:
    session.expire_all()
    fresh = session.get(Invoice, invoice.id)
    assert fresh is not None
    return fresh.balance


def test_pay_an_invoice_with_a_new_test_card(web: TestClient, s: Seed, session: Session) -> None:
    response = _pay(web, s, s.invoice, amount="289.00", saved="new", card="tok_visa")
    assert response.status_code == 303  # type: ignore[attr-defined]
    thanks = web.get(response.headers["location"])  # type: ignore[attr-defined]
    assert "Your payment of $289.00 was received" in thanks.text
    assert _balance(session, s.invoice) == Decimal("0.00")
    history = web.get(f"/portal/{s.code}/payments").text
    assert "INV-2" in history and "$289.00" in history


def test_pay_part_of_the_balance_with_a_saved_card(
    web: TestClient, s: Seed, session: Session
) -> None:
    response = _pay(web, s, s.invoice, amount="89.00", saved=f"saved-{s.card.id}")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert _balance(session, s.invoice) == Decimal("200.00")
    payment = session.scalar(select(Payment).where(Payment.invoice_id == s.invoice.id))
    assert payment is not None and payment.payment_method_id == s.card.id


def test_a_double_submission_charges_once(web: TestClient, s: Seed, session: Session) -> None:
    page = web.get(f"/portal/{s.code}/invoices/{s.invoice.id}/pay")
    nonce = _NONCE.search(page.text)
    assert nonce
    data = {
        "csrf_token": csrf_of(page.text),
        "nonce": nonce.group(1),
        "amount": "100.00",
        "saved": "new",
        "card": "tok_visa",
    }
    url = f"/portal/{s.code}/invoices/{s.invoice.id}/pay"
    first = web.post(url, data=data, follow_redirects=False)
    second = web.post(url, data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    count = session.scalar(
        select(func.count()).select_from(Payment).where(Payment.invoice_id == s.invoice.id)
    )
    assert count == 1
    assert _balance(session, s.invoice) == Decimal("189.00")


def test_a_declined_card_shows_why_and_pays_nothing(
    web: TestClient, s: Seed, session: Session
) -> None:
    response = _pay(web, s, s.invoice, amount="289.00", saved="new", card="tok_chargeDeclined")
    assert response.status_code == 402  # type: ignore[attr-defined]
    assert "Your card was declined" in response.text  # type: ignore[attr-defined]
    assert _balance(session, s.invoice) == Decimal("289.00")


@pytest.mark.parametrize(
    ("amount", "status", "message"),
    [
        ("500.00", 409, "more than the balance"),
        ("abc", 422, "amount like 125.00"),
        ("0", 409, "greater than zero"),
    ],
)
def test_bad_amounts_are_refused(
    web: TestClient, s: Seed, session: Session, amount: str, status: int, message: str
) -> None:
    response = _pay(web, s, s.invoice, amount=amount, saved="new", card="tok_visa")
    assert response.status_code == status  # type: ignore[attr-defined]
    assert message in response.text  # type: ignore[attr-defined]
    assert _balance(session, s.invoice) == Decimal("289.00")


def test_card_numbers_are_never_accepted(web: TestClient, s: Seed, session: Session) -> None:
    response = _pay(web, s, s.invoice, amount="10.00", saved="new", card="4242424242424242")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert session.scalar(select(func.count()).select_from(Payment)) == 1  # the seeded one


def test_another_customers_invoice_or_card_is_404(
    web: TestClient, s: Seed, session: Session, other_tenant: Tenant
) -> None:
    neighbour = seed(session, s.company.id, prefix="n-")
    stranger = seed(session, other_tenant.company_id, prefix="x-")
    for other in (neighbour, stranger):
        assert web.get(f"/portal/{s.code}/invoices/{other.invoice.id}/pay").status_code == 404
    response = _pay(web, s, s.invoice, amount="10.00", saved=f"saved-{neighbour.card.id}")
    assert response.status_code == 404  # type: ignore[attr-defined]
    assert _balance(session, s.invoice) == Decimal("289.00")


@pytest.mark.parametrize("on", [True, False])
def test_can_make_payment_toggle(web: TestClient, s: Seed, session: Session, on: bool) -> None:
    set_portal(session, s.company, can_make_payment=on)
    session.commit()
    assert web.get(f"/portal/{s.code}/invoices/{s.invoice.id}/pay").status_code == (
        200 if on else 404
    )
    link = f'href="/portal/{s.code}/invoices/{s.invoice.id}/pay"'
    assert (link in web.get(f"/portal/{s.code}/dashboard").text) is on
    assert (link in web.get(f"/portal/{s.code}/history").text) is on


def test_save_a_card_through_the_token_flow_and_remove_it(
    web: TestClient, s: Seed, session: Session
) -> None:
    page = web.get(f"/portal/{s.code}/payment-methods")
    assert 'value="tok_mastercard"' in page.text
    added = web.post(
        f"/portal/{s.code}/payment-methods",
        data={"csrf_token": csrf_of(page.text), "card": "tok_mastercard"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert "The card was added" in web.get(added.headers["location"]).text
    method = session.scalar(select(PaymentMethod).where(PaymentMethod.last4 == "4444"))
    assert method is not None and method.customer_id == s.customer.id
    assert method.token.startswith("pm_test_mastercard_")  # the processor's id, no card data
    ref = session.scalar(select(ProcessorCustomer.ref))
    assert ref is not None
    assert [m.ref for m in TestProcessor.customers[ref]] == [method.token]
    # The saved card pays.
    paid = _pay(web, s, s.invoice, amount="20.00", saved=f"saved-{method.id}")
    assert paid.status_code == 303  # type: ignore[attr-defined]
    # Removing it detaches it at the processor too.
    page = web.get(f"/portal/{s.code}/payment-methods")
    removed = web.post(
        f"/portal/{s.code}/payment-methods/{method.id}/remove",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert TestProcessor.customers[ref] == []
    assert session.scalar(select(PaymentMethod).where(PaymentMethod.id == method.id)) is None


def test_an_unknown_token_is_refused_when_saving(web: TestClient, s: Seed) -> None:
    page = web.get(f"/portal/{s.code}/payment-methods")
    response = web.post(
        f"/portal/{s.code}/payment-methods",
        data={"csrf_token": csrf_of(page.text), "card": "4111111111111111"},
    )
    assert response.status_code == 422
    assert "Please choose a card" in response.text
