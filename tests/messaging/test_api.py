"""Message log, templates and delivery receipts over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.channels.signatures import twilio_signature
from fieldlink.customers.models import ContactMethod
from fieldlink.db import utcnow
from fieldlink.messaging.models import Message, MessageEvent
from fieldlink.messaging.service import queue_message
from fieldlink.messaging.templates import sample_variables
from tests.factories.customers import make_contact, make_customer, make_method

TOKEN = "test-auth-token"


def queued(session: Session, tenant, *, dns: bool = False, value: str = "+19195550123") -> Message:
    company = session.get(Company, tenant.company_id)
    assert company is not None
    company.sms_number, company.sender_email = "+19195550199", "svc@acme.example"
    customer = make_customer(session, company_id=company.id, do_not_service=dns)
    contact = make_contact(session, company_id=company.id, customer_id=customer.id)
    method = make_method(
        session,
        company_id=company.id,
        customer_id=customer.id,
        contact_id=contact.id,
        kind="phone",
        value=value,
        phone_type="mobile",
        job_notifications=True,
    )
    msg = queue_message(
        session,
        company=company,
        touchpoint="en_route",
        channel="sms",
        customer=customer,
        contact=contact,
        method=method,
        variables=sample_variables(),
        idempotency_key=f"k-{value}",
        now=utcnow(),
    )
    session.commit()
    return msg


def test_the_log_answers_why_a_customer_got_nothing(session, tenant, api: TestClient) -> None:
    msg = queued(session, tenant, dns=True)
    r = api.get("/v1/messages", params={"customer_id": msg.customer_id, "history": True})
    [item] = r.json()["items"]
    assert item["status"] == "suppressed"
    assert item["reasons"][0]["code"] == "do_not_service"
    assert "Do not service" in item["reasons"][0]["message"]
    assert [h["status"] for h in item["history"]] == ["suppressed"]
    one = api.get(f"/v1/messages/{msg.id}").json()
    assert one["to"] == "+19195550123" and one["touchpoint"] == "en_route"


def test_another_companys_message_is_a_404(session, tenant, api, rival_api) -> None:
    msg = queued(session, tenant)
    assert rival_api.get(f"/v1/messages/{msg.id}").status_code == 404
    assert rival_api.get("/v1/messages").json()["items"] == []
    assert api.get(f"/v1/messages/{msg.id}").status_code == 200


def test_templates_list_every_default_and_read_one(api: TestClient) -> None:
    items = api.get("/v1/templates").json()["items"]
    assert {(t["touchpoint"], t["channel"]) for t in items} >= {
        ("en_route", "sms"),
        ("invoice", "email"),
    }
    one = api.get("/v1/templates/en_route/sms").json()
    assert one["customized"] is False and "on the way" in one["body"]
    assert "technician.name" in one["variables"]


def test_saving_a_broken_template_is_refused_with_the_error(api: TestClient) -> None:
    r = api.put("/v1/templates/en_route/sms", json={"body": "{{ techician.name }} is coming"})
    assert r.status_code == 422
    assert "techician" in r.json()["detail"] and r.json()["code"] == "template_invalid"
    r = api.put("/v1/templates/en_route/email", json={"body": "Hi"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "subject"
    r = api.put("/v1/templates/opt_in_request/email", json={"subject": "x", "body": "y"})
    assert r.status_code == 422
    assert api.put("/v1/templates/nonsense/sms", json={"body": "x"}).status_code == 422


def test_a_company_template_is_used_previewed_and_reset(
    session, tenant, api: TestClient, rival_api: TestClient
) -> None:
    body = "{{ company.name }}: {{ technician.name if technician else 'we' }} 🚐 {{ eta }}"
    r = api.put("/v1/templates/en_route/sms", json={"body": body})
    assert r.status_code == 200 and r.json()["customized"] is True
    preview = api.post("/v1/templates/en_route/sms/preview", json={}).json()
    assert preview["body"] == "Company acme: Tom Torres 🚐 9:40 AM"
    assert preview["encoding"] == "UCS-2" and preview["segments"] == 1
    assert rival_api.get("/v1/templates/en_route/sms").json()["customized"] is False
    msg = queued(session, tenant)
    assert "🚐" in msg.body  # queued messages use the company's wording
    assert api.delete("/v1/templates/en_route/sms").status_code == 204
    assert api.get("/v1/templates/en_route/sms").json()["customized"] is False


def test_preview_honours_company_only_identity(api: TestClient) -> None:
    api.patch("/v1/company", json={"settings": {"technician_identity": "company_only"}})
    out = api.post("/v1/templates/en_route/sms/preview", json={}).json()
    assert "Tom" not in out["body"] and "is on the way" in out["body"]
    email = api.post("/v1/templates/invoice/email/preview", json={}).json()
    assert email["subject"] and email["html"].startswith("<!doctype html>")


def signed_post(client: TestClient, path: str, form: dict[str, str], token: str = TOKEN):
    signature = twilio_signature(token, "http://testserver" + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def test_a_signed_receipt_marks_the_text_delivered_once(session, tenant, client) -> None:
    msg = queued(session, tenant)
    msg.status, msg.provider_id = "sent", "SM123"
    session.commit()
    path = f"/webhooks/sms/status?m=flm-{msg.id}"
    form = {
        "MessageSid": "SM123",
        "MessageStatus": "delivered",
        "AccountSid": "ACtest",
        "To": "+19195550123",
        "From": "+19195550199",
    }
    for _ in range(2):  # providers retry callbacks: the second changes nothing
        r = signed_post(client, path, form)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    session.expire_all()
    assert session.get(Message, msg.id).status == "delivered"
    statuses = session.scalars(
        select(MessageEvent.status).where(MessageEvent.message_id == msg.id)
    ).all()
    assert statuses.count("delivered") == 1
    late = signed_post(client, path, {**form, "MessageStatus": "sent"})
    assert late.status_code == 200
    session.expire_all()
    assert session.get(Message, msg.id).status == "delivered"  # never backwards


def test_an_unsigned_or_forged_receipt_is_403_and_changes_nothing(session, tenant, client) -> None:
    msg = queued(session, tenant)
    msg.status, msg.provider_id = "sent", "SM9"
    session.commit()
    path = f"/webhooks/sms/status?m=flm-{msg.id}"
    form = {"MessageSid": "SM9", "MessageStatus": "delivered"}
    assert client.post(path, data=form).status_code == 403
    assert signed_post(client, path, form, token="wrong").status_code == 403
    tampered = {**form, "MessageStatus": "failed"}
    sig = twilio_signature(TOKEN, "http://testserver" + path, form)
    r = client.post(path, data=tampered, headers={"X-Twilio-Signature": sig})
    assert r.status_code == 403 and r.json()["code"] == "invalid_signature"
    session.expire_all()
    assert session.get(Message, msg.id).status == "sent"


def test_a_carrier_opt_out_receipt_opts_the_number_out(session, tenant, client) -> None:
    msg = queued(session, tenant)
    msg.status, msg.provider_id = "sent", "SM77"
    session.commit()
    form = {"MessageSid": "SM77", "MessageStatus": "undelivered", "ErrorCode": "21610"}
    assert signed_post(client, f"/webhooks/sms/status?m=flm-{msg.id}", form).status_code == 200
    session.expire_all()
    method = session.get(ContactMethod, msg.contact_method_id)
    assert method is not None and method.marketing_sms_status == "opted_out"
    assert session.get(Message, msg.id).status == "undelivered"


def email_event(
    client: TestClient, events: list[dict[str, object]], secret: str = "test-email-secret"
):
    import json

    from fieldlink.channels.signatures import hmac_sha256

    raw = json.dumps({"events": events}).encode()
    return client.post(
        "/webhooks/email/events",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Fieldlink-Signature": hmac_sha256(secret, raw),
        },
    )


def email_queued(session: Session, tenant) -> Message:
    company = session.get(Company, tenant.company_id)
    assert company is not None
    company.sender_email = "svc@acme.example"
    customer = make_customer(session, company_id=company.id)
    contact = make_contact(session, company_id=company.id, customer_id=customer.id)
    method = make_method(
        session,
        company_id=company.id,
        customer_id=customer.id,
        contact_id=contact.id,
        kind="email",
        value="gone@example.com",
        job_notifications=True,
    )
    msg = queue_message(
        session,
        company=company,
        touchpoint="invoice",
        channel="email",
        customer=customer,
        contact=contact,
        method=method,
        variables=sample_variables(),
        idempotency_key="inv-1",
        now=utcnow(),
    )
    msg.status = "sent"
    session.commit()
    return msg


def test_a_hard_bounce_suppresses_the_address_for_that_company(
    session, tenant, client, api, rival_api
) -> None:
    msg = email_queued(session, tenant)
    r = email_event(
        client,
        [
            {
                "type": "bounce",
                "bounce_type": "hard",
                "email": "gone@example.com",
                "message_id": f"flm-{msg.id}",
                "detail": "550 no such user",
            }
        ],
    )
    assert r.status_code == 200 and r.json() == {"received": 1, "applied": 1}
    listed = api.get("/v1/suppressions").json()["items"]
    assert [(s["email"], s["reason"]) for s in listed] == [("gone@example.com", "bounce")]
    assert rival_api.get("/v1/suppressions").json()["items"] == []
    assert api.get(f"/v1/messages/{msg.id}").json()["status"] == "undelivered"


def test_a_soft_bounce_does_not_suppress(session, tenant, client, api) -> None:
    msg = email_queued(session, tenant)
    email_event(
        client,
        [
            {
                "type": "bounce",
                "bounce_type": "soft",
                "email": "gone@example.com",
                "message_id": f"flm-{msg.id}",
            }
        ],
    )
    assert api.get("/v1/suppressions").json()["items"] == []


def test_a_complaint_suppresses_and_a_forged_or_broken_post_is_refused(
    session, tenant, client, api
) -> None:
    msg = email_queued(session, tenant)
    event = [{"type": "complaint", "email": "gone@example.com", "message_id": f"flm-{msg.id}"}]
    assert email_event(client, event, secret="wrong").status_code == 403
    assert api.get("/v1/suppressions").json()["items"] == []
    r = email_event(client, [{"type": "explode", "email": "x"}])
    assert r.status_code == 422
    assert email_event(client, event).status_code == 200
    assert api.get("/v1/suppressions").json()["items"][0]["reason"] == "complaint"
