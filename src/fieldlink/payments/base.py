"""The payment processor interface every adapter implements, and the factory from settings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, Protocol

from fieldlink.config import Settings

ChargeStatus = Literal["succeeded", "declined"]


class ProcessorUnavailable(Exception):
    """The processor could not be reached or refused our credentials.

    Nothing is known to be charged: retrying with the same idempotency key is safe (the
    processor returns the first answer if the first attempt did get through).
    """


@dataclass(frozen=True)
class ChargeResult:
    """What the processor answered for one charge attempt.

    ``failure_message`` is written for the customer ("Your card was declined."); the code
    is the processor's (``card_declined``, ``insufficient_funds``, ``expired_card`` …).
    """

    status: ChargeStatus
    processor_ref: str | None
    amount: Decimal
    currency: str
    brand: str | None = None
    last4: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class MethodInfo:
    """A card on file at the processor: its id there, brand and last four, never more."""

    ref: str
    brand: str
    last4: str
    exp_month: int | None = None
    exp_year: int | None = None


class PaymentProcessor(Protocol):
    """A card processor. Every call that moves money takes an idempotency key, so a
    retried or double-submitted request is charged once."""

    name: str

    def charge(
        self,
        *,
        amount: Decimal,
        currency: str,
        token_or_method: str,
        idempotency_key: str,
        customer_ref: str | None = None,
        description: str | None = None,
    ) -> ChargeResult: ...

    def create_customer(
        self, *, name: str, email: str | None = None, idempotency_key: str | None = None
    ) -> str: ...

    def attach_method(self, *, customer_ref: str, token_or_method: str) -> MethodInfo: ...

    def list_methods(self, *, customer_ref: str) -> list[MethodInfo]: ...

    def detach_method(self, *, method_ref: str) -> None: ...


def to_minor_units(amount: Decimal) -> int:
    """Dollars to cents, as processors count."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor_units(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def processor(settings: Settings) -> PaymentProcessor:
    """The adapter named by ``FIELDLINK_PAYMENT_PROVIDER`` (``test`` by default)."""
    if settings.payment_provider == "stripe":
        from fieldlink.payments.stripe_adapter import StripeProcessor

        return StripeProcessor(
            secret_key=settings.stripe_secret_key.get_secret_value(),
            api_base=settings.stripe_api_base,
        )
    from fieldlink.payments.sandbox import TestProcessor

    return TestProcessor()
