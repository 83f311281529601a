"""The invoice link /i/{token}: view and pay through the payment adapter."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.app import create_app
from fieldlink.config import Settings
from fieldlink.jobs.models import Payment
from fieldlink.messaging.models import Message
from tests.conftest import Tenant
from tests.factories.links import Visit, make_visit
from tests.fakes.stripe_api import FakeStripe
from tests.links.helpers import form_of, url


@pytest.fixture
def visit(session: Session, tenant: Tenant) -> Visit:
    return make_visit(session, tenant.company_id)


def _payments(session: Session, visit: Visit) -> list[Payment]:
    session.expire_all()
    return list(
        session.scalars(
            select(Payment).where(Payment.invoice_id == visit.invoice.id).order_by(Payment.id)
        )
    )


def _pay(client: TestClient, link: str, **fields: str) -> object:
    data = form_of(client.get(link).text, "nonce")
    return client.post(link, data={**data, **fields}, follow_redirects=False)


def test_the_invoice_shows_remit_to_website_lines_and_balance(
    client: TestClient, visit: Visit
) -> None:
    page = client.get(url("i", visit.company.id, visit.invoice.id))
    assert page.status_code == 200
    text = page.text
    assert visit.invoice.number in text and "Igniter replacement" in text
    assert "PO Box 100" in text and "Remit to" in text
    assert visit.company.website is not None and visit.company.website in text
    assert "Balance due" in text and "$289.00" in text
    assert "Test mode: no real card is charged." in text and 'value="tok_visa"' in text


def test_paying_the_balance_marks_the_invoice_paid_and_queues_a_receipt(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("i", visit.company.id, visit.invoice.id)
    response = _pay(client, link, amount="289.00", card="tok_visa")
    assert response.status_code == 303  # type: ignore[attr-defined]
    [payment] = _payments(session, visit)
    assert payment.status == "succeeded" and payment.amount == Decimal("289.00")
    assert visit.invoice.balance == Decimal("0.00") and visit.invoice.status == "paid"
    receipt = session.scalar(select(Message).where(Message.touchpoint == "payment_receipt"))
    assert receipt is not None and receipt.to == visit.email.value and receipt.status == "queued"
    shown = client.get(response.headers["location"])  # type: ignore[attr-defined]
    assert "Your payment of $289.00 was received" in shown.text
    assert "Paid in full" in shown.text and 'id="pay-form"' not in shown.text


def test_a_partial_payment_leaves_the_rest_to_pay(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("i", visit.company.id, visit.invoice.id)
    _pay(client, link, amount="$89.00", card="tok_mastercard")
    [payment] = _payments(session, visit)
    assert payment.amount == Decimal("89.00")
    assert visit.invoice.balance == Decimal("200.00") and visit.invoice.status == "sent"
    assert 'value="200.00"' in client.get(link).text  # the form offers the rest


def test_a_double_submission_is_charged_once(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("i", visit.company.id, visit.invoice.id)
    data = form_of(client.get(link).text, "nonce")
    form = {**data, "amount": "100.00", "card": "tok_visa"}
    first = client.post(link, data=form, follow_redirects=False)
    second = client.post(link, data=form, follow_redirects=False)
    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["location"] == second.headers["location"]  # the same payment
    payments = _payments(session, visit)
    assert len(payments) == 1 and visit.invoice.balance == Decimal("189.00")


def test_a_declined_card_shows_why_and_records_nothing_paid(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("i", visit.company.id, visit.invoice.id)
    response = _pay(client, link, amount="289.00", card="tok_chargeDeclinedInsufficientFunds")
    assert response.status_code == 402  # type: ignore[attr-defined]
    assert "Your card has insufficient funds." in response.text  # type: ignore[attr-defined]
    [failed] = _payments(session, visit)
    assert failed.status == "failed"
    assert visit.invoice.balance == Decimal("289.00") and visit.invoice.status == "sent"
    assert session.scalar(select(Message).where(Message.touchpoint == "payment_receipt")) is None
    # The page offers a fresh form: another card now goes through.
    retry = form_of(response.text, "nonce")  # type: ignore[attr-defined]
    ok = client.post(
        link, data={**retry, "amount": "289.00", "card": "tok_visa"}, follow_redirects=False
    )
    assert ok.status_code == 303 and _payments(session, visit)[-1].status == "succeeded"


def test_the_decline_reason_is_shown_in_spanish(client: TestClient, visit: Visit) -> None:
    link = url("i", visit.company.id, visit.invoice.id) + "?lang=es"
    response = _pay(client, link, amount="289.00", card="tok_chargeDeclined")
    assert "Su tarjeta fue rechazada." in response.text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("amount", "status", "message"),
    [
        ("289.01", 409, "more than the balance due"),
        ("0", 409, "greater than zero"),
        ("lots", 422, "Please enter an amount like 125.00."),
        ("", 422, "Please enter an amount like 125.00."),
    ],
)
def test_overpaying_or_a_bad_amount_is_refused_clearly(
    session: Session, client: TestClient, visit: Visit, amount: str, status: int, message: str
) -> None:
    response = _pay(
        client, url("i", visit.company.id, visit.invoice.id), amount=amount, card="tok_visa"
    )
    assert response.status_code == status  # type: ignore[attr-defined]
    assert message in response.text  # type: ignore[attr-defined]
    assert _payments(session, visit) == []


def test_a_paid_invoice_has_no_form_and_refuses_a_stale_one(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("i", visit.company.id, visit.invoice.id)
    stale = form_of(client.get(link).text, "nonce")
    _pay(client, link, amount="289.00", card="tok_visa")
    response = client.post(link, data={**stale, "amount": "10.00", "card": "tok_visa"})
    assert response.status_code == 409
    assert "already paid" in response.text
    assert len(_payments(session, visit)) == 1


def test_an_unknown_card_or_a_missing_nonce_is_refused(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("i", visit.company.id, visit.invoice.id)
    bad_card = _pay(client, link, amount="10.00", card="4242424242424242")
    assert bad_card.status_code == 422  # type: ignore[attr-defined]
    data = form_of(client.get(link).text)
    no_nonce = client.post(link, data={**data, "amount": "10.00", "card": "tok_visa", "nonce": "x"})
    assert no_nonce.status_code == 422
    assert _payments(session, visit) == []


# --- the stripe processor behind the page ----------------------------------------------


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_client(
    settings: Settings, session_factory: sessionmaker[Session], fake_stripe: FakeStripe
) -> TestClient:
    configured = settings.model_copy(
        update={
            "payment_provider": "stripe",
            "stripe_secret_key": SecretStr(fake_stripe.secret_key),
            "stripe_publishable_key": "pk_test_fake",
            "stripe_api_base": fake_stripe.url,
        }
    )
    return TestClient(
        create_app(configured, factory=session_factory), raise_server_exceptions=False
    )


def test_with_stripe_the_page_mounts_stripe_js_and_charges_a_payment_method(
    session: Session, stripe_client: TestClient, fake_stripe: FakeStripe, visit: Visit
) -> None:
    link = url("i", visit.company.id, visit.invoice.id)
    page = stripe_client.get(link)
    assert 'src="https://js.stripe.com/v3/"' in page.text and 'data-key="pk_test_fake"' in page.text
    assert "https://js.stripe.com" in page.headers["content-security-policy"]
    assert 'name="card"' not in page.text  # no test cards with a real processor
    data = form_of(page.text, "nonce")
    form = {**data, "amount": "289.00", "payment_method": "pm_card_visa"}
    first = stripe_client.post(link, data=form, follow_redirects=False)
    again = stripe_client.post(link, data=form, follow_redirects=False)
    assert (first.status_code, again.status_code) == (303, 303)
    assert len(fake_stripe.charges) == 1 and fake_stripe.charges[0]["amount"] == 28900
    [payment] = _payments(session, visit)
    assert payment.processor_ref == fake_stripe.charges[0]["id"]
    assert visit.invoice.status == "paid"


def test_with_stripe_a_decline_shows_stripes_reason(
    session: Session, stripe_client: TestClient, visit: Visit
) -> None:
    link = url("i", visit.company.id, visit.invoice.id)
    data = form_of(stripe_client.get(link).text, "nonce")
    response = stripe_client.post(
        link,
        data={**data, "amount": "289.00", "payment_method": "pm_card_chargeDeclinedExpiredCard"},
    )
    assert response.status_code == 402 and "Your card has expired." in response.text
    assert [p.status for p in _payments(session, visit)] == ["failed"]
