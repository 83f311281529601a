"""Customers, locations and contacts over HTTP: creation, validation, filters, pages."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldlink.customers.models import ContactMethod, CustomerTag
from tests.customers.helpers import FULL_CUSTOMER, create_contact, create_customer, errors_of


def test_post_customer_creates_locations_contacts_and_methods_in_one_call(
    api: TestClient,
) -> None:
    body = create_customer(api, **FULL_CUSTOMER)
    assert body["type"] == "commercial" and body["language"] == "es"
    assert body["tags"] == ["VIP", "Opted In"]  # duplicates dropped, order kept
    assert body["credit"] == "12.50"  # money is a two-place decimal string
    assert body["do_not_mail"] is True and body["do_not_service"] is False
    assert [loc["city"] for loc in body["locations"]] == ["Raleigh", "Durham"]
    assert body["locations"][1]["kind"] == "pickup" and body["locations"][1]["country"] == "US"
    owner, books = body["contacts"]
    assert owner["primary"] is True and books["role"] == "financial"
    assert [m["value"] for m in owner["methods"]] == ["grace@example.com", "+19195550142"]
    # GET one answers the same nested shape, so an office screen needs one call.
    again = api.get(f"/v1/customers/{body['id']}").json()
    assert again == body


def test_location_country_defaults_to_the_companys(api: TestClient) -> None:
    body = create_customer(api, locations=[{"line1": "1 Main St", "city": "Cary"}])
    assert body["locations"][0]["country"] == "US"
    assert body["locations"][0]["time_zone"] is None


def test_a_bad_nested_method_stores_nothing_and_lists_every_problem(api: TestClient) -> None:
    r = api.post(
        "/v1/customers",
        json={
            "name": "Half Made",
            "contacts": [
                {"name": "A", "role": "owner", "methods": [{"kind": "phone", "value": "12"}]},
                {
                    "name": "B",
                    "role": "site",
                    "methods": [
                        {"kind": "email", "value": "ok@example.com"},
                        {"kind": "email", "value": "not-an-email"},
                    ],
                },
            ],
        },
    )
    errors = errors_of(r)
    assert set(errors) == {"contacts.0.methods.0.value", "contacts.1.methods.1.value"}
    assert api.get("/v1/customers").json()["items"] == []


def test_customer_validation_errors_name_each_field(api: TestClient) -> None:
    r = api.post(
        "/v1/customers",
        json={
            "name": "",
            "type": "industrial",
            "credit": "1.234",
            "language": "fr",
            "tags": ["  "],
            "locations": [{"line1": "x", "city": "y", "country": "XX", "time_zone": "Mars/Base"}],
            "contacts": [{"name": "C", "role": "boss"}],
        },
    )
    errors = errors_of(r)
    assert set(errors) == {
        "name",
        "type",
        "credit",
        "language",
        "tags",
        "locations.0.country",
        "locations.0.time_zone",
        "contacts.0.role",
    }


def test_unknown_fields_are_rejected(api: TestClient) -> None:
    errors = errors_of(api.post("/v1/customers", json={"name": "A", "nmae": "typo"}))
    assert "nmae" in errors


def test_negative_credit_is_rejected(api: TestClient) -> None:
    assert "credit" in errors_of(api.post("/v1/customers", json={"name": "A", "credit": -1}))


def test_contact_role_must_be_exactly_one_known_role(api: TestClient) -> None:
    customer = create_customer(api)
    url = f"/v1/customers/{customer['id']}/contacts"
    assert "role" in errors_of(api.post(url, json={"name": "A", "role": "king"}))
    assert "role" in errors_of(api.post(url, json={"name": "A", "role": ["owner", "site"]}))
    assert "role" in errors_of(api.post(url, json={"name": "A"}))


def test_patch_customer_replaces_tags_and_keeps_unsent_fields(
    api: TestClient, session: Session
) -> None:
    customer = create_customer(api, tags=["a", "b"], credit="5", type="commercial")
    r = api.patch(f"/v1/customers/{customer['id']}", json={"tags": ["b", "c"], "credit": 7.25})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["tags"]) == ["b", "c"]
    assert r.json()["credit"] == "7.25" and r.json()["type"] == "commercial"
    stored = session.scalars(
        select(CustomerTag.tag).where(CustomerTag.customer_id == customer["id"])
    ).all()
    assert sorted(stored) == ["b", "c"]
    r = api.patch(f"/v1/customers/{customer['id']}", json={"tags": []})
    assert r.json()["tags"] == []


def test_patch_customer_refuses_null_for_required_fields(api: TestClient) -> None:
    customer = create_customer(api)
    errors = errors_of(api.patch(f"/v1/customers/{customer['id']}", json={"name": None}))
    assert "name" in errors


def test_parent_must_be_a_customer_of_the_same_company(
    api: TestClient, rival_api: TestClient
) -> None:
    theirs = create_customer(rival_api, name="Rival Parent")
    r = api.post("/v1/customers", json={"name": "Child", "parent_id": theirs["id"]})
    assert "parent_id" in errors_of(r)
    parent = create_customer(api, name="Parent")
    child = create_customer(api, name="Child", parent_id=parent["id"])
    assert child["parent_id"] == parent["id"]


def test_a_customer_cannot_be_its_own_parent_or_its_descendants_child(api: TestClient) -> None:
    top = create_customer(api, name="Top")
    middle = create_customer(api, name="Middle", parent_id=top["id"])
    bottom = create_customer(api, name="Bottom", parent_id=middle["id"])
    r = api.patch(f"/v1/customers/{top['id']}", json={"parent_id": top["id"]})
    assert r.json()["code"] == "parent_cycle" and "parent_id" in errors_of(r)
    r = api.patch(f"/v1/customers/{top['id']}", json={"parent_id": bottom["id"]})
    assert r.json()["code"] == "parent_cycle"
    # Moving a branch elsewhere is fine, and clearing the parent too.
    other = create_customer(api, name="Other")
    assert (
        api.patch(f"/v1/customers/{middle['id']}", json={"parent_id": other["id"]}).json()[
            "parent_id"
        ]
        == other["id"]
    )
    assert (
        api.patch(f"/v1/customers/{middle['id']}", json={"parent_id": None}).json()["parent_id"]
        is None
    )


def test_locations_are_added_listed_read_and_patched(api: TestClient) -> None:
    customer = create_customer(api)
    r = api.post(
        f"/v1/customers/{customer['id']}/locations",
        json={"line1": "5 Elm", "city": "Apex", "country": "ca", "time_zone": "America/Toronto"},
    )
    assert r.status_code == 201, r.text
    location = r.json()
    assert location["country"] == "CA" and location["kind"] == "service"
    listed = api.get(f"/v1/customers/{customer['id']}/locations").json()
    assert [loc["id"] for loc in listed["items"]] == [location["id"]]
    r = api.patch(f"/v1/locations/{location['id']}", json={"city": "Cary", "kind": "pickup"})
    assert r.status_code == 200 and r.json()["city"] == "Cary" and r.json()["line1"] == "5 Elm"
    assert api.get(f"/v1/locations/{location['id']}").json()["kind"] == "pickup"


def test_location_patch_validates_country_and_time_zone(api: TestClient) -> None:
    customer = create_customer(api, locations=[{"line1": "1 A St", "city": "B"}])
    loc_id = customer["locations"][0]["id"]
    errors = errors_of(
        api.patch(f"/v1/locations/{loc_id}", json={"country": "USA", "time_zone": "EST5"})
    )
    assert set(errors) == {"country", "time_zone"}
    assert "line1" in errors_of(api.patch(f"/v1/locations/{loc_id}", json={"line1": None}))


def test_contact_location_must_belong_to_the_same_customer(api: TestClient) -> None:
    mine = create_customer(api, locations=[{"line1": "1 A St", "city": "B"}])
    other = create_customer(api, name="Other", locations=[{"line1": "2 C St", "city": "D"}])
    url = f"/v1/customers/{mine['id']}/contacts"
    foreign = other["locations"][0]["id"]
    r = api.post(url, json={"name": "A", "role": "site", "location_id": foreign})
    assert "location_id" in errors_of(r)
    own = mine["locations"][0]["id"]
    contact = create_contact(api, mine["id"], role="site", location_id=own)
    assert contact["location_id"] == own
    r = api.patch(f"/v1/contacts/{contact['id']}", json={"location_id": foreign})
    assert "location_id" in errors_of(r)
    r = api.patch(f"/v1/contacts/{contact['id']}", json={"location_id": None})
    assert r.status_code == 200 and r.json()["location_id"] is None


def test_nested_contacts_cannot_point_at_a_location_id(api: TestClient) -> None:
    other = create_customer(api, name="Other", locations=[{"line1": "2 C St", "city": "D"}])
    r = api.post(
        "/v1/customers",
        json={
            "name": "New",
            "contacts": [{"name": "A", "role": "site", "location_id": other["locations"][0]["id"]}],
        },
    )
    assert "contacts.0.location_id" in errors_of(r)


def test_contacts_are_listed_with_their_methods_and_patched(api: TestClient) -> None:
    customer = create_customer(api)
    contact = create_contact(
        api, customer["id"], methods=[{"kind": "email", "value": "pat@example.com"}]
    )
    listed = api.get(f"/v1/customers/{customer['id']}/contacts").json()["items"]
    assert [c["id"] for c in listed] == [contact["id"]]
    assert listed[0]["methods"][0]["value"] == "pat@example.com"
    r = api.patch(f"/v1/contacts/{contact['id']}", json={"role": "scheduling", "primary": True})
    assert r.status_code == 200
    assert r.json()["role"] == "scheduling" and r.json()["primary"] is True
    assert api.get(f"/v1/contacts/{contact['id']}").json()["name"] == "Pat"
    assert "role" in errors_of(api.patch(f"/v1/contacts/{contact['id']}", json={"role": None}))


def test_deleting_a_contact_deletes_its_methods(api: TestClient, session: Session) -> None:
    customer = create_customer(api)
    contact = create_contact(
        api,
        customer["id"],
        methods=[
            {"kind": "email", "value": "gone@example.com"},
            {"kind": "phone", "value": "9195550100"},
        ],
    )
    method_ids = [m["id"] for m in contact["methods"]]
    r = api.delete(f"/v1/contacts/{contact['id']}")
    assert r.status_code == 204 and r.content == b""
    assert api.get(f"/v1/contacts/{contact['id']}").status_code == 404
    for method_id in method_ids:
        assert api.get(f"/v1/contact-methods/{method_id}").status_code == 404
    left = session.scalar(
        select(func.count()).select_from(ContactMethod).where(ContactMethod.id.in_(method_ids))
    )
    assert left == 0
    assert api.get(f"/v1/customers/{customer['id']}").json()["contacts"] == []


def test_unknown_ids_are_404_problems(api: TestClient) -> None:
    for url in (
        "/v1/customers/999999",
        "/v1/customers/999999/locations",
        "/v1/customers/999999/contacts",
        "/v1/locations/999999",
        "/v1/contacts/999999",
        "/v1/contact-methods/999999",
    ):
        r = api.get(url)
        assert r.status_code == 404, url
        assert r.headers["content-type"].startswith("application/problem+json")


def test_input_the_database_cannot_hold_is_a_422_never_a_500(api: TestClient) -> None:
    # A 64-bit id overflows the integer column and PostgreSQL text refuses NUL: both must
    # be caught as bad input before they reach the database.
    huge = 99999999999999999999
    assert api.get(f"/v1/customers/{huge}").status_code == 422
    assert api.get(f"/v1/contact-methods/{2**31}").status_code == 422
    assert "parent_id" in errors_of(
        api.post("/v1/customers", json={"name": "x", "parent_id": huge})
    )
    assert "name" in errors_of(api.post("/v1/customers", json={"name": "a\x00b"}))
    assert "tags" in errors_of(api.post("/v1/customers", json={"name": "a", "tags": ["\x00"]}))
    assert "q" in errors_of(api.get("/v1/customers", params={"q": "\x00"}))
    for credit in ("NaN", "Infinity", "abc", "1e20", None):
        r = api.post("/v1/customers", json={"name": "x", "credit": credit})
        assert "credit" in errors_of(r), credit
    customer = create_customer(api)
    r = api.post(
        f"/v1/customers/{customer['id']}/contacts",
        json={"name": "A", "role": "site", "location_id": huge},
    )
    assert "location_id" in errors_of(r)
