"""Office API: /v1/portal-accounts (logins, requests, approval) and the portal toggles."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import User
from fieldlink.customers.models import Customer
from fieldlink.messaging.models import Message
from tests.conftest import Tenant
from tests.portal.helpers import PASSWORD, login, post_form, seed


def _customer(session: Session, company_id: int, name: str = "Maria Smith") -> Customer:
    customer = Customer(company_id=company_id, name=name)
    session.add(customer)
    session.commit()
    return customer


def test_office_creates_a_login_and_the_customer_logs_in(
    session: Session, tenant: Tenant, api: TestClient, client: TestClient
) -> None:
    customer = _customer(session, tenant.company_id)
    created = api.post(
        "/v1/portal-accounts",
        json={"customer_id": customer.id, "login_id": "Maria", "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["login_id"] == "maria" and body["status"] == "active"
    assert "password" not in body and "password_hash" not in body
    assert login(client, tenant.code, "maria").status_code == 303
    listed = api.get("/v1/portal-accounts", params={"customer_id": customer.id}).json()
    assert [a["login_id"] for a in listed["items"]] == ["maria"]
    assert listed["items"][0]["last_login_at"] is not None


def test_login_creation_is_validated(session: Session, tenant: Tenant, api: TestClient) -> None:
    customer = _customer(session, tenant.company_id)
    weak = api.post(
        "/v1/portal-accounts",
        json={"customer_id": customer.id, "login_id": "maria", "password": "short"},
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["field"] == "password"
    bad_id = api.post(
        "/v1/portal-accounts",
        json={"customer_id": customer.id, "login_id": "no spaces!", "password": PASSWORD},
    )
    assert bad_id.status_code == 422
    ok = {"customer_id": customer.id, "login_id": "maria", "password": PASSWORD}
    assert api.post("/v1/portal-accounts", json=ok).status_code == 201
    taken = api.post("/v1/portal-accounts", json=ok)
    assert taken.status_code == 409
    assert taken.json()["code"] == "login_id_taken"


def test_portal_accounts_are_tenancy_scoped(
    session: Session, tenant: Tenant, other_tenant: Tenant, api: TestClient, rival_api: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    theirs = _customer(session, other_tenant.company_id, "Rival customer")
    assert rival_api.get(f"/v1/portal-accounts/{s.account.id}").status_code == 404
    assert (
        rival_api.patch(f"/v1/portal-accounts/{s.account.id}", json={"status": "disabled"})
    ).status_code == 404
    assert rival_api.get("/v1/portal-accounts").json()["items"] == []
    # Nor can a login be made for, or moved to, another company's customer.
    made = api.post(
        "/v1/portal-accounts",
        json={"customer_id": theirs.id, "login_id": "steal", "password": PASSWORD},
    )
    assert made.status_code == 404
    moved = api.patch(f"/v1/portal-accounts/{s.account.id}", json={"customer_id": theirs.id})
    assert moved.status_code == 404
    assert api.get("/v1/portal-accounts/999999").status_code == 404
    assert api.get("/v1/portal-accounts").status_code == 200
    assert TestClient(api.app).get("/v1/portal-accounts").status_code == 401


def test_customer_requests_a_login_and_the_office_approves_it(
    session: Session, tenant: Tenant, api: TestClient, client: TestClient
) -> None:
    customer = _customer(session, tenant.company_id)
    session.add(
        User(company_id=tenant.company_id, name="Olga", email="olga@acme.example", role="owner")
    )
    session.commit()
    form = {
        "name": "Maria Smith",
        "email": "Maria@Example.com",
        "phone": "(919) 555-0134",
        "address": "120 Oak St",
        "note": "account 1042",
        "login_id": "maria.smith",
        "password": PASSWORD,
    }
    sent = post_form(client, f"/portal/{tenant.code}/request-account", form)
    assert sent.status_code == 303
    assert "will check your request" in client.get(sent.headers["location"]).text
    # The office (its owner, lacking a point of contact) is told through the outbox.
    notice = session.scalar(select(Message).where(Message.touchpoint == "portal_account_request"))
    assert notice is not None and notice.to == "olga@acme.example"
    assert "Maria Smith" in (notice.subject or "") and "maria.smith" in notice.body
    # Before approval the customer cannot log in, and is told why.
    pending = login(client, tenant.code, "maria.smith")
    assert pending.status_code == 403 and "waiting for approval" in pending.text
    requests = api.get("/v1/portal-accounts", params={"status": "requested"}).json()["items"]
    assert len(requests) == 1
    request = requests[0]
    assert request["request_email"] == "maria@example.com"
    assert request["request_phone"] == "+19195550134"
    assert request["customer_id"] is None
    # Approving needs the customer it belongs to.
    unlinked = api.patch(f"/v1/portal-accounts/{request['id']}", json={"status": "active"})
    assert unlinked.status_code == 422
    approved = api.patch(
        f"/v1/portal-accounts/{request['id']}",
        json={"status": "active", "customer_id": customer.id},
    )
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert login(client, tenant.code, "maria.smith").status_code == 303
    assert "Maria Smith" in client.get(f"/portal/{tenant.code}/dashboard").text


def test_rejected_request_cannot_log_in(
    session: Session, tenant: Tenant, api: TestClient, client: TestClient
) -> None:
    form = {"name": "Bo", "email": "bo@example.com", "login_id": "bo-b", "password": PASSWORD}
    assert post_form(client, f"/portal/{tenant.code}/request-account", form).status_code == 303
    [request] = api.get("/v1/portal-accounts", params={"status": "requested"}).json()["items"]
    rejected = api.patch(f"/v1/portal-accounts/{request['id']}", json={"status": "rejected"})
    assert rejected.json()["status"] == "rejected"
    assert login(client, tenant.code, "bo-b").status_code == 401


def test_account_request_form_validates_and_is_limited_per_address(
    tenant: Tenant, client: TestClient
) -> None:
    url = f"/portal/{tenant.code}/request-account"
    bad = post_form(client, url, {"name": "", "email": "nope", "login_id": "x", "password": "1"})
    assert bad.status_code == 422
    assert "Please fill this in" in bad.text and "valid email address" in bad.text
    weak = post_form(
        client, url, {"name": "A", "email": "a@example.com", "login_id": "abc", "password": "1"}
    )
    assert weak.status_code == 422 and "at least 10 characters" in weak.text
    for n in range(5):
        form = {"name": "A", "email": "a@example.com", "login_id": f"abc{n}", "password": PASSWORD}
        assert post_form(client, url, form).status_code == 303
    sixth = post_form(
        client,
        url,
        {"name": "A", "email": "a@example.com", "login_id": "abc9", "password": PASSWORD},
    )
    assert sixth.status_code == 429 and "Too many requests" in sixth.text


def test_reset_password_and_disable_log_every_browser_out(
    session: Session, tenant: Tenant, api: TestClient, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    assert login(client, s.code, "oakstreet").status_code == 303
    reset = api.patch(f"/v1/portal-accounts/{s.account.id}", json={"password": "a brand new one"})
    assert reset.status_code == 200
    assert client.get(f"/portal/{s.code}/dashboard", follow_redirects=False).status_code == 303
    assert login(client, s.code, "oakstreet").status_code == 401
    assert login(client, s.code, "oakstreet", "a brand new one").status_code == 303
    api.patch(f"/v1/portal-accounts/{s.account.id}", json={"status": "disabled"})
    assert client.get(f"/portal/{s.code}/dashboard", follow_redirects=False).status_code == 303
    assert login(client, s.code, "oakstreet", "a brand new one").status_code == 401


def test_office_unlocks_a_locked_login(
    session: Session, tenant: Tenant, api: TestClient, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    for _ in range(5):
        login(client, s.code, "oakstreet", "wrong password!")
    assert api.get(f"/v1/portal-accounts/{s.account.id}").json()["locked"] is True
    api.patch(f"/v1/portal-accounts/{s.account.id}", json={"unlock": True})
    assert api.get(f"/v1/portal-accounts/{s.account.id}").json()["locked"] is False
    assert login(client, s.code, "oakstreet").status_code == 303


def test_every_portal_toggle_is_settable_through_patch_company(api: TestClient) -> None:
    toggles = api.get("/v1/company").json()["settings"]["portal"]
    flipped = {k: not v for k, v in toggles.items() if isinstance(v, bool)}
    assert len(flipped) >= 20
    response = api.patch("/v1/company", json={"settings": {"portal": flipped}})
    assert response.status_code == 200, response.text
    stored = api.get("/v1/company").json()["settings"]["portal"]
    assert {k: stored[k] for k in flipped} == flipped
    lists = {
        "job_type_label": "Service type",
        "job_types": ["Repair", "Tune-up"],
        "hidden_custom_fields": ["Gate code"],
        "hidden_columns": ["po_number", "balance"],
    }
    assert api.patch("/v1/company", json={"settings": {"portal": lists}}).status_code == 200
    stored = api.get("/v1/company").json()["settings"]["portal"]
    assert {k: stored[k] for k in lists} == lists
    # One toggle at a time leaves the others alone.
    api.patch("/v1/company", json={"settings": {"portal": {"show_credit": True}}})
    again = api.get("/v1/company").json()["settings"]["portal"]
    assert again["hidden_columns"] == ["po_number", "balance"]


def test_portal_toggles_are_validated(api: TestClient) -> None:
    for bad in (
        {"hidden_columns": ["ssn"]},
        {"show_credit": "maybe"},
        {"job_type_label": ""},
        {"no_such_toggle": True},
        {"job_types": [""]},
    ):
        response = api.patch("/v1/company", json={"settings": {"portal": bad}})
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith("application/problem+json")


def test_moving_a_login_to_another_customer_logs_its_browsers_out(
    session: Session, tenant: Tenant, api: TestClient, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    other = _customer(session, tenant.company_id, "Elm Street Shop")
    assert login(client, s.code, "oakstreet").status_code == 303
    moved = api.patch(f"/v1/portal-accounts/{s.account.id}", json={"customer_id": other.id})
    assert moved.status_code == 200 and moved.json()["customer_id"] == other.id
    assert client.get(f"/portal/{s.code}/dashboard", follow_redirects=False).status_code == 303
    assert login(client, s.code, "oakstreet").status_code == 303
    assert "Elm Street Shop" in client.get(f"/portal/{s.code}/dashboard").text


def test_a_requested_password_is_kept_exactly_as_typed(
    session: Session, tenant: Tenant, api: TestClient, client: TestClient
) -> None:
    customer = _customer(session, tenant.company_id)
    spaced = "  spaces around me  "
    form = {"name": "Sam", "email": "sam@example.com", "login_id": "sam", "password": spaced}
    assert post_form(client, f"/portal/{tenant.code}/request-account", form).status_code == 303
    [request] = api.get("/v1/portal-accounts", params={"status": "requested"}).json()["items"]
    api.patch(
        f"/v1/portal-accounts/{request['id']}",
        json={"status": "active", "customer_id": customer.id},
    )
    assert login(client, tenant.code, "sam", spaced.strip()).status_code == 401
    assert login(client, tenant.code, "sam", spaced).status_code == 303
