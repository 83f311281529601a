"""Contact methods: normalisation, consent defaults, office restrictions, consent history.

Rules cited are DESIGN.md, "Consent rules" (Defaults, Marketing SMS, Consent evidence).
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.consent.models import ConsentEvent
from fieldlink.customers.models import ContactMethod
from tests.customers.helpers import add_method, create_contact, create_customer, errors_of

PHONE = "919-555-0123"
E164 = "+19195550123"


def _customer_with_phone(api: TestClient, value: str = PHONE) -> dict[str, Any]:
    customer = create_customer(
        api,
        contacts=[{"name": "Pat", "role": "owner", "methods": [{"kind": "phone", "value": value}]}],
    )
    method: dict[str, Any] = customer["contacts"][0]["methods"][0]
    return method


def _events(session: Session, **where: Any) -> list[ConsentEvent]:
    stmt = select(ConsentEvent).order_by(ConsentEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(ConsentEvent, key) == value)
    return list(session.scalars(stmt))


# -- normalisation -----------------------------------------------------------------------


def test_phone_numbers_are_stored_in_e164(api: TestClient) -> None:
    customer = create_customer(api)
    contact = create_contact(api, customer["id"])
    for typed in ("(919) 555-0123", "919.555.0123", "+1 919 555 0123"):
        assert add_method(api, contact["id"], kind="phone", value=typed)["value"] == E164


def test_phone_numbers_default_to_the_companys_country(api: TestClient) -> None:
    assert api.patch("/v1/company", json={"country": "GB"}).status_code == 200
    method = _customer_with_phone(api, "020 7946 0018")
    assert method["value"] == "+442079460018"


def test_emails_are_validated_and_lower_cased(api: TestClient) -> None:
    customer = create_customer(api)
    contact = create_contact(api, customer["id"])
    method = add_method(api, contact["id"], kind="email", value="  Pat.Smith@Example.ORG ")
    assert method["value"] == "pat.smith@example.org"
    assert method["phone_type"] is None


def test_bad_phone_and_email_values_are_422_on_create_and_patch(api: TestClient) -> None:
    customer = create_customer(api)
    contact = create_contact(api, customer["id"])
    url = f"/v1/contacts/{contact['id']}/methods"
    assert "value" in errors_of(api.post(url, json={"kind": "phone", "value": "555"}))
    assert "value" in errors_of(api.post(url, json={"kind": "phone", "value": "call me"}))
    assert "value" in errors_of(api.post(url, json={"kind": "email", "value": "pat@"}))
    assert "kind" in errors_of(api.post(url, json={"kind": "fax", "value": "1"}))
    method = add_method(api, contact["id"], kind="email", value="pat@example.com")
    r = api.patch(f"/v1/contact-methods/{method['id']}", json={"value": "no at sign"})
    assert "value" in errors_of(r)
    assert api.get(f"/v1/contact-methods/{method['id']}").json()["value"] == "pat@example.com"


def test_an_email_has_no_phone_type(api: TestClient) -> None:
    customer = create_customer(api)
    contact = create_contact(api, customer["id"])
    r = api.post(
        f"/v1/contacts/{contact['id']}/methods",
        json={"kind": "email", "value": "a@example.com", "phone_type": "mobile"},
    )
    assert "phone_type" in errors_of(r)


def test_patching_a_number_renormalises_it(api: TestClient) -> None:
    method = _customer_with_phone(api)
    r = api.patch(f"/v1/contact-methods/{method['id']}", json={"value": "(919) 555-0199"})
    assert r.status_code == 200 and r.json()["value"] == "+19195550199"


# -- defaults ----------------------------------------------------------------------------


def test_methods_created_with_a_new_customer_default_to_marketing_updates_on(
    api: TestClient,
) -> None:
    # DESIGN.md Defaults: "marketing_updates is on for methods created with a new customer record".
    method = _customer_with_phone(api)
    assert method["marketing_updates"] is True


def test_methods_added_to_an_existing_customer_default_to_marketing_updates_off(
    api: TestClient,
) -> None:
    # DESIGN.md Defaults: "... off for methods added later to an existing customer".
    customer = create_customer(api)
    contact = create_contact(
        api, customer["id"], methods=[{"kind": "email", "value": "later@example.com"}]
    )
    assert contact["methods"][0]["marketing_updates"] is False
    method = add_method(api, contact["id"], kind="phone", value=PHONE)
    assert method["marketing_updates"] is False


def test_the_office_may_explicitly_turn_marketing_updates_on_for_a_later_method(
    api: TestClient,
) -> None:
    # The default is off; an explicit true from the office is kept (and recorded).
    customer = create_customer(api)
    contact = create_contact(api, customer["id"])
    method = add_method(api, contact["id"], kind="phone", value=PHONE, marketing_updates=True)
    assert method["marketing_updates"] is True


def test_a_new_customers_method_may_start_with_marketing_updates_off(api: TestClient) -> None:
    customer = create_customer(
        api,
        contacts=[
            {
                "name": "P",
                "role": "owner",
                "methods": [
                    {"kind": "email", "value": "p@example.com", "marketing_updates": False}
                ],
            }
        ],
    )
    assert customer["contacts"][0]["methods"][0]["marketing_updates"] is False


def test_job_notifications_default_on_for_every_new_method(api: TestClient) -> None:
    # DESIGN.md Defaults: "job_notifications is on for every new method".
    nested = _customer_with_phone(api)
    customer = create_customer(api, name="Later")
    contact = create_contact(api, customer["id"])
    later = add_method(api, contact["id"], kind="email", value="x@example.com")
    assert nested["job_notifications"] is True and later["job_notifications"] is True


def test_marketing_sms_status_starts_none(api: TestClient) -> None:
    # DESIGN.md Defaults: "marketing_sms_status starts none".
    method = _customer_with_phone(api)
    assert method["marketing_sms_status"] == "none"
    assert method["marketing_sms_source"] is None


def test_a_phones_type_defaults_to_mobile(api: TestClient) -> None:
    # DESIGN.md Defaults: "a phone's type defaults to mobile unless given".
    assert _customer_with_phone(api)["phone_type"] == "mobile"
    customer = create_customer(api, name="Landline Larry")
    contact = create_contact(api, customer["id"])
    given = add_method(api, contact["id"], kind="phone", value=PHONE, phone_type="landline")
    assert given["phone_type"] == "landline"


# -- what the office may do with marketing SMS ------------------------------------------


def test_office_cannot_opt_a_number_in_to_marketing_sms(api: TestClient, session: Session) -> None:
    # DESIGN.md Marketing SMS: "Only the customer can opt in ... office staff cannot set opted_in".
    method = _customer_with_phone(api)
    url = f"/v1/contact-methods/{method['id']}"
    for status in ("opted_in", "pending"):
        r = api.patch(url, json={"marketing_sms_status": status})
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "office_cannot_opt_in"
    assert api.get(url).json()["marketing_sms_status"] == "none"
    assert _events(session, field="marketing_sms_status") == []


def test_office_cannot_create_a_method_already_opted_in(api: TestClient) -> None:
    # Same rule on creation: a method cannot arrive with consent the customer never gave.
    customer = create_customer(api)
    contact = create_contact(api, customer["id"])
    r = api.post(
        f"/v1/contacts/{contact['id']}/methods",
        json={"kind": "phone", "value": PHONE, "marketing_sms_status": "opted_in"},
    )
    assert r.status_code == 403 and r.json()["code"] == "office_cannot_opt_in"
    assert api.get(f"/v1/contacts/{contact['id']}").json()["methods"] == []
    r = api.post(
        "/v1/customers",
        json={
            "name": "Sneaky",
            "contacts": [
                {
                    "name": "S",
                    "role": "owner",
                    "methods": [
                        {"kind": "phone", "value": PHONE, "marketing_sms_status": "opted_in"}
                    ],
                }
            ],
        },
    )
    assert r.status_code == 403
    assert [c["name"] for c in api.get("/v1/customers").json()["items"]] == ["Ada Lovelace"]


def test_office_cannot_resubscribe_an_opted_out_number(api: TestClient) -> None:
    # DESIGN.md Marketing SMS: office staff "cannot resubscribe an opted-out number".
    method = _customer_with_phone(api)
    url = f"/v1/contact-methods/{method['id']}"
    assert api.patch(url, json={"marketing_sms_status": "opted_out"}).status_code == 200
    r = api.patch(url, json={"marketing_sms_status": "none"})
    assert r.status_code == 403 and r.json()["code"] == "office_cannot_resubscribe"
    r = api.patch(url, json={"marketing_sms_status": "opted_in"})
    assert r.status_code == 403 and r.json()["code"] == "office_cannot_opt_in"
    assert api.get(url).json()["marketing_sms_status"] == "opted_out"


def test_office_can_opt_a_number_out_with_evidence(api: TestClient, session: Session) -> None:
    # DESIGN.md Consent evidence: source, time and who, for every opt-out.
    method = _customer_with_phone(api)
    r = api.patch(f"/v1/contact-methods/{method['id']}", json={"marketing_sms_status": "opted_out"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["marketing_sms_status"] == "opted_out"
    assert body["marketing_sms_source"] == "office" and body["marketing_sms_changed_at"]
    (event,) = _events(session, field="marketing_sms_status")
    assert (event.old_value, event.new_value) == ("none", "opted_out")
    assert event.source == "office" and event.subject == E164
    assert event.contact_method_id == method["id"] and event.customer_id is not None
    assert event.actor is not None and event.actor.startswith("api key flk_")
    assert event.at is not None


def test_an_office_opt_out_reaches_every_contact_with_the_same_number(api: TestClient) -> None:
    # Consent is per phone number (DESIGN.md "Opt-in is per phone number").
    first = _customer_with_phone(api)
    second = _customer_with_phone(api)
    api.patch(f"/v1/contact-methods/{first['id']}", json={"marketing_sms_status": "opted_out"})
    other = api.get(f"/v1/contact-methods/{second['id']}").json()
    assert other["marketing_sms_status"] == "opted_out"


def test_a_new_method_for_an_opted_out_number_starts_opted_out(api: TestClient) -> None:
    first = _customer_with_phone(api)
    api.patch(f"/v1/contact-methods/{first['id']}", json={"marketing_sms_status": "opted_out"})
    again = _customer_with_phone(api, "+1 (919) 555 0123")
    assert again["marketing_sms_status"] == "opted_out"
    assert again["marketing_sms_source"] == "system"


def test_marketing_sms_status_applies_to_mobile_phones_only(api: TestClient) -> None:
    customer = create_customer(api)
    contact = create_contact(api, customer["id"])
    email = add_method(api, contact["id"], kind="email", value="e@example.com")
    landline = add_method(api, contact["id"], kind="phone", value=PHONE, phone_type="landline")
    for method in (email, landline):
        r = api.patch(
            f"/v1/contact-methods/{method['id']}", json={"marketing_sms_status": "opted_out"}
        )
        assert "marketing_sms_status" in errors_of(r)
    r = api.post(
        f"/v1/contacts/{contact['id']}/methods",
        json={"kind": "email", "value": "f@example.com", "marketing_sms_status": "opted_out"},
    )
    assert "marketing_sms_status" in errors_of(r)


def test_sending_back_the_status_just_read_is_not_a_change(
    api: TestClient, session: Session
) -> None:
    customer = create_customer(api)
    contact = create_contact(api, customer["id"])
    email = add_method(api, contact["id"], kind="email", value="e@example.com")
    r = api.patch(f"/v1/contact-methods/{email['id']}", json={"marketing_sms_status": "none"})
    assert r.status_code == 200
    assert _events(session, field="marketing_sms_status") == []


def test_changing_a_number_does_not_carry_its_opt_in(api: TestClient, session: Session) -> None:
    # The opt-in was given for the old number; the new one has not consented.
    method = _customer_with_phone(api)
    row = session.get(ContactMethod, method["id"])
    assert row is not None
    row.marketing_sms_status = "opted_in"  # as a customer's YES would have set it
    session.commit()
    r = api.patch(f"/v1/contact-methods/{method['id']}", json={"value": "919-555-0188"})
    assert r.status_code == 200
    assert r.json()["marketing_sms_status"] == "none"
    (event,) = _events(session, field="marketing_sms_status")
    assert (event.old_value, event.new_value) == ("opted_in", "none")
    assert event.subject == "+19195550188" and event.wording and E164 in event.wording


# -- the consent history -----------------------------------------------------------------


def test_a_new_method_records_the_grants_it_starts_with(api: TestClient, session: Session) -> None:
    method = _customer_with_phone(api)
    events = _events(session, contact_method_id=method["id"])
    assert {(e.field, e.old_value, e.new_value) for e in events} == {
        ("marketing_updates", None, "true"),
        ("job_notifications", None, "true"),
    }
    assert all(e.source == "office" and e.subject == E164 for e in events)


def test_method_flag_changes_are_recorded_once_each(api: TestClient, session: Session) -> None:
    method = _customer_with_phone(api)
    url = f"/v1/contact-methods/{method['id']}"
    before = len(_events(session))
    r = api.patch(url, json={"marketing_updates": False, "job_notifications": False})
    assert r.status_code == 200
    assert r.json()["marketing_updates"] is False and r.json()["job_notifications"] is False
    changes = _events(session)[before:]
    assert {(e.field, e.old_value, e.new_value) for e in changes} == {
        ("marketing_updates", "true", "false"),
        ("job_notifications", "true", "false"),
    }
    # Sending the same values again changes nothing and records nothing.
    api.patch(url, json={"marketing_updates": False, "job_notifications": False})
    assert len(_events(session)) == before + 2


def test_customer_flag_changes_are_recorded(api: TestClient, session: Session) -> None:
    customer = create_customer(api, do_not_service=True)
    subject = f"customer {customer['id']}"
    (created,) = _events(session, subject=subject)
    assert (created.field, created.old_value, created.new_value) == ("do_not_service", None, "true")
    r = api.patch(
        f"/v1/customers/{customer['id']}",
        json={"do_not_mail": True, "do_not_send_promotional_emails": False, "name": "Renamed"},
    )
    assert r.status_code == 200 and r.json()["do_not_mail"] is True
    events = _events(session, subject=subject)
    assert [(e.field, e.old_value, e.new_value) for e in events[1:]] == [
        ("do_not_mail", "false", "true")
    ]
    assert events[1].customer_id == customer["id"] and events[1].contact_method_id is None
    assert events[1].source == "office"


def test_office_resubscribes_email_by_clearing_do_not_send_promotional_emails(
    api: TestClient, session: Session
) -> None:
    # DESIGN.md: "Office staff can resubscribe email by clearing do_not_send_promotional_emails".
    customer = create_customer(api, do_not_send_promotional_emails=True)
    r = api.patch(f"/v1/customers/{customer['id']}", json={"do_not_send_promotional_emails": False})
    assert r.status_code == 200 and r.json()["do_not_send_promotional_emails"] is False
    last = _events(session, field="do_not_send_promotional_emails")[-1]
    assert (last.old_value, last.new_value) == ("true", "false")


def test_tags_the_consent_rules_read_are_recorded(api: TestClient, session: Session) -> None:
    # Double opt-in reads the "Opted In" tag, so adding or removing it is consent evidence.
    customer = create_customer(api, tags=["VIP"])
    api.patch(f"/v1/customers/{customer['id']}", json={"tags": ["VIP", "Opted In"]})
    api.patch(f"/v1/customers/{customer['id']}", json={"tags": ["VIP", "Gold"]})
    events = _events(session, field="tag:Opted In")
    assert [(e.old_value, e.new_value) for e in events] == [("false", "true"), ("true", "false")]


def test_deleting_a_method_keeps_its_consent_history(api: TestClient, session: Session) -> None:
    method = _customer_with_phone(api)
    api.patch(f"/v1/contact-methods/{method['id']}", json={"marketing_sms_status": "opted_out"})
    assert api.delete(f"/v1/contact-methods/{method['id']}").status_code == 204
    assert api.get(f"/v1/contact-methods/{method['id']}").status_code == 404
    session.expire_all()
    (event,) = _events(session, field="marketing_sms_status", subject=E164)
    assert event.contact_method_id is None and event.new_value == "opted_out"
