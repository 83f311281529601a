"""The estimate link /e/{token}: view, approve or decline once, the office told by the outbox."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.messaging.models import Message
from fieldlink.outbox.models import OutboxJob
from tests.conftest import Tenant
from tests.factories.links import Visit, make_visit
from tests.links.helpers import form_of, url


@pytest.fixture
def visit(session: Session, tenant: Tenant) -> Visit:
    return make_visit(session, tenant.company_id)


def _decide(client: TestClient, link: str, **fields: str) -> object:
    data = form_of(client.get(link).text)
    return client.post(link, data={**data, **fields}, follow_redirects=False)


def test_the_estimate_shows_its_lines_and_total(client: TestClient, visit: Visit) -> None:
    page = client.get(url("e", visit.company.id, visit.estimate.id))
    assert page.status_code == 200
    assert visit.estimate.number in page.text
    assert "Heat pump, 3 ton" in page.text and "$4,200.00" in page.text
    assert "$4,770.00" in page.text
    assert "Approve estimate" in page.text and "Decline estimate" in page.text


def test_approving_records_the_decision_and_comment_and_tells_the_office(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("e", visit.company.id, visit.estimate.id)
    response = _decide(client, link, decision="approved", comment="Please start Monday.")
    assert response.status_code == 303  # type: ignore[attr-defined]
    session.expire_all()
    assert visit.estimate.status == "approved" and visit.estimate.decided_at is not None
    assert visit.estimate.customer_comment == "Please start Monday."
    [notice] = session.scalars(
        select(Message).where(Message.touchpoint == "estimate_decision")
    ).all()
    assert notice.status == "queued" and notice.to == visit.office.email
    assert notice.user_id == visit.office.id and notice.channel == "email"
    assert visit.estimate.number in notice.body and "Please start Monday." in notice.body
    assert "approved" in (notice.subject or "")
    # Queued through the outbox, in the same transaction as the decision.
    jobs = session.scalars(select(OutboxJob).where(OutboxJob.topic == "messaging.send")).all()
    assert any(j.payload.get("message_id") == notice.id for j in jobs)
    shown = client.get(link + "?decided=1")
    assert "You approved this estimate" in shown.text and "Approve estimate" not in shown.text


def test_a_decided_estimate_cannot_be_decided_again(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("e", visit.company.id, visit.estimate.id)
    page = client.get(link)
    data = form_of(page.text)
    first = client.post(link, data={**data, "decision": "declined", "comment": "Too much"})
    assert first.status_code == 200  # followed the redirect
    again = client.post(link, data={**data, "decision": "approved"}, follow_redirects=False)
    assert again.status_code == 409
    assert "already answered" in again.text
    session.expire_all()
    assert visit.estimate.status == "declined" and visit.estimate.customer_comment == "Too much"
    notices = session.scalars(
        select(Message).where(Message.touchpoint == "estimate_decision")
    ).all()
    assert len(notices) == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"decision": "maybe"}, "Please choose Approve or Decline."),
        ({"decision": "approved", "comment": "x" * 2001}, "Please shorten your comment"),
    ],
)
def test_a_bad_decision_form_changes_nothing(
    session: Session, client: TestClient, visit: Visit, fields: dict[str, str], error: str
) -> None:
    response = _decide(client, url("e", visit.company.id, visit.estimate.id), **fields)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert error in response.text  # type: ignore[attr-defined]
    session.expire_all()
    assert visit.estimate.status == "sent"


def test_the_point_of_contact_hears_of_the_decision_when_set(
    session: Session, client: TestClient, visit: Visit
) -> None:
    visit.company.point_of_contact_user_id = visit.technician.id
    session.commit()
    _decide(client, url("e", visit.company.id, visit.estimate.id), decision="declined")
    [notice] = session.scalars(
        select(Message).where(Message.touchpoint == "estimate_decision")
    ).all()
    assert notice.user_id == visit.technician.id


def test_the_estimate_page_in_spanish(client: TestClient, visit: Visit) -> None:
    page = client.get(
        url("e", visit.company.id, visit.estimate.id), headers={"Accept-Language": "es"}
    )
    assert "Presupuesto" in page.text and "Aprobar presupuesto" in page.text
