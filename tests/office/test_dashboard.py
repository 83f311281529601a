"""The dashboard: messages per day by status (bars and the same figures as a table),
delivery rate, opt-outs and reviews requested."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.db import utcnow
from fieldlink.messaging.models import Message
from tests.conftest import Tenant
from tests.office.helpers import make_staff, post_form, sign_in
from tests.office.seed import TZ, make_visit, ready_company


def test_the_dashboard_counts_todays_messages_by_status(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    ready_company(session, tenant.company_id)
    office = sign_in(client, make_staff(session, tenant.company_id, "owner").email)
    tomorrow = datetime.now(ZoneInfo(TZ)).date() + timedelta(days=1)
    make_visit(session, tenant.company_id, day=tomorrow, name="Ann")
    make_visit(session, tenant.company_id, day=tomorrow, name="Dee", do_not_service=True)
    post_form(
        office,
        "/office/appointments/reminders",
        {
            "date_from": tomorrow.isoformat(),
            "date_to": tomorrow.isoformat(),
            "scope": "filter",
            "contact_roles": ["owner"],
            "channels": ["sms", "email"],
        },
    )
    # One delivered and one failed, as receipts would leave them.
    queued = session.scalars(select(Message).where(Message.status == "queued")).all()
    assert len(queued) == 2
    queued[0].status, queued[0].delivered_at = "delivered", utcnow()
    queued[1].status = "failed"
    session.commit()
    page = office.get("/office/")
    assert page.status_code == 200
    assert "<strong>4</strong>messages" in page.text
    assert "<strong>50%</strong>" in page.text  # 1 delivered of 2 handed to providers
    assert '<strong>2</strong><a href="/office/messages?status=suppressed">' in page.text
    today = datetime.now(ZoneInfo(TZ)).date().isoformat()
    row = page.text.split(f'<th scope="row">{today}</th>')[1].split("</tr>")[0]
    # delivered, sent, sending, queued, suppressed, undelivered, failed, total
    cells = [c.split("</td>")[0] for c in row.split('<td class="amount">')[1:]]
    assert cells == ["1", "0", "0", "0", "2", "0", "1", "4"]


def test_a_technician_is_sent_to_their_day_instead(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    tech = sign_in(client, make_staff(session, tenant.company_id, "technician").email)
    r = tech.get("/office/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/office/today"
