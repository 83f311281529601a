"""Use cases for customers, their locations and contacts (methods: ``methods.py``).

Every function takes the caller's session and never commits. ``actor`` names who made the
change (for the consent history) and ``now`` is when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.consent.changes import record_consent_event
from fieldlink.customers.methods import add_method, check_method, raise_errors, release_messages
from fieldlink.customers.models import Contact, ContactMethod, Customer, CustomerTag, Location
from fieldlink.customers.schemas import (
    ContactIn,
    ContactPatch,
    CustomerIn,
    CustomerPatch,
    LocationIn,
    LocationPatch,
)
from fieldlink.db import get_scoped
from fieldlink.errors import ValidationFailed
from fieldlink.messaging.models import Message

CUSTOMER_FLAGS = ("do_not_mail", "do_not_service", "do_not_send_promotional_emails")
# Tags the consent rules read (double opt-in, dormant-email suppression): changing one
# changes who may get marketing email, so it is recorded like a flag.
CONSENT_TAGS = ("Opted In", "Email Dormant")
_MAX_PARENT_DEPTH = 100


def get_customer(session: Session, *, company_id: int, customer_id: int) -> Customer:
    customer: Customer = get_scoped(session, Customer, customer_id, company_id, "customer")
    return customer


def create_customer(
    session: Session, *, company: Company, data: CustomerIn, actor: str | None, now: datetime
) -> Customer:
    """Create an account with its nested locations, contacts and methods in one go.

    Every nested method is checked before anything is written, so one bad phone number
    answers 422 listing all problems and stores nothing.
    """
    raise_errors(_nested_errors(data, region=company.country))
    if data.parent_id is not None:
        _parent(session, company_id=company.id, parent_id=data.parent_id)
    fields = data.model_dump(exclude={"tags", "locations", "contacts"})
    customer = Customer(company_id=company.id, **fields)
    session.add(customer)
    session.flush()
    _set_tags(session, customer=customer, tags=data.tags, actor=actor, now=now, created=True)
    for flag in CUSTOMER_FLAGS:
        if getattr(customer, flag):
            _record_flag(
                session, customer=customer, field=flag, old=None, new=True, actor=actor, now=now
            )
    for location in data.locations:
        create_location(session, company=company, customer=customer, data=location)
    for contact in data.contacts:
        create_contact(
            session,
            company=company,
            customer=customer,
            data=contact,
            with_new_customer=True,
            actor=actor,
            now=now,
        )
    return customer


def update_customer(
    session: Session, *, customer: Customer, patch: CustomerPatch, actor: str | None, now: datetime
) -> Customer:
    """Apply an office PATCH; flags that change are recorded, ``tags`` replaces the set."""
    data = patch.model_dump(exclude_unset=True)
    for key, value in data.items():
        if value is None and key not in ("parent_id", "notes"):
            raise ValidationFailed(key, "cannot be null")
    if data.get("parent_id") is not None:
        _check_parent(session, customer=customer, parent_id=data["parent_id"])
    tags = data.pop("tags", None)
    if tags is not None:
        _set_tags(session, customer=customer, tags=tags, actor=actor, now=now, created=False)
    for key, value in data.items():
        old = getattr(customer, key)
        if key in CUSTOMER_FLAGS and old != value:
            _record_flag(
                session, customer=customer, field=key, old=old, new=value, actor=actor, now=now
            )
        setattr(customer, key, value)
    session.flush()
    return customer


def create_location(
    session: Session, *, company: Company, customer: Customer, data: LocationIn
) -> Location:
    fields = data.model_dump()
    fields["country"] = fields["country"] or company.country
    location = Location(company_id=company.id, customer_id=customer.id, **fields)
    session.add(location)
    session.flush()
    return location


def update_location(session: Session, *, location: Location, patch: LocationPatch) -> Location:
    data = patch.model_dump(exclude_unset=True)
    for key, value in data.items():
        if value is None and key in ("kind", "line1", "city", "country"):
            raise ValidationFailed(key, "cannot be null")
        setattr(location, key, value)
    session.flush()
    return location


def create_contact(
    session: Session,
    *,
    company: Company,
    customer: Customer,
    data: ContactIn,
    with_new_customer: bool,
    actor: str | None,
    now: datetime,
) -> Contact:
    """Add a person with one role; nested methods get the defaults for new or later methods."""
    errors: list[dict[str, str]] = []
    for j, method in enumerate(data.methods):
        errors += check_method(method, region=company.country, field=f"methods.{j}.")
    raise_errors(errors)
    if data.location_id is not None:
        _check_location(session, customer=customer, location_id=data.location_id)
    contact = Contact(
        company_id=company.id,
        customer_id=customer.id,
        location_id=data.location_id,
        name=data.name,
        role=data.role,
        primary=data.primary,
    )
    session.add(contact)
    session.flush()
    for method in data.methods:
        add_method(
            session,
            contact=contact,
            data=method,
            region=company.country,
            with_new_customer=with_new_customer,
            actor=actor,
            now=now,
        )
    return contact


def update_contact(session: Session, *, contact: Contact, patch: ContactPatch) -> Contact:
    data = patch.model_dump(exclude_unset=True)
    for key in ("name", "role", "primary"):
        if key in data and data[key] is None:
            raise ValidationFailed(key, "cannot be null")
    if data.get("location_id") is not None:
        customer = session.get(Customer, contact.customer_id)
        assert customer is not None
        _check_location(session, customer=customer, location_id=data["location_id"])
    for key, value in data.items():
        setattr(contact, key, value)
    session.flush()
    return contact


def delete_contact(session: Session, *, contact: Contact, now: datetime) -> None:
    """Delete a contact and its methods; their consent history stays (method id nulled),
    and so do the messages to them, with the contact's id cleared (messages.contact_id has
    no foreign key to do it: migration 0013) and the methods' released (``release_messages``:
    a queued one is suppressed, ``no_recipient``)."""
    methods = select(ContactMethod.id).where(ContactMethod.contact_id == contact.id)
    mine = (Message.company_id == contact.company_id, Message.customer_id == contact.customer_id)
    release_messages(
        session,
        list(session.scalars(methods)),
        company_id=contact.company_id,
        customer_id=contact.customer_id,
        now=now,
    )
    session.execute(  # through the customer's index: messages.contact_id has none
        update(Message).where(*mine, Message.contact_id == contact.id).values(contact_id=None)
    )
    session.execute(delete(ContactMethod).where(ContactMethod.contact_id == contact.id))
    session.delete(contact)
    session.flush()


def _nested_errors(data: CustomerIn, *, region: str) -> list[dict[str, str]]:
    """Every problem in the nested contacts and methods of a new customer."""
    errors: list[dict[str, str]] = []
    for i, contact in enumerate(data.contacts):
        if contact.location_id is not None:
            # A brand-new customer has no locations yet that a contact could point at.
            errors.append(
                {
                    "field": f"contacts.{i}.location_id",
                    "message": "the location must belong to this customer",
                }
            )
        for j, method in enumerate(contact.methods):
            errors += check_method(method, region=region, field=f"contacts.{i}.methods.{j}.")
    return errors


def _check_location(session: Session, *, customer: Customer, location_id: int) -> None:
    location = session.get(Location, location_id)
    if location is None or location.customer_id != customer.id:
        # Another customer's (or company's) location reads the same as a missing one.
        raise ValidationFailed(
            "location_id", "the location must belong to this customer", code="location_mismatch"
        )


def _parent(session: Session, *, company_id: int, parent_id: int) -> Customer:
    parent = session.get(Customer, parent_id)
    if parent is None or parent.company_id != company_id:
        raise ValidationFailed("parent_id", f"no customer {parent_id}", code="parent_not_found")
    return parent


def _check_parent(session: Session, *, customer: Customer, parent_id: int) -> None:
    """The parent exists in the same company and is not the customer or its descendant."""
    if parent_id == customer.id:
        raise ValidationFailed(
            "parent_id", "a customer cannot be its own parent", code="parent_cycle"
        )
    node: Customer | None = _parent(session, company_id=customer.company_id, parent_id=parent_id)
    for _ in range(_MAX_PARENT_DEPTH):
        if node is None or node.parent_id is None:
            return
        if node.parent_id == customer.id:
            raise ValidationFailed(
                "parent_id",
                f"customer {parent_id} is a sub-customer of {customer.id}; that would be a cycle",
                code="parent_cycle",
            )
        node = session.get(Customer, node.parent_id)
    raise ValidationFailed("parent_id", "sub-customers nest too deep", code="parent_too_deep")


def _set_tags(
    session: Session,
    *,
    customer: Customer,
    tags: list[str],
    actor: str | None,
    now: datetime,
    created: bool,
) -> None:
    """Make the customer's tags exactly ``tags``, touching only the rows that differ."""
    current = set(
        session.scalars(select(CustomerTag.tag).where(CustomerTag.customer_id == customer.id))
    )
    wanted = set(tags)
    removed = current - wanted
    if removed:
        session.execute(
            delete(CustomerTag).where(
                CustomerTag.customer_id == customer.id, CustomerTag.tag.in_(removed)
            )
        )
    for tag in tags:
        if tag not in current:
            session.add(
                CustomerTag(company_id=customer.company_id, customer_id=customer.id, tag=tag)
            )
    for tag in CONSENT_TAGS:
        if (tag in current) != (tag in wanted):
            _record_flag(
                session,
                customer=customer,
                field=f"tag:{tag}",
                old=None if created else tag in current,
                new=tag in wanted,
                actor=actor,
                now=now,
            )
    session.flush()


def _record_flag(
    session: Session,
    *,
    customer: Customer,
    field: str,
    old: bool | None,
    new: bool,
    actor: str | None,
    now: datetime,
) -> None:
    record_consent_event(
        session,
        company_id=customer.company_id,
        customer_id=customer.id,
        contact_method_id=None,
        subject=f"customer {customer.id}",
        field=field,
        old_value=old,
        new_value=new,
        source="office",
        actor=actor,
        at=now,
    )
