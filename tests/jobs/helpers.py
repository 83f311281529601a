"""Customers, locations and technicians for jobs tests, made directly with the models
(the customers API is another domain's) and committed so the HTTP client sees them."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fieldlink.accounts.models import User
from fieldlink.customers.models import Contact, Customer, Location


@dataclass(frozen=True)
class CustomerRef:
    id: int
    location_ids: list[int]


def make_customer(
    session: Session, company_id: int, *, name: str = "Pat Doe", locations: int = 1
) -> CustomerRef:
    customer = Customer(company_id=company_id, name=name, type="residential")
    session.add(customer)
    session.flush()
    places = [
        Location(
            company_id=company_id,
            customer_id=customer.id,
            line1=f"{100 + n} Main St",
            city="Raleigh",
            region="NC",
            postcode="27601",
            country="US",
        )
        for n in range(locations)
    ]
    session.add_all(places)
    session.add(Contact(company_id=company_id, customer_id=customer.id, name=name, role="owner"))
    session.commit()
    return CustomerRef(id=customer.id, location_ids=[p.id for p in places])


def make_technician(
    session: Session, company_id: int, name: str = "Tina Tech", *, active: bool = True
) -> int:
    email = f"{name.lower().replace(' ', '.')}.{company_id}@example.com"
    user = User(company_id=company_id, name=name, email=email, role="technician", active=active)
    session.add(user)
    session.commit()
    return user.id


def make_job(api: TestClient, customer: CustomerRef, **fields: object) -> dict[str, object]:
    r = api.post("/v1/jobs", json={"customer_id": customer.id, **fields})
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


WINDOW = {
    "window_start": "2026-03-02T08:00:00-05:00",
    "window_end": "2026-03-02T12:00:00-05:00",
    "schedule_type": "am",
}


def make_appointment(
    api: TestClient, job_id: object, technician_ids: list[int], **fields: object
) -> dict[str, object]:
    r = api.post(
        f"/v1/jobs/{job_id}/appointments",
        json={**WINDOW, "technician_ids": technician_ids, **fields},
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def field_errors(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    return {e["field"]: e["message"] for e in body.get("errors", [])}
