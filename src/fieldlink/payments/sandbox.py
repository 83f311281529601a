"""The ``test`` processor: no network, no money; Stripe-like test tokens decide the outcome.

Used by the demo, the tests and any installation without a real processor. Tokens follow
Stripe's test tokens, so the same card choices work against both adapters:

``tok_visa``, ``tok_mastercard``, ``tok_amex`` succeed; ``tok_chargeDeclined``,
``tok_chargeDeclinedInsufficientFunds``, ``tok_chargeDeclinedExpiredCard`` and
``tok_chargeDeclinedIncorrectCvc`` are declined with the reason a customer would see.
``pm_card_visa`` style ids work the same. Cards attached to a test customer get an id that
carries the card (``pm_test_visa_…``), so charging it later needs no stored state.

Charges are idempotent per key like a real processor's: the same key returns the first
answer. The ledger and the per-customer card lists live in this process only.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from fieldlink.pages.i18n import N_
from fieldlink.payments.base import ChargeResult, MethodInfo


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    failure_code: str | None = None
    failure_message: str | None = None


# Marked for the page catalog: the invoice page shows these in the customer's language.
_DECLINED = N_("Your card was declined.")
CARDS: dict[str, TestCard] = {
    "visa": TestCard("visa", "4242"),
    "mastercard": TestCard("mastercard", "4444"),
    "amex": TestCard("amex", "8431"),
    "chargeDeclined": TestCard("visa", "0002", "card_declined", _DECLINED),
    "chargeDeclinedInsufficientFunds": TestCard(
        "visa", "9995", "insufficient_funds", N_("Your card has insufficient funds.")
    ),
    "chargeDeclinedExpiredCard": TestCard(
        "visa", "0069", "expired_card", N_("Your card has expired.")
    ),
    "chargeDeclinedIncorrectCvc": TestCard(
        "visa", "0127", "incorrect_cvc", N_("Your card's security code is incorrect.")
    ),
}

# The cards a page offers while the ``test`` processor is configured (invoice link, portal).
PAGE_CARDS = (
    ("tok_visa", N_("Visa ending 4242 (approved)")),
    ("tok_mastercard", N_("Mastercard ending 4444 (approved)")),
    ("tok_chargeDeclined", N_("Visa ending 0002 (declined)")),
    ("tok_chargeDeclinedInsufficientFunds", N_("Visa ending 9995 (insufficient funds)")),
    ("tok_chargeDeclinedExpiredCard", N_("Visa ending 0069 (expired card)")),
)


def card_of(token_or_method: str) -> tuple[str, TestCard] | None:
    """The test card a token (``tok_visa``), test method (``pm_card_visa``) or attached
    method id (``pm_test_visa_ab12``) stands for."""
    for prefix in ("tok_", "pm_card_"):
        if token_or_method.startswith(prefix):
            name = token_or_method[len(prefix) :]
            return (name, CARDS[name]) if name in CARDS else None
    if token_or_method.startswith("pm_test_"):
        name = token_or_method[len("pm_test_") :].rsplit("_", 1)[0]
        return (name, CARDS[name]) if name in CARDS else None
    return None


class TestProcessor:
    """In-process stand-in for a card processor (see the module docstring)."""

    __test__ = False  # not a pytest test class
    name = "test"
    _lock: ClassVar[threading.Lock] = threading.Lock()
    ledger: ClassVar[dict[str, ChargeResult]] = {}
    calls: ClassVar[list[str]] = []
    customers: ClassVar[dict[str, list[MethodInfo]]] = {}

    def charge(
        self,
        *,
        amount: Decimal,
        currency: str,
        token_or_method: str,
        idempotency_key: str,
        customer_ref: str | None = None,
        description: str | None = None,
    ) -> ChargeResult:
        with self._lock:
            self.calls.append(idempotency_key)
            if idempotency_key in self.ledger:
                first = self.ledger[idempotency_key]
                if first.amount != amount:  # as Stripe: a key is bound to its parameters
                    raise ValueError("idempotency key reused with other parameters")
                return first
            ref = "pi_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
            found = card_of(token_or_method)
            if found is None:
                result = ChargeResult(
                    "declined",
                    ref,
                    amount,
                    currency,
                    failure_code="invalid_payment_method",
                    failure_message=N_("This card could not be used. Please try another card."),
                )
            else:
                card = found[1]
                result = ChargeResult(
                    "declined" if card.failure_code else "succeeded",
                    ref,
                    amount,
                    currency,
                    brand=card.brand,
                    last4=card.last4,
                    failure_code=card.failure_code,
                    failure_message=card.failure_message,
                )
            self.ledger[idempotency_key] = result
            return result

    def create_customer(
        self, *, name: str, email: str | None = None, idempotency_key: str | None = None
    ) -> str:
        ref = "cus_test_" + _grouped(
            hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
            if idempotency_key
            else secrets.token_hex(8)
        )
        with self._lock:
            self.customers.setdefault(ref, [])
        return ref

    def attach_method(self, *, customer_ref: str, token_or_method: str) -> MethodInfo:
        found = card_of(token_or_method)
        if found is None:
            raise ValueError("unknown test card token")
        name, card = found
        method = MethodInfo(
            ref=f"pm_test_{name}_{_grouped(secrets.token_hex(6))}",
            brand=card.brand,
            last4=card.last4,
            exp_month=12,
            exp_year=2034,
        )
        with self._lock:
            self.customers.setdefault(customer_ref, []).append(method)
        return method

    def list_methods(self, *, customer_ref: str) -> list[MethodInfo]:
        with self._lock:
            return list(self.customers.get(customer_ref, []))

    def detach_method(self, *, method_ref: str) -> None:
        with self._lock:
            for methods in self.customers.values():
                methods[:] = [m for m in methods if m.ref != method_ref]


def _grouped(hex_text: str) -> str:
    """Random hex in groups of 6 joined by ``x`` (``3f09a1x774402``; not ``_``, which ends
    the card name in a method id): a reference of 12 or more digits in a row (about 1 in
    280 draws of 12 random hex characters) is refused by the app as a card number
    (``jobs.rules.looks_like_card_number``), so a saved test card could not pay."""
    return "x".join(hex_text[i : i + 6] for i in range(0, len(hex_text), 6))
