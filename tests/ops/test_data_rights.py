"""A customer's data: export everything (JSON), erase personal data while the law's records
(consent evidence, suppressions, STOPs, invoices) keep holding."""

from __future__ import annotations

from sqlalchemy import select

from fieldlink.consent.models import ConsentEvent, Suppression
from fieldlink.customers.models import ContactMethod
from fieldlink.messaging.models import Message
from fieldlink.sms.models import Conversation, SmsMessage
from tests.factories.customers import make_method
from tests.sms.conftest import MARIA, Shop


def _history(shop: Shop) -> int:
    """Maria texts, gets an on-my-way text, then texts STOP; returns the appointment id."""
    assert shop.text("gate code is 1234").status_code == 200
    appointment = shop.visit([shop.users["tom"]])
    shop.on_my_way(appointment, shop.users["tom"])
    shop.deliver()
    assert shop.text("STOP").status_code == 200
    shop.deliver()
    return appointment


def test_export_holds_everything_about_the_customer_and_nothing_else(shop: Shop) -> None:
    _history(shop)
    email = make_method(
        shop.session,
        company_id=shop.company_id,
        customer_id=shop.customer_id,
        contact_id=shop.contact_id,
        kind="email",
        value="maria@example.com",
    )
    shop.session.add(Suppression(company_id=shop.company_id, email=email.value, reason="bounce"))
    shop.session.commit()
    other = shop.api.post("/v1/customers", json={"name": "Someone Else"}).json()

    r = shop.api.get(f"/v1/customers/{shop.customer_id}/export")
    assert r.status_code == 200
    data = r.json()["data"]
    assert [c["name"] for c in data["customers"]] == ["Maria Smith"]
    assert {m["value"] for m in data["contact_methods"]} == {MARIA, "maria@example.com"}
    assert len(data["locations"]) == 1 and len(data["jobs"]) == 1
    assert len(data["appointments"]) == 1  # found through the job
    assert any(m["touchpoint"] == "en_route" for m in data["messages"])
    assert {t["body"] for t in data["conversation_messages"]} >= {"gate code is 1234", "STOP"}
    assert any(e["new_value"] == "opted_out" for e in data["consent_events"])
    assert [s["reason"] for s in data["suppressions"]] == ["bounce"]
    assert "companies" not in data and "users" not in data
    assert all(c["id"] != other["id"] for c in data["customers"])


def test_export_and_erase_are_scoped_to_the_company(shop: Shop, rival_api) -> None:  # type: ignore[no-untyped-def]
    assert rival_api.get(f"/v1/customers/{shop.customer_id}/export").status_code == 404
    assert rival_api.post(f"/v1/customers/{shop.customer_id}/erase").status_code == 404
    assert shop.api.get(f"/v1/customers/{shop.customer_id}").json()["name"] == "Maria Smith"


def test_erase_removes_personal_data(shop: Shop) -> None:
    _history(shop)
    r = shop.api.post(f"/v1/customers/{shop.customer_id}/erase")
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["contact_methods_deleted"] == 1 and summary["messages_redacted"] >= 1
    customer = shop.api.get(f"/v1/customers/{shop.customer_id}").json()
    assert "Maria" not in customer["name"]
    export = shop.api.get(f"/v1/customers/{shop.customer_id}/export").text
    assert "Maria" not in export and MARIA not in export and "1234" not in export
    shop.session.expire_all()
    messages = shop.session.scalars(
        select(Message).where(Message.customer_id == shop.customer_id)
    ).all()
    assert messages and all(m.to is None and m.body == "" for m in messages)
    assert all(MARIA not in (m.idempotency_key or "") for m in messages)
    assert not shop.session.scalars(
        select(ContactMethod).where(ContactMethod.customer_id == shop.customer_id)
    ).all()


def test_erase_keeps_consent_evidence_as_hashes(shop: Shop) -> None:
    # TCPA/CTIA: proof of consent and of honoured opt-outs is kept; the number is hashed.
    _history(shop)
    shop.api.post(f"/v1/customers/{shop.customer_id}/erase")
    shop.session.expire_all()
    events = shop.session.scalars(
        select(ConsentEvent).where(ConsentEvent.customer_id == shop.customer_id)
    ).all()
    assert events, "consent evidence must survive erasure"
    assert all(e.subject.startswith("hmac-sha256:") for e in events)
    assert any(e.new_value == "opted_out" for e in events)


