"""Appointments over HTTP: windows with offsets, technicians, filters and tenancy."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import Tenant
from tests.jobs.helpers import (
    WINDOW,
    field_errors,
    make_appointment,
    make_customer,
    make_job,
    make_technician,
)


@pytest.fixture
def job(api: TestClient, session: Session, tenant: Tenant) -> dict[str, object]:
    return make_job(api, make_customer(session, tenant.company_id))


def test_an_appointment_is_booked_with_its_window_in_utc_and_technicians(
    api: TestClient, session: Session, tenant: Tenant, job: dict[str, object]
) -> None:
    tina = make_technician(session, tenant.company_id, "Tina")
    tom = make_technician(session, tenant.company_id, "Tom")
    appt = make_appointment(api, job["id"], [tom, tina, tom])
    assert appt["job_id"] == job["id"]
    assert appt["status"] == "scheduled" and appt["schedule_type"] == "am"
    assert appt["window_start"].startswith("2026-03-02T13:00:00")
    assert sorted(appt["technician_ids"]) == sorted([tina, tom])
    assert api.get(f"/v1/appointments/{appt['id']}").json()["technician_ids"] == sorted([tina, tom])
    # Booking a visit moves an open job to scheduled.
    assert api.get(f"/v1/jobs/{job['id']}").json()["status"] == "scheduled"


def test_a_window_without_an_offset_is_refused_clearly(
    api: TestClient, job: dict[str, object]
) -> None:
    r = api.post(
        f"/v1/jobs/{job['id']}/appointments",
        json={"window_start": "2026-03-02T08:00:00", "window_end": "2026-03-02T12:00:00Z"},
    )
    assert r.status_code == 422
    errors = field_errors(r)
    assert set(errors) == {"window_start"}
    assert "offset" in errors["window_start"]


def test_a_window_must_end_after_it_starts(api: TestClient, job: dict[str, object]) -> None:
    r = api.post(
        f"/v1/jobs/{job['id']}/appointments",
        json={"window_start": "2026-03-02T12:00:00Z", "window_end": "2026-03-02T12:00:00Z"},
    )
    assert r.status_code == 422 and "window_end must be after window_start" in r.text


def test_schedule_type_must_be_am_pm_or_all_day(api: TestClient, job: dict[str, object]) -> None:
    r = api.post(f"/v1/jobs/{job['id']}/appointments", json={**WINDOW, "schedule_type": "night"})
    assert r.status_code == 422 and "schedule_type" in field_errors(r)


def test_technicians_must_be_active_users_of_the_company(
    api: TestClient,
    session: Session,
    tenant: Tenant,
    other_tenant: Tenant,
    job: dict[str, object],
) -> None:
    retired = make_technician(session, tenant.company_id, "Old Tim", active=False)
    rival = make_technician(session, other_tenant.company_id, "Rita")
    url = f"/v1/jobs/{job['id']}/appointments"
    r = api.post(url, json={**WINDOW, "technician_ids": [retired]})
    assert r.status_code == 422 and r.json()["code"] == "technician_inactive"
    r = api.post(url, json={**WINDOW, "technician_ids": [rival]})
    assert r.status_code == 404 and "technician_ids" in field_errors(r)
    r = api.post(url, json={**WINDOW, "technician_ids": [999_999]})
    assert r.status_code == 404
    assert api.get("/v1/appointments").json()["items"] == []


def test_patch_replaces_the_technicians_and_moves_the_window(
    api: TestClient, session: Session, tenant: Tenant, job: dict[str, object]
) -> None:
    tina = make_technician(session, tenant.company_id, "Tina")
    tom = make_technician(session, tenant.company_id, "Tom")
    appt = make_appointment(api, job["id"], [tina])
    r = api.patch(
        f"/v1/appointments/{appt['id']}",
        json={"technician_ids": [tom], "window_end": "2026-03-02T13:00:00-05:00"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["technician_ids"] == [tom]
    assert r.json()["window_end"].startswith("2026-03-02T18:00:00")
    # A window_start after the stored window_end is caught against the stored value.
    r = api.patch(
        f"/v1/appointments/{appt['id']}", json={"window_start": "2026-03-02T19:00:00-05:00"}
    )
    assert r.status_code == 422 and "window_start" in field_errors(r)
    r = api.patch(f"/v1/appointments/{appt['id']}", json={"technician_ids": []})
    assert r.status_code == 200 and r.json()["technician_ids"] == []


def test_an_appointments_job_is_read_only(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    customer = make_customer(session, tenant.company_id)
    first, second = make_job(api, customer), make_job(api, customer)
    appt = make_appointment(api, first["id"], [])
    r = api.patch(f"/v1/appointments/{appt['id']}", json={"job_id": second["id"]})
    assert r.status_code == 422 and "job_id" in field_errors(r)
    assert api.get(f"/v1/appointments/{appt['id']}").json()["job_id"] == first["id"]


def test_a_cancelled_job_takes_no_new_appointments(api: TestClient, job: dict[str, object]) -> None:
    api.patch(f"/v1/jobs/{job['id']}", json={"status": "cancelled"})
    r = api.post(f"/v1/jobs/{job['id']}/appointments", json=WINDOW)
    assert r.status_code == 409 and r.json()["code"] == "job_cancelled"


def test_appointments_are_filtered_by_window_status_technician_and_job(
    api: TestClient, session: Session, tenant: Tenant
) -> None:
    customer = make_customer(session, tenant.company_id)
    job_a, job_b = make_job(api, customer), make_job(api, customer)
    tina = make_technician(session, tenant.company_id, "Tina")
    tom = make_technician(session, tenant.company_id, "Tom")
    monday = make_appointment(api, job_a["id"], [tina])
    tuesday = make_appointment(
        api,
        job_b["id"],
        [tom],
        window_start="2026-03-03T13:00:00-05:00",
        window_end="2026-03-03T17:00:00-05:00",
    )
    # Late Tuesday evening in New York is already Wednesday in UTC.
    late = make_appointment(
        api,
        job_b["id"],
        [tina, tom],
        window_start="2026-03-03T22:00:00-05:00",
        window_end="2026-03-03T23:00:00-05:00",
    )
    api.patch(f"/v1/appointments/{late['id']}", json={"status": "cancelled"})

    def ids(**params: object) -> list[object]:
        r = api.get("/v1/appointments", params=params)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["items"]]

    # Dates are whole days in the company's time zone (America/New_York by default).
    assert ids(date_from="2026-03-03", date_to="2026-03-03") == [tuesday["id"], late["id"]]
    assert ids(date_to="2026-03-02") == [monday["id"]]
    # A datetime bound matches windows that overlap it.
    assert ids(date_from="2026-03-02T11:00:00-05:00", date_to="2026-03-02T11:30:00-05:00") == [
        monday["id"]
    ]
    assert ids(technician_id=tina) == [monday["id"], late["id"]]
    assert ids(technician_id=tom, status="scheduled") == [tuesday["id"]]
    assert ids(job_id=job_b["id"], status="cancelled") == [late["id"]]
    r = api.get("/v1/appointments", params={"date_from": "2026-03-03T08:00:00"})
    assert r.status_code == 422 and "date_from" in field_errors(r)
    r = api.get("/v1/appointments", params={"date_to": "tomorrow"})
    assert r.status_code == 422 and "date_to" in field_errors(r)


def test_appointments_list_in_pages(api: TestClient, job: dict[str, object]) -> None:
    made = [make_appointment(api, job["id"], [])["id"] for _ in range(3)]
    first = api.get("/v1/appointments", params={"limit": 2}).json()
    second = api.get("/v1/appointments", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [a["id"] for a in first["items"] + second["items"]] == made
    assert second["next_cursor"] is None


def test_another_companys_appointments_are_invisible(
    api: TestClient,
    rival_api: TestClient,
    session: Session,
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    rival_tech = make_technician(session, other_tenant.company_id, "Rita")
    their_job = make_job(rival_api, make_customer(session, other_tenant.company_id))
    theirs = make_appointment(rival_api, their_job["id"], [rival_tech])
    assert api.get(f"/v1/appointments/{theirs['id']}").status_code == 404
    r = api.patch(f"/v1/appointments/{theirs['id']}", json={"status": "cancelled"})
    assert r.status_code == 404
    assert api.post(f"/v1/jobs/{their_job['id']}/appointments", json=WINDOW).status_code == 404
    assert api.get("/v1/appointments").json()["items"] == []
    assert api.get("/v1/appointments", params={"technician_id": rival_tech}).json()["items"] == []
    assert api.get(f"/v1/appointments/{theirs['id']}/status").status_code == 404
    assert rival_api.get(f"/v1/appointments/{theirs['id']}").json()["status"] == "scheduled"
    # Nor can our appointment be staffed with their technician.
    mine = make_appointment(api, make_job(api, make_customer(session, tenant.company_id))["id"], [])
    r = api.patch(f"/v1/appointments/{mine['id']}", json={"technician_ids": [rival_tech]})
    assert r.status_code == 404
    assert api.get(f"/v1/appointments/{mine['id']}").json()["technician_ids"] == []
