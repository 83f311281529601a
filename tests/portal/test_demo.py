"""The demo's printed portal login opens the portal of a customer with sub-customers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.demo import seed_demo
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
