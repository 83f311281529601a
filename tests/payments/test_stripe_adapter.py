"""The stripe adapter runs the official ``stripe`` library against a local fake over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from fieldlink.config import Settings
from fieldlink.payments import ProcessorUnavailable, processor
from fieldlink.payments.stripe_adapter import StripeProcessor
from tests.fakes.stripe_api import FakeStripe


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_processor(fake: FakeStripe) -> StripeProcessor:
    chosen = processor(
        Settings(
            payment_provider="stripe",
            stripe_secret_key=fake.secret_key,  # type: ignore[arg-type]
            stripe_api_base=fake.url,
        )
    )
    assert isinstance(chosen, StripeProcessor)
    return chosen


def test_a_token_is_charged_through_a_confirmed_payment_intent(
    fake: FakeStripe, stripe_processor: StripeProcessor
) -> None:
    result = stripe_processor.charge(
        amount=Decimal("289.00"),
        currency="usd",
        token_or_method="tok_visa",
        idempotency_key="pay:invoice:1:abcdef12",
    )
    assert result.succeeded
    assert result.processor_ref is not None and result.processor_ref.startswith("pi_")
    assert (result.amount, result.brand, result.last4) == (Decimal("289.00"), "visa", "4242")
    assert len(fake.charges) == 1
    assert fake.charges[0]["amount"] == 28900  # cents, as Stripe counts
    assert fake.charges[0]["source"] == "tok_visa"


def test_the_same_idempotency_key_is_charged_once(
    fake: FakeStripe, stripe_processor: StripeProcessor
) -> None:
    first = stripe_processor.charge(
        amount=Decimal("10.00"),
        currency="usd",
        token_or_method="tok_visa",
        idempotency_key="pay:invoice:1:same-key",
    )
    again = stripe_processor.charge(
        amount=Decimal("10.00"),
        currency="usd",
        token_or_method="tok_visa",
        idempotency_key="pay:invoice:1:same-key",
    )
    assert first.processor_ref == again.processor_ref
    assert len(fake.charges) == 1


def test_a_declined_card_says_why(fake: FakeStripe, stripe_processor: StripeProcessor) -> None:
    result = stripe_processor.charge(
        amount=Decimal("10.00"),
        currency="usd",
        token_or_method="tok_chargeDeclinedInsufficientFunds",
        idempotency_key="pay:invoice:2:declined",
    )
    assert result.status == "declined"
    assert result.failure_code == "insufficient_funds"
    assert result.failure_message == "Your card has insufficient funds."


def test_an_unknown_payment_method_is_a_decline_not_an_outage(
    stripe_processor: StripeProcessor,
) -> None:
    result = stripe_processor.charge(
        amount=Decimal("10.00"),
        currency="usd",
        token_or_method="pm_nonexistent",
        idempotency_key="pay:invoice:2:unknown",
    )
    assert result.status == "declined"
    assert result.failure_code == "resource_missing"


def test_a_processor_outage_raises_unavailable(fake: FakeStripe) -> None:
    adapter = StripeProcessor(secret_key=fake.secret_key, api_base=fake.url)
    fake.fail_next = 10  # more than the library's retries
    with pytest.raises(ProcessorUnavailable):
        adapter.charge(
            amount=Decimal("10.00"),
            currency="usd",
            token_or_method="tok_visa",
            idempotency_key="pay:invoice:3:outage",
        )
    assert fake.charges == []


def test_a_wrong_secret_key_is_an_outage_not_a_decline(fake: FakeStripe) -> None:
    adapter = StripeProcessor(secret_key="sk_test_wrong", api_base=fake.url)
    with pytest.raises(ProcessorUnavailable):
        adapter.charge(
            amount=Decimal("1.00"),
            currency="usd",
            token_or_method="tok_visa",
            idempotency_key="pay:invoice:4:badkey",
        )


def test_cards_on_file_attach_list_charge_and_detach(
    fake: FakeStripe, stripe_processor: StripeProcessor
) -> None:
    customer = stripe_processor.create_customer(name="Pat Doe", email="pat@example.com")
    assert customer.startswith("cus_")
    method = stripe_processor.attach_method(customer_ref=customer, token_or_method="pm_card_visa")
    assert (method.brand, method.last4) == ("visa", "4242")
    assert [m.ref for m in stripe_processor.list_methods(customer_ref=customer)] == [method.ref]
    paid = stripe_processor.charge(
        amount=Decimal("5.00"),
        currency="usd",
        token_or_method=method.ref,
        idempotency_key="pay:invoice:5:saved",
        customer_ref=customer,
    )
    assert paid.succeeded and fake.charges[-1]["customer"] == customer
    stripe_processor.detach_method(method_ref=method.ref)
    assert stripe_processor.list_methods(customer_ref=customer) == []
    stripe_processor.detach_method(method_ref=method.ref)  # twice is harmless


def test_the_stripe_processor_needs_a_secret_key() -> None:
    with pytest.raises(ValueError, match="FIELDLINK_STRIPE_SECRET_KEY"):
        processor(Settings(payment_provider="stripe"))
