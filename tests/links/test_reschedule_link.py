"""The reschedule link /r/{token}: a request for the office, never a silent move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.jobs.models import Appointment
from fieldlink.links.models import RescheduleRequest
from fieldlink.messaging.models import Message
from tests.conftest import Tenant
from tests.factories.links import Visit, make_visit
from tests.links.helpers import form_of, url

SOON = (datetime.now(UTC) + timedelta(days=10)).date()


@pytest.fixture
def visit(session: Session, tenant: Tenant) -> Visit:
    visit = make_visit(session, tenant.company_id, commit=False)
    start = datetime.now(UTC).replace(hour=13, minute=0, second=0, microsecond=0) + timedelta(
        days=3
    )
    upcoming = Appointment(
        company_id=tenant.company_id,
        job_id=visit.job.id,
        window_start=start,
        window_end=start + timedelta(hours=3),
        schedule_type="pm",
        status="scheduled",
    )
    session.add(upcoming)
    session.commit()
    visit.appointment = upcoming
    return visit


def _requests(session: Session) -> list[RescheduleRequest]:
    session.expire_all()
    return list(session.scalars(select(RescheduleRequest).order_by(RescheduleRequest.id)))


def test_asking_for_another_day_tells_the_office_and_leaves_the_visit_as_booked(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("r", visit.company.id, visit.appointment.id)
    page = client.get(link)
    assert page.status_code == 200 and "Change your visit" in page.text
    window = (visit.appointment.window_start, visit.appointment.window_end)
    data = form_of(page.text, "nonce")
    form = {
        **data,
        "kind": "reschedule",
        "date1": SOON.isoformat(),
        "time_of_day": "am",
        "message": "Mornings only please",
    }
    response = client.post(link, data=form, follow_redirects=False)
    assert response.status_code == 303
    again = client.post(link, data=form, follow_redirects=False)  # a double click
    assert again.status_code == 303
    [request] = _requests(session)
    assert (request.kind, request.preferred_dates, request.time_of_day) == (
        "reschedule",
        [SOON.isoformat()],
        "am",
    )
    session.refresh(visit.appointment)
    assert (visit.appointment.window_start, visit.appointment.window_end) == window
    assert visit.appointment.status == "scheduled"
    [notice] = session.scalars(select(Message).where(Message.touchpoint == "reschedule_request"))
    assert notice.status == "queued" and notice.user_id == visit.office.id
    assert "reschedule" in (notice.subject or "") and "Mornings only please" in notice.body
    shown = client.get(link + "?sent=1")
    assert "Your request was sent" in shown.text and SOON.isoformat() in shown.text


def test_a_cancel_request_is_a_request_too(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("r", visit.company.id, visit.appointment.id)
    data = form_of(client.get(link).text, "nonce")
    client.post(link, data={**data, "kind": "cancel"})
    [request] = _requests(session)
    assert request.kind == "cancel"
    session.refresh(visit.appointment)
    assert visit.appointment.status == "scheduled"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": "reschedule"}, "Please give at least one day that suits you."),
        ({"kind": "reschedule", "date1": "2020-01-01"}, "Please choose dates from today on."),
        ({"kind": "reschedule", "date1": "soon"}, "Please enter dates like 2026-03-02."),
        ({"kind": "call"}, "Please give a phone number we can call."),
        ({"kind": "teleport"}, "Please choose what you would like to do."),
    ],
)
def test_a_bad_request_form_is_shown_again_with_the_reason(
    session: Session, client: TestClient, visit: Visit, fields: dict[str, str], error: str
) -> None:
    link = url("r", visit.company.id, visit.appointment.id)
    data = form_of(client.get(link).text, "nonce")
    response = client.post(link, data={**data, **fields})
    assert response.status_code == 422 and error in response.text
    assert _requests(session) == []


def test_a_past_or_cancelled_visit_cannot_be_changed_online(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("r", visit.company.id, visit.appointment.id)
    data = form_of(client.get(link).text, "nonce")
    visit.appointment.status = "cancelled"
    session.commit()
    page = client.get(link)
    assert "can no longer be changed online" in page.text and "Send request" not in page.text
    response = client.post(link, data={**data, "kind": "cancel"})
    assert response.status_code == 409 and _requests(session) == []


def test_the_office_reads_the_requests_through_the_api_for_its_own_appointments_only(
    client: TestClient, api: TestClient, rival_api: TestClient, visit: Visit
) -> None:
    link = url("r", visit.company.id, visit.appointment.id)
    data = form_of(client.get(link).text, "nonce")
    client.post(link, data={**data, "kind": "call", "phone": "+1 919 555 0142"})
    path = f"/v1/appointments/{visit.appointment.id}/reschedule-requests"
    [item] = api.get(path).json()["items"]
    assert (item["kind"], item["phone"], item["status"]) == ("call", "+1 919 555 0142", "open")
    assert rival_api.get(path).status_code == 404


def test_requests_are_capped_per_visit_so_the_office_is_not_flooded(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("r", visit.company.id, visit.appointment.id)
    for _ in range(5):
        data = form_of(client.get(link).text, "nonce")
        assert client.post(link, data={**data, "kind": "cancel"}).status_code == 200
    data = form_of(client.get(link).text, "nonce")
    refused = client.post(link, data={**data, "kind": "cancel"})
    assert refused.status_code == 429 and "Please call us" in refused.text
    assert len(_requests(session)) == 5
