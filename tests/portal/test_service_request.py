"""Service request: an unassigned job for the office, told through the editable template."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import User
from fieldlink.jobs.models import Appointment, Job
from fieldlink.messaging.models import Message
from fieldlink.portal import pages
from fieldlink.portal.models import PortalServiceRequest
from tests.conftest import Tenant
from tests.portal.helpers import Seed, logged_in, post_form, seed, set_portal


@pytest.fixture
def s(session: Session, tenant: Tenant) -> Seed:
    owner = User(
        company_id=tenant.company_id, name="Olga Owner", email="olga@acme.example", role="owner"
    )
    session.add(owner)
    session.flush()
    result = seed(session, tenant.company_id)
    result.company.sender_email = "office@acme.example"
    session.commit()
    return result


def _request(web: TestClient, s: Seed, **fields: object) -> object:
    return post_form(web, f"/portal/{s.code}/service-request", fields)


def test_request_creates_an_unassigned_job_and_emails_the_office(
    client: TestClient, session: Session, s: Seed
) -> None:
    web = logged_in(client, s)
    when = (date.today() + timedelta(days=3)).isoformat()
    response = _request(
        web,
        s,
        location_id=s.home.id,
        job_type="No heat",
        preferred_date=when,
        schedule_type="am",
        description="The furnace blows cold air.",
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert "Your service request was sent" in web.get(response.headers["location"]).text  # type: ignore[attr-defined]
    request = session.scalar(select(PortalServiceRequest))
    assert request is not None
    job = session.get(Job, request.job_id)
    assert job is not None
    assert (job.customer_id, job.location_id, job.status, job.job_type) == (
        s.customer.id,
        s.home.id,
        "open",
        "No heat",
    )
    assert "blows cold air" in (job.description or "")
    assert request.preferred_date == date.fromisoformat(when) and request.schedule_type == "am"
    # Unassigned: no appointment, so no technician.
    assert session.scalar(select(Appointment).where(Appointment.job_id == job.id)) is None
    notice = session.scalar(select(Message).where(Message.touchpoint == "portal_service_request"))
    assert notice is not None
    assert notice.to == "olga@acme.example" and notice.status == "queued"
    assert "Oak Street Offices" in (notice.subject or "")
    assert "blows cold air" in notice.body and "120 Oak St" in notice.body


def test_the_office_notice_uses_the_companys_edited_template(
    client: TestClient, session: Session, s: Seed, api: TestClient
) -> None:
    put = api.put(
        "/v1/templates/portal_service_request/email",
        json={"subject": "NEW PORTAL JOB {{ job.id }}", "body": "Call {{ customer.name }} back."},
    )
    assert put.status_code in (200, 201), put.text
    web = logged_in(client, s)
    _request(web, s, location_id=s.home.id, description="Leaking unit")
    notice = session.scalar(select(Message).where(Message.touchpoint == "portal_service_request"))
    assert notice is not None
    assert notice.subject is not None and notice.subject.startswith("NEW PORTAL JOB")
    assert notice.body == "Call Oak Street Offices back."


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"description": ""}, "Please fill this in"),
        ({"preferred_date": "2001-01-01"}, "today or a later date"),
        ({"preferred_date": "soon"}, "Please enter a date"),
        ({"schedule_type": "midnight"}, "Please choose one of the options"),
    ],
)
def test_bad_request_form_is_shown_again_with_the_reason(
    client: TestClient, session: Session, s: Seed, fields: dict[str, str], message: str
) -> None:
    web = logged_in(client, s)
    data = {"location_id": s.home.id, "description": "Fix it", **fields}
    response = _request(web, s, **data)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert message in response.text  # type: ignore[attr-defined]
    assert session.scalar(select(PortalServiceRequest)) is None


def test_today_in_the_companys_time_zone_is_not_in_the_past(
    client: TestClient, session: Session, s: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 20:00 in New York the UTC date is already tomorrow: a customer asking for a visit
    today (their today, and the company's) was told the date was in the past."""
    monkeypatch.setattr(pages, "utcnow", lambda: datetime(2026, 12, 8, 1, 0, tzinfo=UTC))
    web = logged_in(client, s)
    data = {"location_id": s.home.id, "description": "Fix it", "preferred_date": "2026-12-07"}
    response = _request(web, s, **data)
    assert response.status_code == 303  # type: ignore[attr-defined]
    request = session.scalar(select(PortalServiceRequest))
    assert request is not None and request.preferred_date == date(2026, 12, 7)
    yesterday = _request(web, s, **{**data, "preferred_date": "2026-12-06"})
    assert yesterday.status_code == 422  # type: ignore[attr-defined]
    assert "today or a later date" in yesterday.text  # type: ignore[attr-defined]


