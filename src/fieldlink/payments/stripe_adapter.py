"""The ``stripe`` processor, on the official ``stripe`` library (PaymentIntents).

Card data never touches our server: the browser's Stripe.js turns the card into a payment
method id (``pm_…``) or token (``tok_…``) and we only pass that on. Every charge carries our
idempotency key as Stripe's ``Idempotency-Key``, so a retried or double-submitted request
is charged once. ``api_base`` points the library at a local fake in tests.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import stripe

from fieldlink.pages.i18n import N_
from fieldlink.payments.base import (
    ChargeResult,
    MethodInfo,
    ProcessorUnavailable,
    from_minor_units,
    to_minor_units,
)

_GENERIC_DECLINE = N_("Your card was declined.")


def _card(pm: Any) -> tuple[str | None, str | None]:
    card = pm.get("card") if isinstance(pm, dict) else None
    if not card:
        return None, None
    return card.get("brand"), card.get("last4")


class StripeProcessor:
    name = "stripe"

    def __init__(self, *, secret_key: str, api_base: str = "https://api.stripe.com") -> None:
        if not secret_key:
            raise ValueError("FIELDLINK_STRIPE_SECRET_KEY is required for the stripe processor")
        self._client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base.rstrip("/")}, max_network_retries=2
        )

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
        params: dict[str, Any] = {
            "amount": to_minor_units(amount),
            "currency": currency,
            "confirm": True,
            "payment_method_types": ["card"],
            "expand": ["payment_method"],
        }
        if token_or_method.startswith("tok_"):
            params["payment_method_data"] = {"type": "card", "card": {"token": token_or_method}}
        else:
            params["payment_method"] = token_or_method
        if customer_ref:
            params["customer"] = customer_ref
        if description:
            params["description"] = description
        try:
            intent = self._client.v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            ).to_dict()
        except stripe.CardError as exc:
            return self._declined(exc, amount, currency)
        except stripe.InvalidRequestError as exc:
            # A payment method that doesn't exist or can't be used: the customer's problem
            # to fix with another card, not an outage.
            return ChargeResult(
                "declined",
                None,
                amount,
                currency,
                failure_code=exc.code or "invalid_request",
                failure_message=N_("This card could not be used. Please try another card."),
            )
        except stripe.StripeError as exc:
            raise ProcessorUnavailable(f"stripe: {exc.__class__.__name__}: {exc}") from exc
        brand, last4 = _card(intent.get("payment_method"))
        if intent.get("status") != "succeeded":
            # requires_action (3-D Secure) and the like need the customer in Stripe.js.
            return ChargeResult(
                "declined",
                intent.get("id"),
                amount,
                currency,
                brand=brand,
                last4=last4,
                failure_code=str(intent.get("status")),
                failure_message=N_(
                    "Your bank asked for an extra check this page cannot do. "
                    "Please try another card."
                ),
            )
        return ChargeResult(
            "succeeded",
            intent.get("id"),
            from_minor_units(int(intent.get("amount_received") or intent.get("amount") or 0)),
            currency,
            brand=brand,
            last4=last4,
        )

    @staticmethod
    def _declined(exc: stripe.CardError, amount: Decimal, currency: str) -> ChargeResult:
        body = exc.json_body if isinstance(exc.json_body, dict) else {}
        error = body.get("error") or {}
        intent = error.get("payment_intent") or {}
        code = error.get("decline_code") or exc.code
        return ChargeResult(
            "declined",
            intent.get("id") if intent else None,
            amount,
            currency,
            failure_code=code or "card_declined",
            failure_message=exc.user_message or _GENERIC_DECLINE,
        )

    def create_customer(
        self, *, name: str, email: str | None = None, idempotency_key: str | None = None
    ) -> str:
        params: dict[str, Any] = {"name": name}
        if email:
            params["email"] = email
        options: dict[str, Any] = {"idempotency_key": idempotency_key} if idempotency_key else {}
        try:
            customer = self._client.v1.customers.create(params, options)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise ProcessorUnavailable(f"stripe: {exc}") from exc
        return str(customer.id)

    def attach_method(self, *, customer_ref: str, token_or_method: str) -> MethodInfo:
        try:
            pm = self._client.v1.payment_methods.attach(
                token_or_method,
                {"customer": customer_ref},
            ).to_dict()
        except stripe.CardError as exc:
            raise ValueError(exc.user_message or _GENERIC_DECLINE) from exc
        except stripe.InvalidRequestError as exc:
            raise ValueError("This card could not be saved. Please try another card.") from exc
        except stripe.StripeError as exc:
            raise ProcessorUnavailable(f"stripe: {exc}") from exc
        return _method(pm)

    def list_methods(self, *, customer_ref: str) -> list[MethodInfo]:
        try:
            page = self._client.v1.payment_methods.list({"customer": customer_ref, "type": "card"})
        except stripe.StripeError as exc:
            raise ProcessorUnavailable(f"stripe: {exc}") from exc
        return [_method(pm.to_dict()) for pm in page.data]

    def detach_method(self, *, method_ref: str) -> None:
        try:
            self._client.v1.payment_methods.detach(method_ref)
        except stripe.InvalidRequestError:
            return  # already detached or gone: the outcome the caller wanted
        except stripe.StripeError as exc:
            raise ProcessorUnavailable(f"stripe: {exc}") from exc


def _method(pm: dict[str, Any]) -> MethodInfo:
    card = pm.get("card") or {}
    return MethodInfo(
        ref=str(pm.get("id")),
        brand=str(card.get("brand") or "card"),
        last4=str(card.get("last4") or ""),
        exp_month=card.get("exp_month"),
        exp_year=card.get("exp_year"),
    )
