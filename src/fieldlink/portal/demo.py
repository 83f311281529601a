"""The demo's portal login: a customer with sub-customers, to show the portal at once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from fieldlink.accounts.models import Company
from fieldlink.customers.models import Customer
from fieldlink.db import utcnow
from fieldlink.portal.accounts import create_login

DEMO_LOGIN = "demo"
DEMO_PASSWORD = "demo-portal-password"


def add_demo_login(session: Session, *, company: Company, base_url: str) -> dict[str, str]:
    """Give a parent account (else the first customer) the login ``demo``."""
    child = aliased(Customer)
    parent = session.scalar(
        select(Customer)
        .where(Customer.company_id == company.id)
        .where(select(child.id).where(child.parent_id == Customer.id).exists())
        .order_by(Customer.id)
        .limit(1)
    ) or session.scalar(
        select(Customer).where(Customer.company_id == company.id).order_by(Customer.id).limit(1)
    )
    if parent is None:
        return {}
    create_login(
        session,
        company_id=company.id,
        customer_id=parent.id,
        login_id=DEMO_LOGIN,
        password=DEMO_PASSWORD,
        language=None,
        now=utcnow(),
    )
    return {
        "url": f"{base_url}/portal/{company.company_code}/",
        "login_id": DEMO_LOGIN,
        "password": DEMO_PASSWORD,
        "customer": parent.name,
    }