def test_new_address_when_the_field_is_on(client: TestClient, session: Session, s: Seed) -> None:
    set_portal(session, s.company, new_address_field=True)
    session.commit()
    web = logged_in(client, s)
    response = _request(web, s, new_address="77 New Rd, Cary NC", description="New building")
    assert response.status_code == 303  # type: ignore[attr-defined]
    request = session.scalar(select(PortalServiceRequest))
    assert request is not None and request.new_address == "77 New Rd, Cary NC"
    notice = session.scalar(select(Message).where(Message.touchpoint == "portal_service_request"))
    assert notice is not None and "77 New Rd" in notice.body


def test_switched_off_fields_are_ignored_when_posted(
    client: TestClient, session: Session, s: Seed
) -> None:
    set_portal(
        session,
        s.company,
        show_schedule_date=False,
        show_schedule_type=False,
        job_type_selector=False,
        new_address_field=False,
    )
    session.commit()
    web = logged_in(client, s)
    response = _request(
        web,
        s,
        location_id=s.home.id,
        description="x",
        preferred_date="2099-01-01",
        schedule_type="pm",
        job_type="Anything",
        new_address="1 Sneaky Way",
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    request = session.scalar(select(PortalServiceRequest))
    assert request is not None
    assert (request.preferred_date, request.schedule_type, request.new_address) == (
        None,
        None,
        None,
    )
    job = session.get(Job, request.job_id)
    assert job is not None and job.job_type is None


def test_job_type_must_be_one_of_the_companys_choices(
    client: TestClient, session: Session, s: Seed
) -> None:
    set_portal(session, s.company, job_types=["Repair", "Tune-up"])
    session.commit()
    web = logged_in(client, s)
    bad = _request(web, s, location_id=s.home.id, description="x", job_type="Demolition")
    assert bad.status_code == 422  # type: ignore[attr-defined]
    good = _request(web, s, location_id=s.home.id, description="x", job_type="Repair")
    assert good.status_code == 303  # type: ignore[attr-defined]


def test_request_for_a_sub_customer(client: TestClient, session: Session, s: Seed) -> None:
    web = logged_in(client, s)
    sub_loc = next(
        loc.id
        for loc in session.scalars(
            select(__import__("fieldlink.customers.models", fromlist=["Location"]).Location)
        )
        if loc.customer_id == s.sub.id
    )
    response = _request(web, s, location_id=sub_loc, description="Annex", sub_customer="1")
    assert response.status_code == 303  # type: ignore[attr-defined]
    request = session.scalar(select(PortalServiceRequest))
    assert request is not None and request.customer_id == s.sub.id and request.sub_customer


def test_the_office_lists_portal_requests_of_its_own_company(
    client: TestClient, session: Session, s: Seed, api: TestClient, rival_api: TestClient
) -> None:
    web = logged_in(client, s)
    _request(web, s, location_id=s.home.id, description="Noisy", schedule_type="pm")
    [item] = api.get("/v1/portal-service-requests").json()["items"]
    assert item["customer_id"] == s.customer.id and item["schedule_type"] == "pm"
    job = api.get(f"/v1/jobs/{item['job_id']}").json()
    assert job["status"] == "open" and "Noisy" in job["description"]
    assert rival_api.get("/v1/portal-service-requests").json()["items"] == []
