"""Card payments through a processor adapter: ``test`` (default) or ``stripe``.

Card data never reaches our server (PCI SAQ A): pages and the portal pass a processor token
or payment-method id made in the browser by the processor's own script.

- ``processor(settings)`` is the configured adapter: ``charge(amount=, currency=,
  token_or_method=, idempotency_key=, customer_ref=)`` -> :class:`ChargeResult`,
  ``create_customer``, ``attach_method`` -> :class:`MethodInfo` (keep its ``ref``, ``brand``
  and ``last4`` in ``PaymentMethod``), ``list_methods``, ``detach_method``.
- ``pay_invoice(session, invoice=, amount=, token_or_method=, idempotency_key=, processor=,
  links=, now=, payment_method=None, customer_ref=None)`` charges and records one payment
  per key (make the key with ``service.submission_key(invoice.id, nonce)``, one nonce per
  rendered form); it raises :class:`PaymentRefused` before charging anything it must not.
- With the ``test`` processor, pages offer ``sandbox.PAGE_CARDS`` (Stripe's test tokens).
"""

from fieldlink.payments.base import (
    ChargeResult,
    MethodInfo,
    PaymentProcessor,
    ProcessorUnavailable,
    processor,
)
from fieldlink.payments.service import PaymentOutcome, PaymentRefused, pay_invoice

__all__ = [
    "ChargeResult",
    "MethodInfo",
    "PaymentOutcome",
    "PaymentProcessor",
    "PaymentRefused",
    "ProcessorUnavailable",
    "pay_invoice",
    "processor",
]
