"""Small HTTP helpers shared by the customers tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

# A customer using every field, with nested locations, contacts and methods.
FULL_CUSTOMER: dict[str, Any] = {
    "name": "Grace Hopper",
    "type": "commercial",
    "tags": ["VIP", "Opted In", "VIP"],
    "credit": "12.5",
    "language": "es",
    "do_not_mail": True,
    "locations": [
        {
            "line1": "1 Main St",
            "city": "Raleigh",
            "region": "NC",
            "postcode": "27601",
            "time_zone": "America/New_York",
        },
        {"kind": "pickup", "line1": "9 Depot Rd", "city": "Durham", "country": "us"},
    ],
    "contacts": [
        {
            "name": "Grace",
            "role": "owner",
            "primary": True,
            "methods": [
                {"kind": "email", "value": " Grace@Example.COM "},
                {"kind": "phone", "value": "(919) 555-0142"},
            ],
        },
        {"name": "Bookkeeper", "role": "financial", "methods": []},
    ],
}


def create_customer(api: TestClient, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Ada Lovelace")
    r = api.post("/v1/customers", json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def create_contact(api: TestClient, customer_id: int, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Pat")
    body.setdefault("role", "owner")
    r = api.post(f"/v1/customers/{customer_id}/contacts", json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def add_method(api: TestClient, contact_id: int, **body: Any) -> dict[str, Any]:
    r = api.post(f"/v1/contacts/{contact_id}/methods", json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def errors_of(response: Any) -> dict[str, str]:
    """The problem's ``errors`` as ``{field: message}``."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["message"] for e in response.json()["errors"]}
