"""STYLE rule 1 on the invoice page: a failed commit after a charge answers 500 and keeps
nothing; the customer's retry of the same form is recorded once and charged once."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.app import create_app
from fieldlink.config import Settings
from fieldlink.jobs.models import Payment
from fieldlink.payments.sandbox import TestProcessor
from tests.conftest import Tenant
from tests.factories.links import make_visit
from tests.links.helpers import form_of, url


class FailingCommitSession(Session):
    def commit(self) -> None:
        self.flush()
        raise RuntimeError("disk full")


def test_a_lost_commit_after_a_charge_is_retried_safely(
    connection: Connection,
    session: Session,
    settings: Settings,
    client: TestClient,
    tenant: Tenant,
) -> None:
    visit = make_visit(session, tenant.company_id)
    failing = sessionmaker(
        bind=connection,
        class_=FailingCommitSession,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    broken = TestClient(create_app(settings, factory=failing), raise_server_exceptions=False)
    link = url("i", visit.company.id, visit.invoice.id)
    form = {**form_of(client.get(link).text, "nonce"), "amount": "289.00", "card": "tok_visa"}
    broken.cookies = client.cookies
    lost = broken.post(link, data=form, follow_redirects=False)
    assert lost.status_code == 500
    assert lost.headers["content-type"].startswith("text/html")  # the friendly page
    session.expire_all()
    assert session.scalars(select(Payment)).all() == []
    key = f"pay:invoice:{visit.invoice.id}:{form['nonce']}"
    charged = TestProcessor.ledger[key]
    retry = client.post(link, data=form, follow_redirects=False)
    assert retry.status_code == 303
    [payment] = session.scalars(select(Payment)).all()
    assert payment.processor_ref == charged.processor_ref  # the same charge, recorded once
    session.refresh(visit.invoice)
    assert (visit.invoice.balance, visit.invoice.status) == (Decimal("0.00"), "paid")
