"""pay_invoice: the use case the invoice link and the portal share."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.jobs.models import Payment, PaymentMethod
from fieldlink.jobs.rules import looks_like_card_number
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging.models import Message
from fieldlink.payments import (
    ChargeResult,
    PaymentOutcome,
    PaymentProcessor,
    PaymentRefused,
    ProcessorUnavailable,
    pay_invoice,
    sandbox,
)
from fieldlink.payments.sandbox import TestProcessor
from tests.conftest import Tenant
from tests.factories.links import Visit, make_visit

NOW = datetime(2026, 11, 23, 15, tzinfo=UTC)
LINKS = LinkMaker(base_url="http://testserver", secret="test-secret")


@pytest.fixture(autouse=True)
def fresh_test_processor() -> None:
    # The test processor's ledger lives in the process; ids repeat across rolled-back tests.
    TestProcessor.ledger.clear()
    TestProcessor.calls.clear()


@pytest.fixture
def visit(session: Session, tenant: Tenant) -> Visit:
    return make_visit(session, tenant.company_id)


def _pay(
    session: Session,
    visit: Visit,
    amount: str,
    token: str = "tok_visa",
    key: str = "k-0001",
    processor: PaymentProcessor | None = None,
) -> PaymentOutcome:
    return pay_invoice(
        session,
        invoice=visit.invoice,
        amount=Decimal(amount),
        token_or_method=token,
        idempotency_key=f"pay:invoice:{visit.invoice.id}:{key}",
        processor=processor or TestProcessor(),
        links=LINKS,
        now=NOW,
    )


def _payments(session: Session, visit: Visit) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.invoice_id == visit.invoice.id)))


def test_paying_the_balance_records_the_payment_marks_paid_and_queues_a_receipt(
    session: Session, visit: Visit
) -> None:
    outcome = _pay(session, visit, "289.00")
    assert outcome.status == "paid"
    [payment] = _payments(session, visit)
    assert (payment.status, payment.amount, payment.kind) == (
        "succeeded",
        Decimal("289.00"),
        "card",
    )
    assert payment.processor_ref and payment.processor_ref.startswith("pi_test_")
    assert visit.invoice.balance == Decimal("0.00") and visit.invoice.status == "paid"
    receipt = session.scalar(select(Message).where(Message.touchpoint == "payment_receipt"))
    assert receipt is not None and receipt.status == "queued"
    assert receipt.to == visit.email.value and receipt.channel == "email"
    assert "$289.00" in receipt.body and visit.invoice.number in receipt.body


def test_a_partial_payment_lowers_the_balance_and_keeps_the_invoice_open(
    session: Session, visit: Visit
) -> None:
    _pay(session, visit, "100.00")
    assert visit.invoice.balance == Decimal("189.00") and visit.invoice.status == "sent"


def test_a_double_submission_charges_and_records_once(session: Session, visit: Visit) -> None:
    first = _pay(session, visit, "289.00", key="double-1")
    again = _pay(session, visit, "289.00", key="double-1")
    assert (first.status, again.status) == ("paid", "repeat")
    assert again.payment.id == first.payment.id
    assert len(_payments(session, visit)) == 1
    key = f"pay:invoice:{visit.invoice.id}:double-1"
    assert TestProcessor.calls.count(key) == 1  # the processor was not even asked twice
    receipts = session.scalars(
        select(Message).where(Message.touchpoint == "payment_receipt", Message.status == "queued")
    ).all()
    assert len(receipts) == 1


def test_a_declined_card_records_why_and_nothing_paid(session: Session, visit: Visit) -> None:
    outcome = _pay(session, visit, "289.00", token="tok_chargeDeclinedExpiredCard", key="dec-1")
    assert outcome.status == "declined"
    assert outcome.message == "Your card has expired."
    [failed] = _payments(session, visit)
    assert failed.status == "failed" and failed.failure_reason == "Your card has expired."
    assert visit.invoice.balance == Decimal("289.00") and visit.invoice.status == "sent"
    assert session.scalar(select(Message).where(Message.touchpoint == "payment_receipt")) is None
    # Another card on a fresh form goes through.
    assert _pay(session, visit, "289.00", key="dec-2").status == "paid"


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("289.01", "amount_exceeds_balance"),
        ("0", "invalid_amount"),
        ("-5", "invalid_amount"),
        ("1.005", "invalid_amount"),
    ],
)
def test_bad_amounts_are_refused_before_the_processor(
    session: Session, visit: Visit, amount: str, code: str
) -> None:
    before = len(TestProcessor.calls)
    with pytest.raises(PaymentRefused) as refused:
        _pay(session, visit, amount, key=f"bad-{code}")
    assert refused.value.code == code
    assert len(TestProcessor.calls) == before and _payments(session, visit) == []


def test_a_paid_or_void_invoice_is_refused(session: Session, visit: Visit) -> None:
    _pay(session, visit, "289.00", key="full-1")
    with pytest.raises(PaymentRefused) as refused:
        _pay(session, visit, "1.00", key="full-2")
    assert refused.value.code == "invoice_paid"
    other = make_visit(session, visit.company.id)
    other.invoice.status = "void"
    with pytest.raises(PaymentRefused) as void:
        _pay(session, other, "1.00", key="void-1")
    assert void.value.code == "invoice_void"


def test_a_card_number_is_never_sent_on(session: Session, visit: Visit) -> None:
    with pytest.raises(PaymentRefused) as refused:
        _pay(session, visit, "10.00", token="4242 4242 4242 4242", key="pan-1")
    assert refused.value.code == "card_number_refused"


def test_a_key_reused_for_another_amount_is_refused(session: Session, visit: Visit) -> None:
    _pay(session, visit, "10.00", key="reuse-1")
    with pytest.raises(PaymentRefused) as refused:
        _pay(session, visit, "20.00", key="reuse-1")
    assert refused.value.code == "idempotency_key_reused"


class DownProcessor(TestProcessor):
    def charge(self, **kwargs: object) -> ChargeResult:  # type: ignore[override]
        raise ProcessorUnavailable("connection refused")


def test_an_unreachable_processor_records_nothing(session: Session, visit: Visit) -> None:
    outcome = _pay(session, visit, "289.00", key="down-1", processor=DownProcessor())
    assert outcome.status == "unavailable"
    assert _payments(session, visit) == []
    assert visit.invoice.balance == Decimal("289.00")
    # The same form retried once the processor is back is charged (the key was not burnt).
    assert _pay(session, visit, "289.00", key="down-1").status == "paid"


def test_a_charge_whose_commit_failed_is_recorded_by_the_retry_without_a_second_charge(
    session: Session, visit: Visit
) -> None:
    # The processor charged, then our transaction was lost (crash, failed commit).
    key = f"pay:invoice:{visit.invoice.id}:lost-commit"
    savepoint = session.begin_nested()
    first = _pay(session, visit, "289.00", key="lost-commit")
    assert first.payment is not None
    ref = first.payment.processor_ref
    savepoint.rollback()
    session.expire_all()
    assert _payments(session, visit) == []
    # The customer submits the same form again: the processor answers the same charge for
    # the same key, and this time it is recorded once.
    again = _pay(session, visit, "289.00", key="lost-commit")
    assert again.status == "paid" and again.payment is not None
    assert again.payment.processor_ref == ref
    assert TestProcessor.calls.count(key) == 2  # asked twice, one charge (the same ref)
    assert [p.status for p in _payments(session, visit)] == ["succeeded"]


def test_a_test_processor_reference_never_looks_like_a_card_number(
    session: Session, visit: Visit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random hex is all digits about once in 280 draws of 12: such a saved card's
    reference was refused as a card number, and the saved-card payment failed."""
    monkeypatch.setattr(sandbox.secrets, "token_hex", lambda n: "4" * (2 * n))
    processor = TestProcessor()
    customer_ref = processor.create_customer(name=visit.customer.name)
    card = processor.attach_method(customer_ref=customer_ref, token_or_method="tok_mastercard")
    assert not looks_like_card_number(customer_ref) and not looks_like_card_number(card.ref)
    outcome = pay_invoice(
        session,
        invoice=visit.invoice,
        amount=Decimal("289.00"),
        token_or_method=card.ref,
        idempotency_key=f"pay:invoice:{visit.invoice.id}:digits",
        processor=processor,
        links=LINKS,
        now=NOW,
        customer_ref=customer_ref,
    )
    assert outcome.status == "paid"


