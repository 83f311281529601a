"""The demo's printed portal login opens the portal of a customer with sub-customers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.demo import seed_demo
from fieldlink.demo_day import play_service_day
from fieldlink.links.tokens import LinkMaker
from fieldlink.portal.demo import add_demo_login
from tests.portal.helpers import login


def test_demo_login_works_and_shows_sub_customers(session: Session, client: TestClient) -> None:
    result = seed_demo(session)
    company = session.get(Company, result.company_id)
    assert company is not None
    info = add_demo_login(session, company=company, base_url="http://testserver")
    session.commit()
    assert info["url"] == f"http://testserver/portal/{company.company_code}/"
    response = login(client, company.company_code, info["login_id"], info["password"])
    assert response.status_code == 303
    dashboard = client.get(f"/portal/{company.company_code}/dashboard")
    assert info["customer"] in dashboard.text
    assert "Sub-customers" in dashboard.text


def test_the_demo_day_plays_in_the_evening_after_midnight_utc(session: Session) -> None:
    """From midnight UTC to the company's own midnight (19:00-24:00 in New York), UTC
    dates are a day ahead: the demo's day was read in UTC, found no visits for "tomorrow"
    and `fieldlink demo` failed with an IndexError."""
    result = seed_demo(session, today=date(2026, 12, 7))  # Monday in New York
    company = session.get(Company, result.company_id)
    assert company is not None
    evening = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)  # 20:00 on the 7th in New York
    notes = play_service_day(
        session,
        company=company,
        links=LinkMaker(base_url="http://testserver", secret="s"),
        now=evening,
    )
    confirmations = next(n for n in notes if n.startswith("confirmations for tomorrow"))
    assert "tomorrow's 0 appointments" not in confirmations
