"""Status codes and dispatch status events over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import Tenant
from tests.jobs.helpers import (
    field_errors,
    make_appointment,
    make_customer,
    make_job,
    make_technician,
)


def _codes(api: TestClient) -> dict[str, int]:
    return {c["name"]: c["id"] for c in api.get("/v1/status-codes").json()["items"]}


def test_a_new_company_has_the_four_standard_status_codes(api: TestClient) -> None:
    items = api.get("/v1/status-codes").json()["items"]
    assert [(c["name"], c["meaning"]) for c in items] == [
        ("Pending", "pending"),
        ("Traveling", "traveling"),
        ("Working", "working"),
        ("Complete", "complete"),
    ]
    assert all(c["once_per_appointment"] is True for c in items)
    assert all(c["notification"]["enabled"] is False for c in items)


def test_a_status_code_is_once_per_appointment_unless_told_otherwise(api: TestClient) -> None:
    r = api.post(
        "/v1/status-codes",
        json={
            "name": "Parts ordered",
            "notification": {
                "enabled": True,
                "channels": ["sms", "email", "sms"],
                "contact_roles": ["owner", "site"],
                "template": "We ordered parts for your {{ job_type }}.",
            },
        },
    )
    assert r.status_code == 201, r.text
    code = r.json()
    assert code["once_per_appointment"] is True
    assert code["meaning"] == "custom"
    assert code["notification"]["channels"] == ["sms", "email"]
    assert api.get(f"/v1/status-codes/{code['id']}").json() == code
    r = api.post("/v1/status-codes", json={"name": "Delayed", "once_per_appointment": False})
    assert r.json()["once_per_appointment"] is False


def test_status_code_names_are_unique_per_company_in_any_case(
    api: TestClient, rival_api: TestClient
) -> None:
    r = api.post("/v1/status-codes", json={"name": "traveling"})
    assert r.status_code == 409 and r.json()["code"] == "status_code_name_taken"
    other = api.post("/v1/status-codes", json={"name": "On hold"}).json()
    r = api.patch(f"/v1/status-codes/{other['id']}", json={"name": "Working"})
    assert r.status_code == 409
    # Another company may use the same name.
    assert rival_api.post("/v1/status-codes", json={"name": "On hold"}).status_code == 201


def test_status_code_notification_values_are_validated(api: TestClient) -> None:
    r = api.post(
        "/v1/status-codes",
        json={"name": "X", "notification": {"enabled": True, "channels": ["fax"]}},
    )
    assert r.status_code == 422 and any(f.startswith("notification") for f in field_errors(r))
    r = api.post(
        "/v1/status-codes",
        json={"name": "X", "notification": {"enabled": True, "channels": ["sms"]}},
    )
    assert r.status_code == 422 and "contact role" in r.text
    r = api.post(
        "/v1/status-codes",
        json={"name": "X", "notification": {"channels": ["sms"], "contact_roles": ["boss"]}},
    )
    assert r.status_code == 422


def test_patching_a_notification_keeps_the_parts_not_sent(api: TestClient) -> None:
    traveling = _codes(api)["Traveling"]
    r = api.patch(
        f"/v1/status-codes/{traveling}",
        json={"notification": {"enabled": True, "channels": ["sms"], "contact_roles": ["owner"]}},
    )
    assert r.status_code == 200, r.text
    r = api.patch(
        f"/v1/status-codes/{traveling}", json={"notification": {"template": "On the way"}}
    )
    assert r.status_code == 200
    assert r.json()["notification"] == {
        "enabled": True,
        "channels": ["sms"],
        "contact_roles": ["owner"],
        "template": "On the way",
    }
    # Emptying the channels of an enabled notification is refused, not stored.
    r = api.patch(f"/v1/status-codes/{traveling}", json={"notification": {"channels": []}})
    assert r.status_code == 422 and field_errors(r) == {
        "notification": "an enabled notification needs at least one channel (sms, email)"
    }
    r = api.patch(f"/v1/status-codes/{traveling}", json={"once_per_appointment": False})
    assert r.json()["once_per_appointment"] is False
    assert r.json()["name"] == "Traveling"


def test_dispatch_statuses_move_the_appointment_and_job_along(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    codes = _codes(api)
    tina = make_technician(session, tenant.company_id, "Tina")
    tom = make_technician(session, tenant.company_id, "Tom")
    job = make_job(api, make_customer(session, tenant.company_id))
    appt = make_appointment(api, job["id"], [tina, tom])
    url = f"/v1/appointments/{appt['id']}/status"

    r = api.post(url, json={"technician_id": tina, "status_code_id": codes["Pending"]})
    assert r.status_code == 201, r.text
    assert r.json()["appointment_status"] == "scheduled"

    r = api.post(
        url,
        json={"technician_id": tina, "status_code_id": codes["Traveling"], "source": "technician"},
    )
    event = r.json()
    assert event["source"] == "technician" and event["status_code_name"] == "Traveling"
    assert event["appointment_status"] == "in_progress"
    assert api.get(f"/v1/jobs/{job['id']}").json()["status"] == "in_progress"

    api.post(url, json={"technician_id": tina, "status_code_id": codes["Complete"]})
    # Tom has not finished: the visit stays in progress.
    assert api.get(f"/v1/appointments/{appt['id']}").json()["status"] == "in_progress"
    r = api.post(url, json={"technician_id": tom, "status_code_id": codes["Complete"]})
    assert r.json()["appointment_status"] == "completed"
    job_now = api.get(f"/v1/jobs/{job['id']}").json()
    assert job_now["status"] == "completed" and job_now["completed_at"] is not None

    events = api.get(url).json()["items"]
    assert [(e["technician_id"], e["meaning"]) for e in events] == [
        (tina, "pending"),
        (tina, "traveling"),
        (tina, "complete"),
        (tom, "complete"),
    ]
    assert [e["source"] for e in events] == ["office", "technician", "office", "office"]


def test_only_an_assigned_technician_can_get_a_status(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    codes = _codes(api)
    tina = make_technician(session, tenant.company_id, "Tina")
    tom = make_technician(session, tenant.company_id, "Tom")
    appt = make_appointment(
        api, make_job(api, make_customer(session, tenant.company_id))["id"], [tina]
    )
    r = api.post(
        f"/v1/appointments/{appt['id']}/status",
        json={"technician_id": tom, "status_code_id": codes["Working"]},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "technician_not_assigned"
    assert "technician_id" in field_errors(r)
    assert api.get(f"/v1/appointments/{appt['id']}/status").json()["items"] == []
    r = api.post(
        f"/v1/appointments/{appt['id']}/status",
        json={"technician_id": tina, "status_code_id": codes["Working"], "source": "robot"},
    )
    assert r.status_code == 422 and "source" in field_errors(r)


def test_a_cancelled_appointment_takes_no_dispatch_status(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    tina = make_technician(session, tenant.company_id, "Tina")
    appt = make_appointment(
        api, make_job(api, make_customer(session, tenant.company_id))["id"], [tina]
    )
    api.patch(f"/v1/appointments/{appt['id']}", json={"status": "cancelled"})
    r = api.post(
        f"/v1/appointments/{appt['id']}/status",
        json={"technician_id": tina, "status_code_id": _codes(api)["Working"]},
    )
    assert r.status_code == 409 and r.json()["code"] == "appointment_cancelled"


def test_dispatch_cannot_use_another_companys_status_code_or_technician(
    api: TestClient,
    rival_api: TestClient,
    session: Session,
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    tina = make_technician(session, tenant.company_id, "Tina")
    rita = make_technician(session, other_tenant.company_id, "Rita")
    appt = make_appointment(
        api, make_job(api, make_customer(session, tenant.company_id))["id"], [tina]
    )
    url = f"/v1/appointments/{appt['id']}/status"
    r = api.post(url, json={"technician_id": tina, "status_code_id": _codes(rival_api)["Working"]})
    assert r.status_code == 404 and "status_code_id" in field_errors(r)
    r = api.post(url, json={"technician_id": rita, "status_code_id": _codes(api)["Working"]})
    assert r.status_code == 404 and "technician_id" in field_errors(r)
    assert api.get(url).json()["items"] == []
    assert api.get(f"/v1/appointments/{appt['id']}").json()["status"] == "scheduled"


def test_another_companys_status_codes_are_invisible(
    api: TestClient, rival_api: TestClient
) -> None:
    theirs = rival_api.post("/v1/status-codes", json={"name": "Secret"}).json()
    assert api.get(f"/v1/status-codes/{theirs['id']}").status_code == 404
    r = api.patch(f"/v1/status-codes/{theirs['id']}", json={"name": "Mine now"})
    assert r.status_code == 404
    assert "Secret" not in _codes(api)
    assert rival_api.get(f"/v1/status-codes/{theirs['id']}").json()["name"] == "Secret"
