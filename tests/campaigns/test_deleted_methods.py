"""A contact method deleted between a campaign's send and its delivery: the message is
never sent, and the message log says why (``no_recipient``). ``messages`` has no foreign
key to contact methods (migration 0014), so the deletes settle the messages themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from fieldlink.customers.models import ContactMethod, Customer
from fieldlink.messaging.models import Message
from tests.campaigns.conftest import Shop
from tests.campaigns.helpers import add_customer
from tests.campaigns.test_api import campaign_messages


def _queued(shop: Shop) -> tuple[Customer, ContactMethod, dict[str, Any]]:
    """Maria's campaign email, queued (the campaign job ran) but not yet delivered."""
    customer, method = add_customer(shop, "Maria Lopez", "maria@example.com")
    assert method is not None
    campaign = shop.campaign()
    assert shop.api.post(f"/v1/campaigns/{campaign['id']}/send").status_code == 202
    assert shop.worker.run_once() == 1  # the campaigns.send job: messages and outbox rows
    [message] = campaign_messages(shop)
    assert message.status == "queued" and message.contact_method_id == method.id
    return customer, method, campaign


def _assert_never_sent(shop: Shop, customer: Customer, campaign: dict[str, Any]) -> None:
    shop.run_worker()
    assert shop.mail.sent == []
    log = shop.api.get("/v1/messages", params={"customer_id": customer.id}).json()["items"]
    [entry] = [m for m in log if m["touchpoint"] == "campaign"]
    assert entry["status"] == "suppressed"
    assert [r["code"] for r in entry["reasons"]] == ["no_recipient"]
    assert entry["contact_method_id"] is None
    detail = shop.api.get(f"/v1/messages/{entry['id']}").json()
    # 'queued' at creation (derived from created_at), then why it was not sent
    assert [h["status"] for h in detail["history"]] == ["queued", "suppressed"]
    assert "contact method was deleted" in detail["history"][1]["detail"]
    report = shop.api.get(f"/v1/campaigns/{campaign['id']}/report").json()
    assert report["sent"] == 0 and report["suppressed"] == {"no_recipient": 1}


def test_a_method_deleted_before_delivery_is_not_mailed(shop: Shop) -> None:
    customer, method, campaign = _queued(shop)
    assert shop.api.delete(f"/v1/contact-methods/{method.id}").status_code == 204
    _assert_never_sent(shop, customer, campaign)


def test_a_contact_deleted_before_delivery_is_not_mailed(shop: Shop) -> None:
    customer, method, campaign = _queued(shop)
    assert shop.api.delete(f"/v1/contacts/{method.contact_id}").status_code == 204
    _assert_never_sent(shop, customer, campaign)


def test_a_customer_erased_before_delivery_is_not_mailed(shop: Shop) -> None:
    customer, _, campaign = _queued(shop)
    r = shop.api.post(f"/v1/customers/{customer.id}/erase")
    assert r.status_code == 200, r.text
    _assert_never_sent(shop, customer, campaign)


def test_a_method_gone_without_its_messages_settled_is_no_recipient(shop: Shop) -> None:
    """Should a method row vanish some other way, the worker still does not send: an id
    pointing at a missing method is ``no_recipient`` (a NULL id is a staff notice)."""
    _customer, method, _campaign = _queued(shop)
    shop.session.execute(delete(ContactMethod).where(ContactMethod.id == method.id))
    shop.session.commit()
    shop.run_worker()
    assert shop.mail.sent == []
    [message] = campaign_messages(shop)
    assert message.status == "suppressed"
    assert [r["code"] for r in message.reasons] == ["no_recipient"]


def test_deleting_a_method_after_delivery_keeps_the_sent_message(shop: Shop) -> None:
    _customer, method, _campaign = _queued(shop)
    shop.run_worker()
    assert [m.to for m in shop.mail.sent] == ["maria@example.com"]
    assert shop.api.delete(f"/v1/contact-methods/{method.id}").status_code == 204
    [message] = campaign_messages(shop)
    assert message.status == "sent" and message.contact_method_id is None
    detail = shop.api.get(f"/v1/messages/{message.id}").json()
    assert [h["status"] for h in detail["history"]] == ["queued", "sending", "sent"]


def test_export_keeps_the_messages_of_a_deleted_method(shop: Shop) -> None:
    """Messages have no foreign keys (migrations 0013, 0014): the export follows their
    customer id all the same, with their history."""
    customer, method, _campaign = _queued(shop)
    shop.run_worker()
    assert shop.api.delete(f"/v1/contact-methods/{method.id}").status_code == 204
    r = shop.api.get(f"/v1/customers/{customer.id}/export")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    [message] = data["messages"]
    assert message["to"] == "maria@example.com" and message["status"] == "sent"
    assert {e["status"] for e in data["message_events"]} == {"sending", "sent"}
    assert all(e["message_id"] == message["id"] for e in data["message_events"])
    assert shop.session.get(Message, message["id"]) is not None


def test_a_customer_erased_while_their_message_is_sending_is_not_sent(shop: Shop) -> None:
    """Erasure clears the address of a message a worker had begun (``sending``, e.g. the
    worker died mid-batch); its retry must not treat the address-less message as a staff
    notice and crash or send: it is ``no_recipient``."""
    customer, _method, _campaign = _queued(shop)
    [message] = campaign_messages(shop)
    message.status = "sending"
    shop.session.commit()
    r = shop.api.post(f"/v1/customers/{customer.id}/erase")
    assert r.status_code == 200, r.text
    shop.run_worker()
    assert shop.mail.sent == []
    [message] = campaign_messages(shop)
    assert message.status == "suppressed"
    assert [r["code"] for r in message.reasons] == ["no_recipient"]