def test_a_stop_keeps_holding_after_erasure(shop: Shop) -> None:
    # TCPA revocation / CTIA: an opted-out number stays opted out even once its owner is
    # erased; the conversation keeps only the number and its status, no texts.
    _history(shop)
    shop.api.post(f"/v1/customers/{shop.customer_id}/erase")
    shop.session.expire_all()
    [conversation] = shop.session.scalars(
        select(Conversation).where(Conversation.phone == MARIA)
    ).all()
    assert conversation.keyword_status == "opted_out" and conversation.customer_id is None
    assert not shop.session.scalars(
        select(SmsMessage).where(SmsMessage.conversation_id == conversation.id)
    ).all()
    # A second STOP from the number gets no second confirmation: the opt-out is known.
    sent_before = len(shop.sms.sent)
    shop.text("STOP")
    shop.deliver()
    assert len(shop.sms.sent) == sent_before


def test_email_suppressions_survive_erasure(shop: Shop) -> None:
    # CAN-SPAM 15 U.S.C. 7704(a)(4): an opt-out is honoured for good; the list keeps the address.
    make_method(
        shop.session,
        company_id=shop.company_id,
        customer_id=shop.customer_id,
        contact_id=shop.contact_id,
        kind="email",
        value="maria@example.com",
    )
    shop.session.add(
        Suppression(company_id=shop.company_id, email="maria@example.com", reason="unsubscribed")
    )
    shop.session.commit()
    shop.api.post(f"/v1/customers/{shop.customer_id}/erase")
    shop.session.expire_all()
    assert (
        shop.session.scalar(
            select(Suppression.reason).where(Suppression.email == "maria@example.com")
        )
        == "unsubscribed"
    )


def test_erasing_an_unknown_customer_is_a_404(shop: Shop) -> None:
    assert shop.api.post("/v1/customers/999999/erase").status_code == 404
    assert shop.api.get("/v1/customers/999999/export").status_code == 404


def test_erase_removes_portal_logins_and_uploaded_files(shop: Shop, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fieldlink.portal.models import PortalAccount, PortalUpload

    app = shop.api.app
    app.state.settings = app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"upload_dir": str(tmp_path)}
    )
    stored = tmp_path / str(shop.company_id) / "upload-key-1"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"%PDF-1.4 a quote")
    shop.session.add_all(
        [
            PortalAccount(
                company_id=shop.company_id,
                customer_id=shop.customer_id,
                login_id="maria",
                password_hash="argon2-hash",
            ),
            PortalUpload(
                company_id=shop.company_id,
                customer_id=shop.customer_id,
                filename="quote.pdf",
                content_type="application/pdf",
                size=16,
                storage_key="upload-key-1",
            ),
        ]
    )
    shop.session.commit()
    r = shop.api.post(f"/v1/customers/{shop.customer_id}/erase")
    assert r.status_code == 200, r.text
    assert r.json()["portal_logins_deleted"] == 1 and r.json()["uploads_deleted"] == 1
    shop.session.expire_all()
    assert shop.session.scalar(select(PortalAccount.id)) is None
    assert shop.session.scalar(select(PortalUpload.id)) is None
    assert not stored.exists()


def test_erase_drops_texts_not_yet_threaded_so_a_worker_cannot_bring_them_back(
    shop: Shop,
) -> None:
    from fieldlink.outbox.models import OutboxJob
    from fieldlink.sms.inbound import RECEIVE_TOPIC
    from tests.sms.conftest import receive

    # Recorded by the webhook, not yet threaded; another sender's text waits too.
    shop.text("my new alarm code is 4321", threaded=False)
    shop.text("hello from someone else", sender="+19195550177", threaded=False)
    r = shop.api.post(f"/v1/customers/{shop.customer_id}/erase")
    assert r.status_code == 200, r.text
    assert r.json()["unthreaded_texts_deleted"] == 1
    assert receive(shop.factory) == 1  # only the other sender's text is left to thread
    shop.session.expire_all()
    bodies = shop.session.scalars(select(SmsMessage.body)).all()
    assert bodies == ["hello from someone else"]
    payloads = shop.session.scalars(
        select(OutboxJob.payload).where(OutboxJob.topic == RECEIVE_TOPIC)
    ).all()
    assert "4321" not in str(payloads)
