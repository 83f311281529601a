"""Read side: customer lists with filters, and the shapes the API answers with.

Related rows (tags, methods) are loaded per page with one ``IN`` query each, never one
query per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from fieldlink.customers.models import Contact, ContactMethod, Customer, CustomerTag, Location
from fieldlink.customers.schemas import (
    ContactOut,
    CustomerDetail,
    CustomerOut,
    LocationOut,
    MethodOut,
)
from fieldlink.validation import normalise_phone
from fieldlink.web.pagination import Page, paginate


def tags_by_customer(session: Session, customer_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(customer_ids)
    found: dict[int, list[str]] = defaultdict(list)
    if ids:
        rows = session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag)
            .where(CustomerTag.customer_id.in_(ids))
            .order_by(CustomerTag.id)
        )
        for customer_id, tag in rows:
            found[customer_id].append(tag)
    return found


def methods_by_contact(session: Session, contact_ids: Iterable[int]) -> dict[int, list[MethodOut]]:
    ids = list(contact_ids)
    found: dict[int, list[MethodOut]] = defaultdict(list)
    if ids:
        rows = session.scalars(
            select(ContactMethod)
            .where(ContactMethod.contact_id.in_(ids))
            .order_by(ContactMethod.id)
        )
        for method in rows:
            found[method.contact_id].append(MethodOut.model_validate(method))
    return found


def customer_out(session: Session, customer: Customer) -> CustomerOut:
    tags = tags_by_customer(session, [customer.id])[customer.id]
    return _customer_out(customer, tags)


def customer_detail(session: Session, customer: Customer) -> CustomerDetail:
    """The account with its tags, locations and contacts (each with its methods)."""
    locations = session.scalars(
        select(Location).where(Location.customer_id == customer.id).order_by(Location.id)
    ).all()
    contacts = session.scalars(
        select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.id)
    ).all()
    methods = methods_by_contact(session, [c.id for c in contacts])
    base = customer_out(session, customer)
    return CustomerDetail(
        **base.model_dump(),
        locations=[LocationOut.model_validate(loc) for loc in locations],
        contacts=[_contact_out(c, methods[c.id]) for c in contacts],
    )


def contact_out(session: Session, contact: Contact) -> ContactOut:
    return _contact_out(contact, methods_by_contact(session, [contact.id])[contact.id])


def list_customers(
    session: Session,
    *,
    company_id: int,
    page: Page,
    q: str | None = None,
    type: str | None = None,
    tag: str | None = None,
    city: str | None = None,
    postcode: str | None = None,
    region: str = "US",
) -> dict[str, Any]:
    """One page of the company's customers matching every filter given.

    ``q`` matches the name, case-insensitively anywhere in it, or any contact method
    whose value contains it; a ``q`` that reads as a phone number also finds that number
    however it was typed ("(919) 555-0142" finds "+19195550142").
    """
    stmt = select(Customer).where(Customer.company_id == company_id)
    if q:
        needle = q.strip().lower()
        method_match = ContactMethod.value.contains(needle, autoescape=True)
        phone = _as_phone(q, region)
        if phone is not None:
            method_match = or_(method_match, ContactMethod.value == phone)
        stmt = stmt.where(
            or_(
                func.lower(Customer.name).contains(needle, autoescape=True),
                exists().where(
                    ContactMethod.customer_id == Customer.id,
                    ContactMethod.company_id == company_id,
                    method_match,
                ),
            )
        )
    if type:
        stmt = stmt.where(Customer.type == type)
    if tag:
        stmt = stmt.where(
            exists().where(CustomerTag.customer_id == Customer.id, CustomerTag.tag == tag)
        )
    if city or postcode:
        location_match = [Location.customer_id == Customer.id]
        if city:
            location_match.append(func.lower(Location.city) == city.strip().lower())
        if postcode:
            # Postcodes are compared without spaces and case: "sw1a 1aa" finds "SW1A 1AA".
            location_match.append(
                func.upper(func.replace(Location.postcode, " ", ""))
                == postcode.replace(" ", "").upper()
            )
        stmt = stmt.where(exists().where(*location_match))
    result = paginate(session, stmt, Customer.id, page, lambda c: c)
    customers: list[Customer] = result["items"]
    tags = tags_by_customer(session, [c.id for c in customers])
    result["items"] = [_customer_out(c, tags[c.id]) for c in customers]
    return result


def list_locations(session: Session, *, customer_id: int, page: Page) -> dict[str, Any]:
    stmt = select(Location).where(Location.customer_id == customer_id)
    return paginate(session, stmt, Location.id, page, LocationOut.model_validate)


def list_contacts(session: Session, *, customer_id: int, page: Page) -> dict[str, Any]:
    stmt = select(Contact).where(Contact.customer_id == customer_id)
    result = paginate(session, stmt, Contact.id, page, lambda c: c)
    contacts: list[Contact] = result["items"]
    methods = methods_by_contact(session, [c.id for c in contacts])
    result["items"] = [_contact_out(c, methods[c.id]) for c in contacts]
    return result


def _as_phone(q: str, region: str) -> str | None:
    if sum(ch.isdigit() for ch in q) < 7:
        return None
    try:
        return normalise_phone(q, region)
    except ValueError:
        return None


def _customer_out(customer: Customer, tags: list[str]) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        type=customer.type,
        parent_id=customer.parent_id,
        do_not_mail=customer.do_not_mail,
        do_not_service=customer.do_not_service,
        do_not_send_promotional_emails=customer.do_not_send_promotional_emails,
        tags=tags,
        credit=customer.credit,
        language=customer.language,
        notes=customer.notes,
        created_at=customer.created_at,
    )


def _contact_out(contact: Contact, methods: list[MethodOut]) -> ContactOut:
    return ContactOut(
        id=contact.id,
        customer_id=contact.customer_id,
        location_id=contact.location_id,
        name=contact.name,
        role=contact.role,
        primary=contact.primary,
        methods=methods,
        created_at=contact.created_at,
    )