def test_a_saved_card_pays_and_is_linked_to_the_payment(session: Session, visit: Visit) -> None:
    # The portal's flow: a processor customer, a card attached from a token, kept on file.
    processor = TestProcessor()
    customer_ref = processor.create_customer(name=visit.customer.name)
    card = processor.attach_method(customer_ref=customer_ref, token_or_method="tok_mastercard")
    method = PaymentMethod(
        company_id=visit.company.id,
        customer_id=visit.customer.id,
        processor="test",
        token=card.ref,
        brand=card.brand,
        last4=card.last4,
    )
    session.add(method)
    session.flush()
    assert [m.last4 for m in processor.list_methods(customer_ref=customer_ref)] == ["4444"]
    outcome = pay_invoice(
        session,
        invoice=visit.invoice,
        amount=Decimal("289.00"),
        token_or_method=method.token,
        idempotency_key=f"pay:invoice:{visit.invoice.id}:saved-1",
        processor=processor,
        links=LINKS,
        now=NOW,
        payment_method=method,
        customer_ref=customer_ref,
    )
    assert outcome.status == "paid" and outcome.payment is not None
    assert outcome.payment.payment_method_id == method.id
    other = make_visit(session, visit.company.id)
    with pytest.raises(PaymentRefused) as refused:
        pay_invoice(
            session,
            invoice=other.invoice,
            amount=Decimal("1.00"),
            token_or_method=method.token,
            idempotency_key=f"pay:invoice:{other.invoice.id}:saved-2",
            processor=processor,
            links=LINKS,
            now=NOW,
            payment_method=method,
        )
    assert refused.value.code == "method_not_of_customer"
    processor.detach_method(method_ref=card.ref)
    assert processor.list_methods(customer_ref=customer_ref) == []
