"""Consent over HTTP: eligibility, audience preview, suppressions, consent history."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fieldlink.consent import service
from tests.conftest import Tenant
from tests.factories.customers import make_customer, make_location, make_method


def _household(session: Session, company_id: int, **customer_kw):  # type: ignore[no-untyped-def]
    customer = make_customer(session, company_id=company_id, **customer_kw)
    location = make_location(session, company_id=company_id, customer_id=customer.id)
    email = make_method(
        session, company_id=company_id, customer_id=customer.id, value=f"c{customer.id}@ex.com"
    )
    mobile = make_method(
        session,
        company_id=company_id,
        customer_id=customer.id,
        kind="phone",
        marketing_sms_status="opted_in",
    )
    session.commit()
    return customer, location, email, mobile


def test_eligibility_lists_every_method_and_location_by_channel(
    session: Session, api: TestClient, tenant: Tenant
) -> None:
    customer, location, email, mobile = _household(session, tenant.company_id)
    r = api.get(f"/v1/customers/{customer.id}/eligibility")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    by_key = {(i["channel"], i["method_id"], i["location_id"]): i for i in items}
    mail = by_key[("direct_mail", None, location.id)]
    assert mail["allowed"] is True and mail["reasons"] == []
    assert by_key[("marketing_email", email.id, None)]["allowed"] is True
    assert by_key[("marketing_sms", mobile.id, None)]["allowed"] is True
    phone_as_email = by_key[("marketing_email", mobile.id, None)]
    assert phone_as_email["allowed"] is False
    assert phone_as_email["reasons"][0]["code"] == "not_an_email_address"
    assert phone_as_email["reasons"][0]["message"]
    assert len(items) == 1 + 2 * 4


def test_eligibility_explains_every_blocker_and_a_missing_channel(
    session: Session, api: TestClient, tenant: Tenant
) -> None:
    customer = make_customer(
        session, company_id=tenant.company_id, do_not_mail=True, do_not_service=True
    )
    make_method(session, company_id=tenant.company_id, customer_id=customer.id, kind="phone")
    session.commit()
    items = api.get(f"/v1/customers/{customer.id}/eligibility").json()["items"]
    mail = [i for i in items if i["channel"] == "direct_mail"]
    assert mail == [
        {
            "method_id": None,
            "location_id": None,
            "channel": "direct_mail",
            "allowed": False,
            "reasons": [
                {"code": "no_postal_address", "message": "The customer has no postal address."},
                {"code": "do_not_mail", "message": "The customer is marked Do not mail."},
                {"code": "do_not_service", "message": "The customer is marked Do not service."},
            ],
        }
    ]
    no_email = [i for i in items if i["channel"] == "marketing_email" and i["method_id"] is None]
    assert no_email[0]["reasons"][0]["code"] == "no_email_address"
    sms = [i for i in items if i["channel"] == "marketing_sms" and i["method_id"]]
    assert {x["code"] for x in sms[0]["reasons"]} == {
        "no_marketing_sms_opt_in",
        "do_not_mail",
        "do_not_service",
    }


def test_another_companys_customer_is_a_404(
    session: Session, api: TestClient, rival_api: TestClient, other_tenant: Tenant
) -> None:
    customer, *_ = _household(session, other_tenant.company_id)
    r = api.get(f"/v1/customers/{customer.id}/eligibility")
    assert r.status_code == 404 and r.json()["code"] == "customer_not_found"
    assert rival_api.get(f"/v1/customers/{customer.id}/eligibility").status_code == 200


def test_preview_counts_recipients_and_blockers_for_the_company_only(
    session: Session, api: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ok, *_ = _household(session, tenant.company_id)
    _household(session, tenant.company_id, do_not_mail=True)
    bare = make_customer(session, company_id=tenant.company_id)
    _household(session, other_tenant.company_id)  # never counted for acme
    second = make_method(session, company_id=tenant.company_id, customer_id=ok.id)
    session.commit()

    r = api.post("/v1/audiences/preview", json={"channel": "marketing_email"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["eligible"] == 1
    assert body["blocked"]["do_not_mail"] == 1
    assert body["blocked"]["no_email_address"] == 1  # the bare customer
    assert body["blocked"]["one_email_per_customer"] == 1  # ok's second address
    assert body["blocked"]["email_suppressed"] == 0
    assert [s["customer_id"] for s in body["sample"]] == [ok.id]
    assert body["sample"][0]["method_id"] < second.id  # the first eligible address
    assert bare.id not in [s["customer_id"] for s in body["sample"]]

    mail = api.post("/v1/audiences/preview", json={"channel": "direct_mail"}).json()
    assert mail["eligible"] == 1 and mail["blocked"]["no_postal_address"] == 1
    assert mail["sample"][0]["location_id"] and mail["sample"][0]["method_id"] is None


def test_preview_filters_by_type_tag_and_city(
    session: Session, api: TestClient, tenant: Tenant
) -> None:
    _household(session, tenant.company_id, tags=("VIP",), type="commercial")
    _household(session, tenant.company_id)
    durham = make_customer(session, company_id=tenant.company_id)
    make_location(session, company_id=tenant.company_id, customer_id=durham.id, city="Durham")
    session.commit()

    def eligible(channel: str, filter: dict[str, object]) -> int:
        r = api.post("/v1/audiences/preview", json={"channel": channel, "filter": filter})
        assert r.status_code == 200, r.text
        return int(r.json()["eligible"])

    assert eligible("marketing_sms", {}) == 2
    assert eligible("marketing_sms", {"tag": "VIP"}) == 1
    assert eligible("marketing_sms", {"type": ["commercial"]}) == 1
    assert eligible("direct_mail", {"city": "durham"}) == 1
    assert eligible("marketing_sms", {"city": "Durham"}) == 0
    assert eligible("direct_mail", {"postcode": ["27601"], "tag": ["VIP", "Gold"]}) == 1


def test_preview_rejects_unknown_channels_and_filter_fields(api: TestClient) -> None:
    assert api.post("/v1/audiences/preview", json={"channel": "fax"}).status_code == 422
    r = api.post("/v1/audiences/preview", json={"channel": "direct_mail", "filter": {"x": 1}})
    assert r.status_code == 422


def test_suppressions_are_added_listed_found_by_email_and_deleted(
    api: TestClient, rival_api: TestClient
) -> None:
    r = api.post("/v1/suppressions", json={"email": "Pat@Example.com", "reason": "bounce"})
    assert r.status_code == 201, r.text
    row = r.json()
    assert row["email"] == "pat@example.com" and row["reason"] == "bounce"
    again = api.post("/v1/suppressions", json={"email": "pat@example.com", "reason": "manual"})
    assert again.status_code == 200 and again.json()["id"] == row["id"]
    api.post("/v1/suppressions", json={"email": "lee@example.com"})
    listed = api.get("/v1/suppressions", params={"limit": 1}).json()
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    found = api.get("/v1/suppressions", params={"email": "PAT@example.com"}).json()["items"]
    assert [f["id"] for f in found] == [row["id"]]
    assert rival_api.get("/v1/suppressions").json()["items"] == []
    assert rival_api.delete(f"/v1/suppressions/{row['id']}").status_code == 404
    assert api.delete(f"/v1/suppressions/{row['id']}").status_code == 204
    assert api.delete(f"/v1/suppressions/{row['id']}").status_code == 404


def test_suppression_needs_a_valid_email_and_known_reason(api: TestClient) -> None:
    r = api.post("/v1/suppressions", json={"email": "nope", "reason": "manual"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"
    r = api.post("/v1/suppressions", json={"email": "a@b.example", "reason": "spite"})
    assert r.status_code == 422


def test_consent_history_shows_who_how_when_and_the_wording(
    session: Session, api: TestClient, rival_api: TestClient, tenant: Tenant
) -> None:
    _, _, email, mobile = _household(session, tenant.company_id)
    at = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    service.customer_opt_out_sms(
        session,
        company_id=tenant.company_id,
        phone=mobile.value,
        source="keyword",
        wording="Stop please",
        reference="SM1",
        at=at,
    )
    session.commit()
    api.post("/v1/suppressions", json={"email": email.value, "reason": "complaint"})

    history = api.get(f"/v1/contact-methods/{mobile.id}/consent-history").json()["items"]
    assert len(history) == 1
    event = history[0]
    assert (event["field"], event["old_value"], event["new_value"]) == (
        "marketing_sms_status",
        "opted_in",
        "opted_out",
    )
    assert (event["source"], event["wording"], event["reference"]) == (
        "keyword",
        "Stop please",
        "SM1",
    )
    assert event["at"].startswith("2026-11-23T15:00:00")
    email_history = api.get(f"/v1/contact-methods/{email.id}/consent-history").json()["items"]
    assert [(e["field"], e["new_value"], e["source"]) for e in email_history] == [
        ("suppression", "complaint", "api")
    ]
    assert rival_api.get(f"/v1/contact-methods/{mobile.id}/consent-history").status_code == 404
