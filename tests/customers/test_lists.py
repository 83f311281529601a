"""Customer, location and contact lists: cursor pages and filters."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.customers.helpers import FULL_CUSTOMER, create_contact, create_customer, errors_of


def test_customer_list_pages_walk_every_row_once(api: TestClient) -> None:
    created = [create_customer(api, name=f"Customer {i:02d}")["id"] for i in range(7)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = api.get("/v1/customers", params=params).json()
        assert len(body["items"]) <= 3
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == created  # every row once, in id order, none missing


def test_contact_and_location_lists_paginate_too(api: TestClient) -> None:
    customer = create_customer(api)
    for i in range(3):
        create_contact(api, customer["id"], name=f"C{i}")
        api.post(
            f"/v1/customers/{customer['id']}/locations", json={"line1": f"{i} St", "city": "X"}
        )
    for kind in ("contacts", "locations"):
        first = api.get(f"/v1/customers/{customer['id']}/{kind}", params={"limit": 2}).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        rest = api.get(
            f"/v1/customers/{customer['id']}/{kind}",
            params={"limit": 2, "cursor": first["next_cursor"]},
        ).json()
        assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_bad_cursor_and_limit_are_422(api: TestClient) -> None:
    assert "cursor" in errors_of(api.get("/v1/customers", params={"cursor": "garbage!"}))
    assert "limit" in errors_of(api.get("/v1/customers", params={"limit": 501}))


def test_list_filters_by_name_type_tag_city_and_postcode(api: TestClient) -> None:
    a = create_customer(
        api,
        name="Alice Anderson",
        type="residential",
        tags=["VIP"],
        locations=[{"line1": "1 A St", "city": "Raleigh", "postcode": "27601"}],
    )
    b = create_customer(
        api,
        name="Bob's Bakery",
        type="commercial",
        locations=[{"line1": "2 B St", "city": "Durham", "postcode": "27701"}],
    )
    c = create_customer(api, name="Carol 100%", tags=["vip"])

    def ids(**params: str) -> list[int]:
        r = api.get("/v1/customers", params=params)
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["items"]]

    assert ids(q="ANDERSON") == [a["id"]]
    assert ids(q="%") == [c["id"]]  # LIKE wildcards are matched literally
    assert ids(type="commercial") == [b["id"]]
    assert ids(tag="VIP") == [a["id"]]  # tags compare exactly
    assert ids(city="durham") == [b["id"]]
    assert ids(postcode="27601") == [a["id"]]
    assert ids(city="Raleigh", type="commercial") == []
    assert "type" in errors_of(api.get("/v1/customers", params={"type": "alien"}))


def test_q_also_finds_a_customer_by_email_or_phone(api: TestClient) -> None:
    found = create_customer(
        api,
        name="Dana",
        contacts=[
            {
                "name": "Dana",
                "role": "owner",
                "methods": [
                    {"kind": "email", "value": "dana.smith@example.com"},
                    {"kind": "phone", "value": "919-555-0177"},
                ],
            }
        ],
    )
    create_customer(api, name="Eve")

    def ids(q: str) -> list[int]:
        return [c["id"] for c in api.get("/v1/customers", params={"q": q}).json()["items"]]

    assert ids("Dana.Smith@") == [found["id"]]
    assert ids("(919) 555-0177") == [found["id"]]  # typed any way, matched as E.164
    assert ids("5550177") == [found["id"]]
    assert ids("nobody@example.com") == []


def test_list_items_carry_tags_but_not_nested_contacts(api: TestClient) -> None:
    create_customer(api, **FULL_CUSTOMER)
    item = api.get("/v1/customers").json()["items"][0]
    assert item["tags"] == ["VIP", "Opted In"] and item["credit"] == "12.50"
    assert "contacts" not in item and "locations" not in item
