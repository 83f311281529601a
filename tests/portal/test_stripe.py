"""The portal with the stripe processor (the official library against a local fake over
HTTP): Stripe.js on the page, a saved card attached to the customer at Stripe and charged
from the portal; card data never reaches us."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.jobs.models import Invoice, PaymentMethod
from fieldlink.portal.models import ProcessorCustomer
from tests.conftest import Tenant
from tests.fakes.stripe_api import FakeStripe
from tests.portal.helpers import Seed, csrf_of, logged_in, seed

_NONCE = re.compile(r'name="nonce" value="([^"]+)"')


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def web(client: TestClient, session: Session, tenant: Tenant, fake: FakeStripe) -> TestClient:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={
            "payment_provider": "stripe",
            "stripe_secret_key": SecretStr(fake.secret_key),
            "stripe_publishable_key": "pk_test_portal",
            "stripe_api_base": fake.url,
        }
    )
    client.app.state.seed = seed(session, tenant.company_id)  # type: ignore[attr-defined]
    return logged_in(client, client.app.state.seed)  # type: ignore[attr-defined]


def test_save_a_stripe_card_and_pay_with_it(
    web: TestClient, session: Session, fake: FakeStripe
) -> None:
    s: Seed = web.app.state.seed  # type: ignore[attr-defined]
    page = web.get(f"/portal/{s.code}/payment-methods")
    assert 'data-key="pk_test_portal"' in page.text
    assert "https://js.stripe.com" in page.headers["content-security-policy"]
    added = web.post(
        f"/portal/{s.code}/payment-methods",
        data={"csrf_token": csrf_of(page.text), "payment_method": "pm_card_visa"},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    method = session.scalar(select(PaymentMethod).where(PaymentMethod.processor == "stripe"))
    assert method is not None and method.token.startswith("pm_") and method.last4 == "4242"
    customer_ref = session.scalar(select(ProcessorCustomer.ref))
    assert customer_ref is not None and customer_ref.startswith("cus_")
    pay = web.get(f"/portal/{s.code}/invoices/{s.invoice.id}/pay")
    nonce = _NONCE.search(pay.text)
    assert nonce
    paid = web.post(
        f"/portal/{s.code}/invoices/{s.invoice.id}/pay",
        data={
            "csrf_token": csrf_of(pay.text),
            "nonce": nonce.group(1),
            "amount": "289.00",
            "saved": f"saved-{method.id}",
        },
        follow_redirects=False,
    )
    assert paid.status_code == 303, paid.text
    assert fake.charges[-1]["customer"] == customer_ref
    session.expire_all()
    invoice = session.get(Invoice, s.invoice.id)
    assert invoice is not None and invoice.balance == Decimal("0.00")
