"""Who hears about a job event: contacts by role, plus contacts picked by hand."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.customers.models import Contact, ContactMethod
from fieldlink.db import any_of
from fieldlink.errors import ValidationFailed
from fieldlink.validation import normalise_email


@dataclass(frozen=True)
class Target:
    contact: Contact
    methods: tuple[ContactMethod, ...]


@dataclass(frozen=True)
class Known:
    """The contacts (by customer) and methods (by contact) of many customers, each list in
    id order, read in two queries: a bulk reminder resolves thousands of audiences."""

    contacts: dict[int, list[Contact]]
    methods: dict[int, list[ContactMethod]]


def read_contacts(session: Session, *, company_id: int, customer_ids: Iterable[int]) -> Known:
    ids = sorted(set(customer_ids))
    contacts: dict[int, list[Contact]] = {}
    methods: dict[int, list[ContactMethod]] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for contact in session.scalars(
            select(Contact)
            .where(Contact.company_id == company_id, any_of(session, Contact.customer_id, chunk))
            .order_by(Contact.id)
        ):
            contacts.setdefault(contact.customer_id, []).append(contact)
        for method in session.scalars(
            select(ContactMethod)
            .where(
                ContactMethod.company_id == company_id,
                any_of(session, ContactMethod.customer_id, chunk),
            )
            .order_by(ContactMethod.id)
        ):
            if method.contact_id is not None:
                methods.setdefault(method.contact_id, []).append(method)
    return Known(contacts, methods)


def usable(method: ContactMethod) -> bool:
    """A method a notice could reach: a mobile number, or a well-formed email address."""
    if method.kind == "phone":
        return method.phone_type == "mobile"
    try:
        normalise_email(method.value)
    except ValueError:
        return False
    return True


def resolve(
    session: Session,
    *,
    company_id: int,
    customer_id: int,
    roles: Iterable[str] = (),
    contact_ids: Iterable[int] = (),
    location_id: int | None = None,
    require_usable: bool = False,
    known: Known | None = None,
) -> list[Target]:
    """Contacts of the customer holding one of ``roles`` (at the job's location or at none),
    plus ``contact_ids``; with neither, the primary contacts (all, if none is primary).

    Picked contacts must belong to the customer (422 otherwise); with ``require_usable``
    each needs a usable email or mobile number, as a technician can only pick those.
    ``known``: the customer's contacts and methods already read (``read_contacts``).
    """
    roles, picked = set(roles), list(dict.fromkeys(contact_ids))
    contacts = (
        known.contacts.get(customer_id, [])
        if known is not None
        else list(
            session.scalars(
                select(Contact)
                .where(Contact.company_id == company_id, Contact.customer_id == customer_id)
                .order_by(Contact.id)
            )
        )
    )
    by_id = {c.id: c for c in contacts}
    unknown = [i for i in picked if i not in by_id]
    if unknown:
        raise ValidationFailed(
            "contact_ids",
            f"contacts {unknown} are not contacts of this customer",
            code="unknown_contacts",
        )
    chosen: dict[int, Contact] = {i: by_id[i] for i in picked}
    at_site = [c for c in contacts if location_id is None or c.location_id in (None, location_id)]
    if roles:
        chosen.update({c.id: c for c in at_site if c.role in roles})
    elif not picked:
        primary = [c for c in at_site if c.primary] or at_site
        chosen.update({c.id: c for c in primary})
    methods = (
        [m for c in sorted(chosen) for m in known.methods.get(c, [])]
        if known is not None
        else list(
            session.scalars(
                select(ContactMethod)
                .where(ContactMethod.contact_id.in_(list(chosen)))
                .order_by(ContactMethod.id)
            )
        )
        if chosen
        else []
    )
    targets = [
        Target(c, tuple(m for m in methods if m.contact_id == c.id))
        for c in sorted(chosen.values(), key=lambda c: c.id)
    ]
    if require_usable:
        unusable = [
            t.contact.id
            for t in targets
            if t.contact.id in picked and not any(usable(m) for m in t.methods)
        ]
        if unusable:
            raise ValidationFailed(
                "contact_ids",
                f"contacts {unusable} have no usable email address or mobile number",
                code="contact_not_reachable",
            )
    return targets
