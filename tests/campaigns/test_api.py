"""Campaigns over the API, delivered by the outbox worker."""

from __future__ import annotations

from sqlalchemy import select

from fieldlink.customers.models import Customer
from fieldlink.messaging.models import Message
from tests.campaigns.conftest import Shop
from tests.factories.customers import make_contact, make_customer, make_method


def add_customer(shop: Shop, name: str, email: str, **flags: object) -> Customer:
    s, cid = shop.session, shop.company.id
    customer = make_customer(s, company_id=cid, name=name, **flags)
    contact = make_contact(s, company_id=cid, customer_id=customer.id, name=name)
    make_method(s, company_id=cid, customer_id=customer.id, contact_id=contact.id, value=email)
    s.commit()
    return customer


def test_an_email_campaign_reaches_eligible_customers_once_personalised(shop: Shop) -> None:
    add_customer(shop, "Maria Lopez", "maria@example.com")
    add_customer(shop, "Sam Doe", "sam@example.com", do_not_mail=True)
    campaign = shop.campaign()
    r = shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "sending"
    shop.run_worker()
    [email] = shop.mail.sent
    assert email.to == "maria@example.com"
    assert email.subject == "Spring tune-up special, Maria"
    assert email.text.startswith("Hi Maria, book your tune-up now.")
    assert "120 Oak St, Raleigh, NC 27601" in email.text
    report = shop.api.get(f"/v1/campaigns/{campaign['id']}/report").json()
    assert report["sent"] == 1 and report["suppressed"] == {"do_not_mail": 1}
    # A repeated send changes nothing and sends nothing twice.
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    shop.run_worker()
    assert len(shop.mail.sent) == 1
    msgs = shop.session.scalars(select(Message).where(Message.touchpoint == "campaign")).all()
    assert len(msgs) == 1 and msgs[0].status == "sent"
