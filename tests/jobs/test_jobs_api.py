"""Jobs over HTTP: creation, location defaulting, PO lock, filters, tenancy, pagination."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import Tenant
from tests.jobs.helpers import field_errors, make_customer, make_job


def test_a_job_is_created_and_read_back_with_its_fields(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    customer = make_customer(session, tenant.company_id)
    r = api.post(
        "/v1/jobs",
        json={
            "customer_id": customer.id,
            "location_id": customer.location_ids[0],
            "job_type": "AC tune-up",
            "po_number": "PO-77",
            "description": "Annual maintenance",
            "custom_fields": {"gate_code": "1234", "floors": 2, "pets": True, "notes": None},
        },
    )
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "open"
    assert job["custom_fields"] == {"gate_code": "1234", "floors": 2, "pets": True, "notes": None}
    again = api.get(f"/v1/jobs/{job['id']}").json()
    assert again["po_number"] == "PO-77"
    assert again["location_id"] == customer.location_ids[0]
    assert again["job_type"] == "AC tune-up"


def test_the_only_location_is_used_when_none_is_given(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    customer = make_customer(session, tenant.company_id, locations=1)
    job = make_job(api, customer)
    assert job["location_id"] == customer.location_ids[0]


def test_a_customer_with_several_locations_must_say_which(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    customer = make_customer(session, tenant.company_id, locations=2)
    r = api.post("/v1/jobs", json={"customer_id": customer.id})
    assert r.status_code == 422
    assert r.json()["code"] == "location_required"
    assert "location_id" in field_errors(r)
    job = make_job(api, customer, location_id=customer.location_ids[1])
    assert job["location_id"] == customer.location_ids[1]


def test_a_customer_without_locations_cannot_get_a_job(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    customer = make_customer(session, tenant.company_id, locations=0)
    r = api.post("/v1/jobs", json={"customer_id": customer.id})
    assert r.status_code == 422 and r.json()["code"] == "location_required"


def test_the_location_must_belong_to_the_jobs_customer(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    pat = make_customer(session, tenant.company_id, name="Pat")
    sam = make_customer(session, tenant.company_id, name="Sam")
    r = api.post("/v1/jobs", json={"customer_id": pat.id, "location_id": sam.location_ids[0]})
    assert r.status_code == 422
    assert r.json()["code"] == "location_not_of_customer"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "finished"}, "status"),
        ({"custom_fields": {"nested": {"a": 1}}}, "custom_fields.nested"),
        ({"custom_fields": ["not", "an", "object"]}, "custom_fields"),
        ({"po_number": "x" * 101}, "po_number"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_job_fields_are_422_naming_the_field(
    api: TestClient, session: Session, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    customer = make_customer(session, tenant.company_id)
    r = api.post("/v1/jobs", json={"customer_id": customer.id, **body})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(f.startswith(field) for f in field_errors(r)), r.json()


def test_a_job_without_a_customer_is_422(api: TestClient) -> None:
    r = api.post("/v1/jobs", json={"job_type": "repair"})
    assert r.status_code == 422 and "customer_id" in field_errors(r)


def test_patch_changes_only_the_fields_sent(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    customer = make_customer(session, tenant.company_id)
    job = make_job(api, customer, job_type="repair", po_number="A1")
    r = api.patch(f"/v1/jobs/{job['id']}", json={"status": "completed", "description": "done"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "completed" and body["completed_at"] is not None
    assert body["job_type"] == "repair" and body["po_number"] == "A1"
    r = api.patch(f"/v1/jobs/{job['id']}", json={"status": None})
    assert r.status_code == 422


def test_po_number_can_change_until_an_invoice_is_sent(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    customer = make_customer(session, tenant.company_id)
    job = make_job(api, customer, po_number="PO-1")
    invoice = api.post(
        "/v1/invoices",
        json={"job_id": job["id"], "lines": [{"description": "Labor", "unit_price": "90.00"}]},
    ).json()
    # A draft invoice has not reached the customer: the PO may still change.
    r = api.patch(f"/v1/jobs/{job['id']}", json={"po_number": "PO-2"})
    assert r.status_code == 200 and r.json()["po_number"] == "PO-2"
    assert api.patch(f"/v1/invoices/{invoice['id']}", json={"status": "sent"}).status_code == 200
    r = api.patch(f"/v1/jobs/{job['id']}", json={"po_number": "PO-3"})
    assert r.status_code == 409
    assert r.json()["code"] == "po_number_locked"
    assert api.get(f"/v1/jobs/{job['id']}").json()["po_number"] == "PO-2"
    # Other fields, and re-sending the same PO, stay editable.
    r = api.patch(f"/v1/jobs/{job['id']}", json={"po_number": "PO-2", "job_type": "repair"})
    assert r.status_code == 200


def test_po_number_stays_locked_once_the_invoice_is_paid(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    customer = make_customer(session, tenant.company_id)
    job = make_job(api, customer)
    invoice = api.post(
        "/v1/invoices", json={"job_id": job["id"], "total": "50.00", "status": "sent"}
    ).json()
    paid = api.post("/v1/payments", json={"invoice_id": invoice["id"], "amount": "50.00"})
    assert paid.status_code == 201
    assert api.get(f"/v1/invoices/{invoice['id']}").json()["status"] == "paid"
    r = api.patch(f"/v1/jobs/{job['id']}", json={"po_number": "LATE"})
    assert r.status_code == 409 and r.json()["code"] == "po_number_locked"


def test_jobs_are_filtered_by_customer_status_and_type(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    pat = make_customer(session, tenant.company_id, name="Pat")
    sam = make_customer(session, tenant.company_id, name="Sam")
    a = make_job(api, pat, job_type="repair")
    b = make_job(api, pat, job_type="install", status="cancelled")
    c = make_job(api, sam, job_type="repair")

    def ids(**params: object) -> list[object]:
        r = api.get("/v1/jobs", params=params)
        assert r.status_code == 200, r.text
        return [j["id"] for j in r.json()["items"]]

    assert ids(customer_id=pat.id) == [a["id"], b["id"]]
    assert ids(job_type="repair") == [a["id"], c["id"]]
    assert ids(status="cancelled") == [b["id"]]
    assert ids(customer_id=sam.id, job_type="install") == []
    assert api.get("/v1/jobs", params={"status": "nope"}).status_code == 422


def test_the_job_list_is_walked_page_by_page(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    customer = make_customer(session, tenant.company_id)
    made = [make_job(api, customer)["id"] for _ in range(5)]
    seen: list[object] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = api.get("/v1/jobs", params=params).json()
        seen += [j["id"] for j in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == made and pages == 3
    assert api.get("/v1/jobs", params={"cursor": "garbage!"}).status_code == 422


def test_another_companys_job_is_invisible_and_unchangeable(
    api: TestClient, rival_api: TestClient, session: Session, other_tenant: Tenant
) -> None:
    theirs = make_job(rival_api, make_customer(session, other_tenant.company_id), po_number="R1")
    assert api.get(f"/v1/jobs/{theirs['id']}").status_code == 404
    r = api.patch(f"/v1/jobs/{theirs['id']}", json={"po_number": "MINE"})
    assert r.status_code == 404 and r.json()["code"] == "job_not_found"
    assert api.get("/v1/jobs").json()["items"] == []
    assert api.get("/v1/jobs", params={"customer_id": theirs["customer_id"]}).json()["items"] == []
    assert rival_api.get(f"/v1/jobs/{theirs['id']}").json()["po_number"] == "R1"


def test_a_job_cannot_name_another_companys_customer_or_location(
    api: TestClient, session: Session, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = make_customer(session, tenant.company_id)
    theirs = make_customer(session, other_tenant.company_id)
    r = api.post("/v1/jobs", json={"customer_id": theirs.id})
    assert r.status_code == 404 and "customer_id" in field_errors(r)
    r = api.post("/v1/jobs", json={"customer_id": mine.id, "location_id": theirs.location_ids[0]})
    assert r.status_code == 404 and "location_id" in field_errors(r)
    job = make_job(api, mine)
    r = api.patch(f"/v1/jobs/{job['id']}", json={"customer_id": theirs.id})
    assert r.status_code == 404
    r = api.patch(f"/v1/jobs/{job['id']}", json={"location_id": theirs.location_ids[0]})
    assert r.status_code == 404
    assert api.get(f"/v1/jobs/{job['id']}").json()["customer_id"] == mine.id


def test_moving_a_job_to_another_customer_moves_its_location_too(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    pat = make_customer(session, tenant.company_id, name="Pat")
    sam = make_customer(session, tenant.company_id, name="Sam")
    job = make_job(api, pat)
    r = api.patch(f"/v1/jobs/{job['id']}", json={"customer_id": sam.id})
    assert r.status_code == 200, r.text
    assert r.json()["location_id"] == sam.location_ids[0]
