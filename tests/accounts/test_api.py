"""Company, users and API-key authentication over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import create_api_key, revoke_api_key


def test_requests_without_a_key_get_401_problem(client: TestClient) -> None:
    r = client.get("/v1/company")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 401 and body["code"] == "missing_api_key"
    assert r.headers["www-authenticate"] == "Bearer"


def test_unknown_key_gets_401(client: TestClient) -> None:
    r = client.get("/v1/company", headers={"Authorization": "Bearer flk_nope"})
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_api_key"


def test_revoked_key_stops_working_at_once(session: Session, api: TestClient, tenant) -> None:
    company = session.get(Company, tenant.company_id)
    assert company is not None
    key, raw = create_api_key(session, company=company, name="temp")
    session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    assert api.get("/v1/company", headers=headers).status_code == 200
    revoke_api_key(session, company=company, key_id=key.id)
    session.commit()
    assert api.get("/v1/company", headers=headers).status_code == 401


def test_company_reads_its_own_profile_with_default_settings(api: TestClient) -> None:
    body = api.get("/v1/company").json()
    assert body["company_code"] == "acme"
    assert body["sms_registration"] == "unknown"
    assert body["settings"]["technician_identity"] == "name_and_photo"
    assert body["settings"]["quiet_hours"] == {"start": "08:00", "end": "21:00"}
    assert body["settings"]["portal"]["show_credit"] is True


def test_patch_company_normalises_phone_and_keeps_unsent_fields(api: TestClient) -> None:
    r = api.patch(
        "/v1/company",
        json={
            "business_phone": "(919) 555-0142",
            "brand": {"color": "#1A2B3C", "website": "https://acme.example"},
            "sender": {"email": "Service@Acme.Example", "name": "Acme Service"},
            "settings": {"double_opt_in": True, "quiet_hours": {"end": "20:00"}},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["business_phone"] == "+19195550142"
    assert body["brand"]["color"] == "#1a2b3c"
    assert body["sender"]["email"] == "service@acme.example"
    assert body["settings"]["double_opt_in"] is True
    assert body["settings"]["quiet_hours"] == {"start": "08:00", "end": "20:00"}
    # A second PATCH of one field leaves the others as they were.
    body = api.patch(
        "/v1/company", json={"brand": {"logo_url": "https://acme.example/l.png"}}
    ).json()
    assert body["brand"]["website"] == "https://acme.example"
    assert body["settings"]["double_opt_in"] is True


def test_patch_company_rejects_bad_values_with_field_errors(api: TestClient) -> None:
    r = api.patch(
        "/v1/company",
        json={"business_phone": "12", "brand": {"color": "red"}, "time_zone": "Mars/Olympus"},
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"business_phone", "brand.color", "time_zone"}


def test_patch_company_rejects_unknown_fields(api: TestClient) -> None:
    r = api.patch("/v1/company", json={"nmae": "typo"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "nmae"


def test_point_of_contact_must_be_one_of_our_users(api: TestClient, rival_api: TestClient) -> None:
    rival_user = rival_api.post(
        "/v1/users", json={"name": "Rita", "email": "rita@rival.example", "role": "owner"}
    ).json()
    r = api.patch("/v1/company", json={"point_of_contact_user_id": rival_user["id"]})
    assert r.status_code == 404
    mine = api.post(
        "/v1/users", json={"name": "Otto", "email": "otto@acme.example", "role": "dispatcher"}
    ).json()
    r = api.patch("/v1/company", json={"point_of_contact_user_id": mine["id"]})
    assert r.status_code == 200 and r.json()["point_of_contact_user_id"] == mine["id"]


def test_users_are_created_listed_by_role_and_updated(api: TestClient) -> None:
    tech = api.post(
        "/v1/users",
        json={
            "name": "Tina Tech",
            "email": "Tina@Acme.example",
            "phone": "919-555-0101",
            "role": "technician",
            "photo_url": "https://acme.example/tina.jpg",
            "certifications": ["NATE-certified"],
        },
    )
    assert tech.status_code == 201, tech.text
    assert tech.json()["phone"] == "+19195550101"
    assert tech.json()["email"] == "tina@acme.example"
    api.post("/v1/users", json={"name": "Owen", "email": "owen@acme.example", "role": "owner"})
    techs = api.get("/v1/users", params={"role": "technician"}).json()
    assert [u["name"] for u in techs["items"]] == ["Tina Tech"]
    r = api.patch(f"/v1/users/{tech.json()['id']}", json={"role": "dispatcher"})
    assert r.status_code == 200 and r.json()["role"] == "dispatcher"


def test_duplicate_user_email_is_a_409(api: TestClient) -> None:
    body = {"name": "A", "email": "a@acme.example", "role": "owner"}
    assert api.post("/v1/users", json=body).status_code == 201
    r = api.post("/v1/users", json=body)
    assert r.status_code == 409 and r.json()["code"] == "user_email_taken"


def test_user_role_must_be_known(api: TestClient) -> None:
    r = api.post("/v1/users", json={"name": "A", "email": "a@acme.example", "role": "king"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"


def test_another_companys_user_is_a_404(api: TestClient, rival_api: TestClient) -> None:
    theirs = rival_api.post(
        "/v1/users", json={"name": "R", "email": "r@rival.example", "role": "owner"}
    ).json()
    assert api.get(f"/v1/users/{theirs['id']}").status_code == 404
    assert api.patch(f"/v1/users/{theirs['id']}", json={"name": "x"}).status_code == 404
    assert rival_api.get(f"/v1/users/{theirs['id']}").json()["name"] == "R"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
