"""Card payments through a processor adapter: ``test`` (default) or ``stripe``.

Card data never reaches our server (PCI SAQ A): pages and the portal pass a processor token
or payment-method id made in the browser by the processor's own script. Use
:func:`processor` to get the configured adapter and :func:`pay_invoice` to charge an invoice.
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
