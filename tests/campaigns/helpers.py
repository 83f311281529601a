"""Customers for campaign tests, made with the models and committed."""

from __future__ import annotations

from typing import Any

from fieldlink.customers.models import ContactMethod, Customer
from tests.campaigns.conftest import Shop
from tests.factories.customers import make_contact, make_customer, make_location, make_method


def add_customer(
    shop: Shop,
    name: str,
    email: str | None = None,
    *,
    phone: str | None = None,
    sms_status: str = "opted_in",
    location: dict[str, Any] | None = None,
    **flags: Any,
) -> tuple[Customer, ContactMethod | None]:
    s, cid = shop.session, shop.company.id
    customer = make_customer(s, company_id=cid, name=name, **flags)
    contact = make_contact(s, company_id=cid, customer_id=customer.id, name=name)
    method = None
    if email:
        method = make_method(
            s, company_id=cid, customer_id=customer.id, contact_id=contact.id, value=email
        )
    if phone:
        method = make_method(
            s,
            company_id=cid,
            customer_id=customer.id,
            contact_id=contact.id,
            kind="phone",
            value=phone,
            marketing_sms_status=sms_status,
        )
    if location is not None:
        make_location(s, company_id=cid, customer_id=customer.id, **location)
    s.commit()
    return customer, method
