"""A key of one company can never read, list or change another company's customer data."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.customers.helpers import create_customer


def _rival_account(rival_api: TestClient) -> dict[str, Any]:
    return create_customer(
        rival_api,
        name="Rival Household",
        tags=["VIP"],
        locations=[{"line1": "7 Secret Ln", "city": "Raleigh", "postcode": "27601"}],
        contacts=[
            {
                "name": "Rhonda",
                "role": "owner",
                "methods": [
                    {"kind": "email", "value": "rhonda@rival.example"},
                    {"kind": "phone", "value": "919-555-0150"},
                ],
            }
        ],
    )


def _assert_404(response: Any) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Rival" not in response.text and "rhonda" not in response.text


def test_another_companys_customer_is_a_404(api: TestClient, rival_api: TestClient) -> None:
    theirs = _rival_account(rival_api)
    url = f"/v1/customers/{theirs['id']}"
    _assert_404(api.get(url))
    _assert_404(api.patch(url, json={"do_not_service": True, "tags": ["mine"]}))
    _assert_404(api.get(f"{url}/locations"))
    _assert_404(api.get(f"{url}/contacts"))
    _assert_404(api.post(f"{url}/locations", json={"line1": "1 A", "city": "B"}))
    _assert_404(api.post(f"{url}/contacts", json={"name": "Intruder", "role": "owner"}))
    after = rival_api.get(url).json()
    assert after["do_not_service"] is False and after["tags"] == ["VIP"]
    assert [c["name"] for c in after["contacts"]] == ["Rhonda"] and len(after["locations"]) == 1


def test_another_companys_location_is_a_404(api: TestClient, rival_api: TestClient) -> None:
    theirs = _rival_account(rival_api)
    url = f"/v1/locations/{theirs['locations'][0]['id']}"
    _assert_404(api.get(url))
    _assert_404(api.patch(url, json={"city": "Hacked"}))
    assert rival_api.get(url).json()["city"] == "Raleigh"


def test_another_companys_contact_is_a_404(api: TestClient, rival_api: TestClient) -> None:
    theirs = _rival_account(rival_api)
    url = f"/v1/contacts/{theirs['contacts'][0]['id']}"
    _assert_404(api.get(url))
    _assert_404(api.patch(url, json={"name": "Hacked"}))
    _assert_404(api.delete(url))
    _assert_404(api.post(f"{url}/methods", json={"kind": "email", "value": "x@example.com"}))
    after = rival_api.get(url).json()
    assert after["name"] == "Rhonda" and len(after["methods"]) == 2


def test_another_companys_contact_method_is_a_404(api: TestClient, rival_api: TestClient) -> None:
    theirs = _rival_account(rival_api)
    for method in theirs["contacts"][0]["methods"]:
        url = f"/v1/contact-methods/{method['id']}"
        _assert_404(api.get(url))
        _assert_404(api.patch(url, json={"marketing_updates": False}))
        _assert_404(api.delete(url))
        assert rival_api.get(url).json()["marketing_updates"] is True


def test_lists_and_searches_show_only_our_customers(api: TestClient, rival_api: TestClient) -> None:
    _rival_account(rival_api)
    mine = create_customer(api, name="Our Household")
    for params in (
        {},
        {"q": "Household"},
        {"q": "rhonda@rival.example"},
        {"q": "919-555-0150"},
        {"tag": "VIP"},
        {"city": "Raleigh"},
        {"postcode": "27601"},
    ):
        items = api.get("/v1/customers", params=params).json()["items"]
        assert all(c["id"] == mine["id"] for c in items), params


def test_a_contact_cannot_point_at_another_companys_location(
    api: TestClient, rival_api: TestClient
) -> None:
    theirs = _rival_account(rival_api)
    mine = create_customer(api)
    r = api.post(
        f"/v1/customers/{mine['id']}/contacts",
        json={"name": "A", "role": "site", "location_id": theirs["locations"][0]["id"]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "location_id"


def test_an_opt_out_never_reaches_another_companys_same_number(
    api: TestClient, rival_api: TestClient
) -> None:
    theirs = _rival_account(rival_api)["contacts"][0]["methods"][1]
    mine = create_customer(
        api,
        contacts=[
            {"name": "P", "role": "owner", "methods": [{"kind": "phone", "value": "9195550150"}]}
        ],
    )["contacts"][0]["methods"][0]
    r = api.patch(f"/v1/contact-methods/{mine['id']}", json={"marketing_sms_status": "opted_out"})
    assert r.status_code == 200
    assert rival_api.get(f"/v1/contact-methods/{theirs['id']}").json()["marketing_sms_status"] == (
        "none"
    )
