"""Plain factory functions for customers and what hangs off them.

Each takes the session and the company id, fills sensible defaults, accepts any column
as an override, adds and flushes (so the row has its id), and returns the row.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.customers.models import Contact, ContactMethod, Customer, CustomerTag, Location

_seq = itertools.count(1)


def make_company(session: Session, **overrides: Any) -> Company:
    """A bare company row (no status codes, no API key): enough for consent and audience
    tests. Use ``accounts.service.create_company`` when the test needs the full tenant."""
    n = next(_seq)
    fields: dict[str, Any] = {"name": f"Company {n}", "company_code": f"co-{n:05d}"}
    fields.update(overrides)
    company = Company(**fields)
    session.add(company)
    session.flush()
    return company


def make_customer(
    session: Session, *, company_id: int, tags: tuple[str, ...] = (), **overrides: Any
) -> Customer:
    fields: dict[str, Any] = {"name": f"Customer {next(_seq)}", "type": "residential"}
    fields.update(overrides)
    customer = Customer(company_id=company_id, **fields)
    session.add(customer)
    session.flush()
    for tag in tags:
        session.add(CustomerTag(company_id=company_id, customer_id=customer.id, tag=tag))
    if tags:
        session.flush()
    return customer


def make_location(
    session: Session, *, company_id: int, customer_id: int, **overrides: Any
) -> Location:
    fields: dict[str, Any] = {
        "line1": f"{next(_seq)} Main St",
        "city": "Raleigh",
        "region": "NC",
        "postcode": "27601",
        "country": "US",
    }
    fields.update(overrides)
    location = Location(company_id=company_id, customer_id=customer_id, **fields)
    session.add(location)
    session.flush()
    return location


def make_contact(
    session: Session, *, company_id: int, customer_id: int, **overrides: Any
) -> Contact:
    fields: dict[str, Any] = {"name": f"Contact {next(_seq)}", "role": "owner", "primary": True}
    fields.update(overrides)
    contact = Contact(company_id=company_id, customer_id=customer_id, **fields)
    session.add(contact)
    session.flush()
    return contact


def make_method(
    session: Session,
    *,
    company_id: int,
    customer_id: int,
    contact_id: int | None = None,
    kind: str = "email",
    **overrides: Any,
) -> ContactMethod:
    """A contact method; makes a contact for it when ``contact_id`` is not given.

    Defaults follow DESIGN.md: job notifications on, marketing SMS status ``none``,
    phones typed ``mobile``; ``marketing_updates`` on (as for a new customer record).
    """
    if contact_id is None:
        contact_id = make_contact(session, company_id=company_id, customer_id=customer_id).id
    n = next(_seq)
    fields: dict[str, Any] = {
        "value": f"person{n}@example.com" if kind == "email" else f"+1919555{n % 10000:04d}",
        "phone_type": "mobile" if kind == "phone" else None,
        "marketing_updates": True,
        "job_notifications": True,
        "marketing_sms_status": "none",
    }
    fields.update(overrides)
    method = ContactMethod(
        company_id=company_id, customer_id=customer_id, contact_id=contact_id, kind=kind, **fields
    )
    session.add(method)
    session.flush()
    return method
