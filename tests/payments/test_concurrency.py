"""Two customers (or two tabs) paying the same balance at the same moment: charged once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from fieldlink.accounts.service import create_company
from fieldlink.db import make_engine, make_sessionmaker, session_scope
from fieldlink.jobs.models import Invoice, Payment
from fieldlink.links.tokens import LinkMaker
from fieldlink.migrate import upgrade
from fieldlink.payments import ChargeResult, PaymentRefused, pay_invoice
from fieldlink.payments.sandbox import TestProcessor
from tests.factories.links import make_visit


class SlowProcessor(TestProcessor):
    """Takes a while to answer, so the two attempts overlap."""

    charged: list[str] = []

    def charge(self, **kwargs: object) -> ChargeResult:  # type: ignore[override]
        time.sleep(0.4)
        result = super().charge(**kwargs)  # type: ignore[arg-type]
        self.charged.append(str(kwargs["idempotency_key"]))
        return result


def test_simultaneous_payments_of_one_balance_charge_once(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        company = create_company(session, name="Race Co", company_code="race")
        session.flush()
        invoice_id = make_visit(session, company.id, commit=False).invoice.id
    links = LinkMaker(base_url="http://testserver", secret="s")
    outcomes: list[str] = []

    def pay(nonce: str) -> None:
        try:
            with session_scope(factory) as session:
                invoice = session.get(Invoice, invoice_id)
                assert invoice is not None
                outcome = pay_invoice(
                    session,
                    invoice=invoice,
                    amount=Decimal("289.00"),
                    token_or_method="tok_visa",
                    idempotency_key=f"pay:invoice:{invoice_id}:{nonce}",
                    processor=SlowProcessor(),
                    links=links,
                    now=datetime.now(UTC),
                )
            outcomes.append(outcome.status)
        except PaymentRefused as exc:
            outcomes.append(exc.code)
        except OperationalError as exc:
            # SQLite can't upgrade the loser's stale read to a write ("database is locked"):
            # its page answers "try again" -- before any charge.
            assert "locked" in str(exc)
            outcomes.append("database_busy")

    threads = [threading.Thread(target=pay, args=(f"race-{n}-nonce",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # PostgreSQL: the loser waits on the row lock, then sees the invoice paid.
    assert sorted(outcomes) in (["invoice_paid", "paid"], ["database_busy", "paid"])
    assert len(SlowProcessor.charged) == 1  # the loser never reached the processor
    with factory() as session:
        payments = session.scalars(select(Payment).where(Payment.invoice_id == invoice_id)).all()
        assert [p.status for p in payments] == ["succeeded"]
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None and invoice.balance == Decimal("0.00")
    engine.dispose()
