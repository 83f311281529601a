"""Estimates and invoices over HTTP: numbers, lines and totals, status transitions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import Tenant
from tests.jobs.helpers import CustomerRef, field_errors, make_customer, make_job

LINES = [
    {"description": "Diagnostic", "quantity": "1", "unit_price": "89.00"},
    {"description": "Labor (hours)", "quantity": "1.5", "unit_price": "120.00"},
    {"description": "Capacitor", "quantity": "2", "unit_price": "24.99"},
]


@pytest.fixture
def customer(session: Session, tenant: Tenant) -> CustomerRef:
    return make_customer(session, tenant.company_id)


def test_an_invoice_totals_its_lines_in_exact_decimals(
    api: TestClient, customer: CustomerRef
) -> None:
    r = api.post("/v1/invoices", json={"customer_id": customer.id, "lines": LINES})
    assert r.status_code == 201, r.text
    invoice = r.json()
    # 89.00 + 1.5 * 120.00 + 2 * 24.99 = 318.98, as strings, never floats.
    assert invoice["total"] == "318.98" and invoice["balance"] == "318.98"
    assert [ln["amount"] for ln in invoice["lines"]] == ["89.00", "180.00", "49.98"]
    assert invoice["status"] == "draft"
    assert invoice["number"] == "INV-1001"
    assert api.get(f"/v1/invoices/{invoice['id']}").json() == invoice


def test_a_given_total_wins_over_the_lines(api: TestClient, customer: CustomerRef) -> None:
    r = api.post(
        "/v1/invoices", json={"customer_id": customer.id, "lines": LINES, "total": "300.00"}
    )
    assert r.json()["total"] == "300.00"


def test_document_numbers_are_generated_per_company_and_unique(
    api: TestClient,
    rival_api: TestClient,
    customer: CustomerRef,
    session: Session,
    other_tenant: Tenant,
) -> None:
    first = api.post("/v1/invoices", json={"customer_id": customer.id, "total": "1"}).json()
    custom = api.post(
        "/v1/invoices", json={"customer_id": customer.id, "total": "1", "number": "INV-1002"}
    ).json()
    third = api.post("/v1/invoices", json={"customer_id": customer.id, "total": "1"}).json()
    assert (first["number"], custom["number"], third["number"]) == (
        "INV-1001",
        "INV-1002",
        "INV-1003",
    )
    r = api.post(
        "/v1/invoices", json={"customer_id": customer.id, "total": "1", "number": "INV-1001"}
    )
    assert r.status_code == 409 and r.json()["code"] == "invoice_number_taken"
    # Numbers are per company: the rival starts at its own INV-1001.
    theirs = make_customer(session, other_tenant.company_id)
    r = rival_api.post("/v1/invoices", json={"customer_id": theirs.id, "total": "1"})
    assert r.json()["number"] == "INV-1001"
    est = api.post("/v1/estimates", json={"customer_id": customer.id, "total": "1"}).json()
    assert est["number"] == "EST-1001"
    r = api.post("/v1/estimates", json={"customer_id": customer.id, "number": "EST-1001"})
    assert r.status_code == 409 and r.json()["code"] == "estimate_number_taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"total": 12.5}, "total"),
        ({"total": "-1.00"}, "total"),
        ({"total": "1.005"}, "total"),
        ({"total": "lots"}, "total"),
        ({"lines": [{"description": "x", "unit_price": 10.1}]}, "lines.0.unit_price"),
        ({"lines": [{"description": "x", "unit_price": "1", "quantity": "0"}]}, "lines.0.quantity"),
        ({"lines": [{"description": "", "unit_price": "1"}]}, "lines.0.description"),
        ({"lines": [{"description": "refund", "unit_price": "-5.00"}]}, "lines"),
        ({"status": "paid"}, "status"),
        ({"due_date": "soon"}, "due_date"),
    ],
)
def test_invalid_invoice_fields_are_422_naming_the_field(
    api: TestClient, customer: CustomerRef, body: dict[str, object], field: str
) -> None:
    r = api.post("/v1/invoices", json={"customer_id": customer.id, **body})
    assert r.status_code == 422, r.text
    assert field in field_errors(r), r.json()


def test_a_float_amount_is_refused_with_a_hint(api: TestClient, customer: CustomerRef) -> None:
    r = api.post("/v1/invoices", json={"customer_id": customer.id, "total": 0.1})
    assert field_errors(r)["total"] == 'send money as a decimal string, like "125.00"'


def test_an_invoice_for_a_job_takes_the_jobs_customer(
    api: TestClient, session: Session, tenant: Tenant, customer: CustomerRef
) -> None:
    job = make_job(api, customer)
    r = api.post("/v1/invoices", json={"job_id": job["id"], "total": "10.00"})
    assert r.status_code == 201 and r.json()["customer_id"] == customer.id
    someone_else = make_customer(session, tenant.company_id, name="Sam")
    r = api.post(
        "/v1/invoices", json={"job_id": job["id"], "customer_id": someone_else.id, "total": "1"}
    )
    assert r.status_code == 422 and r.json()["code"] == "job_not_of_customer"
    r = api.post("/v1/invoices", json={"total": "1"})
    assert r.status_code == 422 and "customer_id" in field_errors(r)


def test_invoice_status_moves_forward_only_and_due_date_is_editable(
    api: TestClient, customer: CustomerRef
) -> None:
    inv = api.post("/v1/invoices", json={"customer_id": customer.id, "total": "10.00"}).json()
    url = f"/v1/invoices/{inv['id']}"
    r = api.patch(url, json={"status": "sent", "due_date": "2026-04-01"})
    assert r.status_code == 200 and r.json()["due_date"] == "2026-04-01"
    r = api.patch(url, json={"status": "draft"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_status_transition"
    r = api.patch(url, json={"status": "paid"})
    assert r.status_code == 409
    assert api.patch(url, json={"status": "void"}).json()["status"] == "void"


def test_an_estimate_goes_draft_sent_approved(api: TestClient, customer: CustomerRef) -> None:
    est = api.post(
        "/v1/estimates",
        json={"customer_id": customer.id, "lines": LINES[:1], "description": "New furnace"},
    ).json()
    url = f"/v1/estimates/{est['id']}"
    assert est["total"] == "89.00" and est["status"] == "draft"
    assert est["location_id"] is None
    r = api.patch(url, json={"status": "approved"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_status_transition"
    assert api.patch(url, json={"status": "sent"}).json()["status"] == "sent"
    r = api.patch(url, json={"description": "Changed after sending"})
    assert r.status_code == 409 and r.json()["code"] == "estimate_not_draft"
    approved = api.patch(url, json={"status": "approved"}).json()
    assert approved["status"] == "approved" and approved["decided_at"] is not None
    assert api.patch(url, json={"status": "declined"}).status_code == 409


def test_an_estimate_can_be_declined_once_sent(api: TestClient, customer: CustomerRef) -> None:
    est = api.post(
        "/v1/estimates", json={"customer_id": customer.id, "total": "5.00", "status": "sent"}
    ).json()
    r = api.patch(f"/v1/estimates/{est['id']}", json={"status": "declined"})
    assert r.json()["status"] == "declined"


def test_an_estimate_location_defaults_to_the_jobs_and_must_be_the_customers(
    api: TestClient, session: Session, tenant: Tenant, customer: CustomerRef
) -> None:
    job = make_job(api, customer)
    est = api.post("/v1/estimates", json={"job_id": job["id"], "total": "1.00"}).json()
    assert est["location_id"] == customer.location_ids[0]
    sam = make_customer(session, tenant.company_id, name="Sam")
    r = api.post(
        "/v1/estimates",
        json={"customer_id": customer.id, "location_id": sam.location_ids[0], "total": "1"},
    )
    assert r.status_code == 422 and r.json()["code"] == "location_not_of_customer"


def test_estimates_and_invoices_are_filtered(
    api: TestClient, session: Session, tenant: Tenant, customer: CustomerRef
) -> None:
    sam = make_customer(session, tenant.company_id, name="Sam")
    job = make_job(api, customer)
    a = api.post("/v1/estimates", json={"job_id": job["id"], "total": "1"}).json()
    b = api.post("/v1/estimates", json={"customer_id": sam.id, "total": "1", "status": "sent"})
    assert [
        e["id"] for e in api.get("/v1/estimates", params={"job_id": job["id"]}).json()["items"]
    ] == [a["id"]]
    assert [
        e["id"] for e in api.get("/v1/estimates", params={"status": "sent"}).json()["items"]
    ] == [b.json()["id"]]
    i = api.post("/v1/invoices", json={"customer_id": sam.id, "total": "1"}).json()
    api.post("/v1/invoices", json={"job_id": job["id"], "total": "1"})
    got = api.get("/v1/invoices", params={"customer_id": sam.id}).json()["items"]
    assert [x["id"] for x in got] == [i["id"]]
    assert api.get("/v1/invoices", params={"status": "void"}).json()["items"] == []


def test_another_companys_estimates_and_invoices_are_out_of_reach(
    api: TestClient,
    rival_api: TestClient,
    session: Session,
    customer: CustomerRef,
    other_tenant: Tenant,
) -> None:
    theirs = make_customer(session, other_tenant.company_id)
    their_job = make_job(rival_api, theirs)
    est = rival_api.post("/v1/estimates", json={"customer_id": theirs.id, "total": "9"}).json()
    inv = rival_api.post("/v1/invoices", json={"customer_id": theirs.id, "total": "9"}).json()
    assert api.get(f"/v1/estimates/{est['id']}").status_code == 404
    assert api.patch(f"/v1/estimates/{est['id']}", json={"status": "sent"}).status_code == 404
    assert api.get(f"/v1/invoices/{inv['id']}").status_code == 404
    assert api.patch(f"/v1/invoices/{inv['id']}", json={"status": "void"}).status_code == 404
    assert api.get("/v1/estimates").json()["items"] == []
    assert api.get("/v1/invoices", params={"customer_id": theirs.id}).json()["items"] == []
    # Bodies cannot link to their customer, job or location either.
    r = api.post("/v1/invoices", json={"customer_id": theirs.id, "total": "1"})
    assert r.status_code == 404 and "customer_id" in field_errors(r)
    r = api.post("/v1/invoices", json={"job_id": their_job["id"], "total": "1"})
    assert r.status_code == 404 and "job_id" in field_errors(r)
    r = api.post(
        "/v1/estimates",
        json={"customer_id": customer.id, "location_id": theirs.location_ids[0], "total": "1"},
    )
    assert r.status_code == 404 and "location_id" in field_errors(r)
    assert rival_api.get(f"/v1/invoices/{inv['id']}").json()["status"] == "draft"
