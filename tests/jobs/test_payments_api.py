"""Payments and payment methods over HTTP: balances, idempotency, no card numbers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.app import create_app
from fieldlink.config import Settings
from fieldlink.jobs.models import Payment, PaymentMethod
from fieldlink.jobs.rules import CARD_NUMBER_MESSAGE
from tests.conftest import Tenant
from tests.jobs.helpers import CustomerRef, field_errors, make_customer

CARD = {
    "processor": "test",
    "token": "pm_card_visa",
    "brand": "visa",
    "last4": "4242",
    "exp_month": 12,
    "exp_year": 2030,
}


@pytest.fixture
def customer(session: Session, tenant: Tenant) -> CustomerRef:
    return make_customer(session, tenant.company_id)


def _invoice(api: TestClient, customer: CustomerRef, total: str = "100.00") -> dict[str, object]:
    r = api.post(
        "/v1/invoices", json={"customer_id": customer.id, "total": total, "status": "sent"}
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_payments_bring_the_balance_down_and_mark_the_invoice_paid(
    api: TestClient, customer: CustomerRef
) -> None:
    inv = _invoice(api, customer, "100.00")
    r = api.post("/v1/payments", json={"invoice_id": inv["id"], "amount": "40.00", "kind": "check"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["amount"] == "40.00" and first["customer_id"] == customer.id
    assert first["status"] == "succeeded" and first["kind"] == "check"
    after = api.get(f"/v1/invoices/{inv['id']}").json()
    assert (after["balance"], after["status"]) == ("60.00", "sent")
    r = api.post("/v1/payments", json={"invoice_id": inv["id"], "amount": "60.01"})
    assert r.status_code == 422 and r.json()["code"] == "amount_exceeds_balance"
    assert api.get(f"/v1/invoices/{inv['id']}").json()["balance"] == "60.00"
    api.post("/v1/payments", json={"invoice_id": inv["id"], "amount": "60.00"})
    paid = api.get(f"/v1/invoices/{inv['id']}").json()
    assert (paid["balance"], paid["status"]) == ("0.00", "paid")
    listed = api.get("/v1/payments", params={"invoice_id": inv["id"]}).json()["items"]
    assert [p["amount"] for p in listed] == ["40.00", "60.00"]
    assert api.get(f"/v1/payments/{first['id']}").json() == first


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "1.001", 5.5, "five"])
def test_a_payment_amount_must_be_positive_cents(
    api: TestClient, customer: CustomerRef, amount: object
) -> None:
    inv = _invoice(api, customer)
    r = api.post("/v1/payments", json={"invoice_id": inv["id"], "amount": amount})
    assert r.status_code == 422 and "amount" in field_errors(r)


def test_a_void_invoice_takes_no_payment_and_a_paid_one_cannot_be_voided(
    api: TestClient, customer: CustomerRef
) -> None:
    void = _invoice(api, customer)
    api.patch(f"/v1/invoices/{void['id']}", json={"status": "void"})
    r = api.post("/v1/payments", json={"invoice_id": void["id"], "amount": "1.00"})
    assert r.status_code == 409 and r.json()["code"] == "invoice_void"
    part_paid = _invoice(api, customer)
    api.post("/v1/payments", json={"invoice_id": part_paid["id"], "amount": "1.00"})
    r = api.patch(f"/v1/invoices/{part_paid['id']}", json={"status": "void"})
    assert r.status_code == 409 and r.json()["code"] == "invoice_has_payments"


def test_the_same_idempotency_key_returns_the_same_payment(
    api: TestClient, customer: CustomerRef, session: Session
) -> None:
    inv = _invoice(api, customer, "100.00")
    body = {"invoice_id": inv["id"], "amount": "25.00"}
    headers = {"Idempotency-Key": "retry-abc"}
    first = api.post("/v1/payments", json=body, headers=headers)
    again = api.post("/v1/payments", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert api.get(f"/v1/invoices/{inv['id']}").json()["balance"] == "75.00"
    stored = session.scalars(select(Payment).where(Payment.invoice_id == inv["id"])).all()
    assert [p.idempotency_key for p in stored] == ["retry-abc"]
    r = api.post("/v1/payments", json={**body, "amount": "30.00"}, headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "idempotency_key_reused"
    # Without a key, a second identical request is a second payment.
    api.post("/v1/payments", json=body)
    assert api.get(f"/v1/invoices/{inv['id']}").json()["balance"] == "50.00"


def test_a_retried_payment_is_recognised_even_after_it_paid_the_invoice_off(
    api: TestClient, customer: CustomerRef
) -> None:
    inv = _invoice(api, customer, "20.00")
    body = {"invoice_id": inv["id"], "amount": "20.00"}
    first = api.post("/v1/payments", json=body, headers={"Idempotency-Key": "k1"})
    again = api.post("/v1/payments", json=body, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]


def test_idempotency_keys_are_per_company(
    api: TestClient,
    rival_api: TestClient,
    customer: CustomerRef,
    session: Session,
    other_tenant: Tenant,
) -> None:
    mine = _invoice(api, customer)
    theirs = _invoice(rival_api, make_customer(session, other_tenant.company_id))
    h = {"Idempotency-Key": "same-key"}
    a = api.post("/v1/payments", json={"invoice_id": mine["id"], "amount": "5.00"}, headers=h)
    b = rival_api.post(
        "/v1/payments", json={"invoice_id": theirs["id"], "amount": "5.00"}, headers=h
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_a_payment_method_keeps_only_token_brand_and_last_four(
    api: TestClient, customer: CustomerRef
) -> None:
    r = api.post("/v1/payment-methods", json={"customer_id": customer.id, **CARD})
    assert r.status_code == 201, r.text
    method = r.json()
    assert {k: method[k] for k in CARD} == CARD
    assert api.get(f"/v1/payment-methods/{method['id']}").json() == method
    listed = api.get("/v1/payment-methods", params={"customer_id": customer.id}).json()
    assert [m["id"] for m in listed["items"]] == [method["id"]]


@pytest.mark.parametrize(
    "override",
    [
        {"token": "4242424242424242"},
        {"token": "4242 4242 4242 4242"},
        {"brand": "visa 4000-0566-5566-5556"},
        {"last4": "4242424242424242"},
        {"card_number": "5555555555554444"},
        {"exp_year": 4242424242424242},
    ],
)
def test_anything_like_a_card_number_is_refused_and_not_stored(
    api: TestClient, customer: CustomerRef, session: Session, override: dict[str, object]
) -> None:
    r = api.post("/v1/payment-methods", json={"customer_id": customer.id, **CARD, **override})
    assert r.status_code == 422
    [field] = override
    assert field_errors(r) == {field: CARD_NUMBER_MESSAGE}
    digits = str(next(iter(override.values()))).replace(" ", "").replace("-", "")
    assert digits[-8:] not in r.text  # the number is never echoed back
    assert session.scalars(select(PaymentMethod)).all() == []


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"last4": "424"}, "last4"),
        ({"last4": "42a2"}, "last4"),
        ({"exp_month": 13}, "exp_month"),
        ({"processor": "paypal"}, "processor"),
        ({"token": ""}, "token"),
    ],
)
def test_payment_method_fields_are_validated(
    api: TestClient, customer: CustomerRef, override: dict[str, object], field: str
) -> None:
    r = api.post("/v1/payment-methods", json={"customer_id": customer.id, **CARD, **override})
    assert r.status_code == 422 and field in field_errors(r)


def test_a_payment_reference_cannot_carry_a_card_number(
    api: TestClient, customer: CustomerRef
) -> None:
    inv = _invoice(api, customer)
    r = api.post(
        "/v1/payments",
        json={"invoice_id": inv["id"], "amount": "1.00", "processor_ref": "4111111111111111"},
    )
    assert r.status_code == 422 and field_errors(r) == {"processor_ref": CARD_NUMBER_MESSAGE}


def test_a_payment_with_a_card_on_file_is_a_card_payment_of_that_customer(
    api: TestClient, session: Session, tenant: Tenant, customer: CustomerRef
) -> None:
    method = api.post("/v1/payment-methods", json={"customer_id": customer.id, **CARD}).json()
    inv = _invoice(api, customer)
    r = api.post(
        "/v1/payments",
        json={"invoice_id": inv["id"], "amount": "10.00", "payment_method_id": method["id"]},
    )
    assert r.status_code == 201 and r.json()["kind"] == "card"
    sam = make_customer(session, tenant.company_id, name="Sam")
    sams_inv = _invoice(api, sam)
    r = api.post(
        "/v1/payments",
        json={"invoice_id": sams_inv["id"], "amount": "10.00", "payment_method_id": method["id"]},
    )
    assert r.status_code == 422 and r.json()["code"] == "payment_method_not_of_customer"


def test_deleting_a_payment_method_keeps_the_payments_made_with_it(
    api: TestClient, customer: CustomerRef
) -> None:
    method = api.post("/v1/payment-methods", json={"customer_id": customer.id, **CARD}).json()
    inv = _invoice(api, customer)
    pay = api.post(
        "/v1/payments",
        json={"invoice_id": inv["id"], "amount": "10.00", "payment_method_id": method["id"]},
    ).json()
    assert api.delete(f"/v1/payment-methods/{method['id']}").status_code == 204
    assert api.get(f"/v1/payment-methods/{method['id']}").status_code == 404
    kept = api.get(f"/v1/payments/{pay['id']}").json()
    assert kept["amount"] == "10.00" and kept["payment_method_id"] is None


def test_another_companys_payments_and_cards_are_out_of_reach(
    api: TestClient,
    rival_api: TestClient,
    session: Session,
    customer: CustomerRef,
    other_tenant: Tenant,
) -> None:
    theirs = make_customer(session, other_tenant.company_id)
    their_card = rival_api.post("/v1/payment-methods", json={"customer_id": theirs.id, **CARD})
    their_card_id = their_card.json()["id"]
    their_inv = _invoice(rival_api, theirs)
    their_pay = rival_api.post(
        "/v1/payments", json={"invoice_id": their_inv["id"], "amount": "1.00"}
    ).json()
    assert api.get(f"/v1/payment-methods/{their_card_id}").status_code == 404
    assert api.delete(f"/v1/payment-methods/{their_card_id}").status_code == 404
    assert api.get(f"/v1/payments/{their_pay['id']}").status_code == 404
    assert api.get("/v1/payments").json()["items"] == []
    assert api.get("/v1/payment-methods", params={"customer_id": theirs.id}).json()["items"] == []
    # Paying their invoice, or paying ours with their card, or filing a card for their
    # customer: all refused without touching their rows.
    r = api.post("/v1/payments", json={"invoice_id": their_inv["id"], "amount": "1.00"})
    assert r.status_code == 404 and "invoice_id" in field_errors(r)
    mine = _invoice(api, customer)
    r = api.post(
        "/v1/payments",
        json={"invoice_id": mine["id"], "amount": "1.00", "payment_method_id": their_card_id},
    )
    assert r.status_code == 404 and "payment_method_id" in field_errors(r)
    r = api.post("/v1/payment-methods", json={"customer_id": theirs.id, **CARD})
    assert r.status_code == 404 and "customer_id" in field_errors(r)
    assert rival_api.get(f"/v1/invoices/{their_inv['id']}").json()["balance"] == "99.00"
    assert rival_api.get(f"/v1/payment-methods/{their_card_id}").status_code == 200


class _CommitFails(Session):
    def commit(self) -> None:
        raise RuntimeError("the database went away at commit")


def test_a_payment_whose_commit_fails_answers_500_and_leaves_the_balance(
    api: TestClient,
    customer: CustomerRef,
    connection: Connection,
    settings: Settings,
    tenant: Tenant,
) -> None:
    inv = _invoice(api, customer, "80.00")
    factory = sessionmaker(
        bind=connection,
        class_=_CommitFails,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    broken = TestClient(create_app(settings, factory=factory), raise_server_exceptions=False)
    r = broken.post(
        "/v1/payments",
        json={"invoice_id": inv["id"], "amount": "80.00"},
        headers={**tenant.headers, "Idempotency-Key": "k-500"},
    )
    assert r.status_code == 500
    assert api.get(f"/v1/invoices/{inv['id']}").json()["balance"] == "80.00"
    assert api.get("/v1/payments").json()["items"] == []
    # The key was not spent: the retry goes through as a new payment.
    r = api.post(
        "/v1/payments",
        json={"invoice_id": inv["id"], "amount": "80.00"},
        headers={"Idempotency-Key": "k-500"},
    )
    assert r.status_code == 201
    assert api.get(f"/v1/invoices/{inv['id']}").json()["status"] == "paid"
