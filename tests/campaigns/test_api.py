"""Campaigns over the API, delivered by the outbox worker: lifecycle, audience, consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from fieldlink.jobs.models import Estimate, Job
from fieldlink.messaging.models import Message
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.worker import Worker
from tests.campaigns.conftest import Shop
from tests.campaigns.helpers import add_customer


def campaign_messages(shop: Shop) -> list[Message]:
    shop.session.expire_all()
    return list(
        shop.session.scalars(
            select(Message).where(Message.touchpoint == "campaign").order_by(Message.id)
        )
    )


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
    report = shop.api.get(f"/v1/campaigns/{campaign['id']}/report").json()
    assert report["sent"] == 1 and report["audience"] == 1
    assert report["suppressed"] == {"do_not_mail": 1}
    # A repeated send changes nothing and sends nothing twice.
    assert shop.api.post(f"/v1/campaigns/{campaign['id']}/send").status_code == 202
    shop.run_worker()
    assert len(shop.mail.sent) == 1
    [message] = campaign_messages(shop)
    assert message.status == "sent" and message.contact_id is not None
    # No "queued" row is stored per campaign message; the log shows it from created_at.
    history = shop.api.get(f"/v1/messages/{message.id}").json()["history"]
    assert [h["status"] for h in history] == ["queued", "sending", "sent"]
    assert history[0]["at"].startswith(message.created_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_the_campaign_is_marked_sent_when_its_last_message_settles(shop: Shop) -> None:
    add_customer(shop, "Maria Lopez", "maria@example.com")
    campaign = shop.campaign()
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    shop.run_worker()
    later = Worker(
        shop.worker.factory, name="later", clock=lambda: datetime.now(UTC) + timedelta(minutes=5)
    )
    while later.run_once():
        pass
    body = shop.api.get(f"/v1/campaigns/{campaign['id']}").json()
    assert body["status"] == "sent" and body["finished_at"] and body["queued"] == 1


def test_preview_counts_eligible_and_blocked_by_reason_with_a_sample(shop: Shop) -> None:
    maria, _ = add_customer(shop, "Maria Lopez", "maria@example.com")
    add_customer(shop, "Dee", "dee@example.com", do_not_service=True)
    add_customer(shop, "No Email")
    campaign = shop.campaign()
    r = shop.api.post(f"/v1/campaigns/{campaign['id']}/preview")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["eligible"] == 1
    assert body["blocked"]["do_not_service"] == 1 and body["blocked"]["no_email_address"] == 1
    assert [s["customer_id"] for s in body["sample"]] == [maria.id]
    assert body["rendered"]["subject"] == "Spring tune-up special, Maria"
    assert body["warnings"] == []


def test_audience_filters_by_job_history_and_open_estimates(shop: Shop) -> None:
    s, cid = shop.session, shop.company.id
    recent, _ = add_customer(shop, "Recent", "recent@example.com")
    old, _ = add_customer(shop, "Old", "old@example.com")
    quoting, _ = add_customer(shop, "Quoting", "quote@example.com")
    s.add_all(
        [
            Job(
                company_id=cid,
                customer_id=recent.id,
                job_type="AC Tune-up",
                status="completed",
                completed_at=datetime(2026, 6, 10, 15, tzinfo=UTC),
            ),
            Job(
                company_id=cid,
                customer_id=old.id,
                job_type="Furnace repair",
                status="completed",
                completed_at=datetime(2024, 1, 5, 15, tzinfo=UTC),
            ),
            Estimate(
                company_id=cid, customer_id=quoting.id, number="E-1", status="sent", total=100
            ),
        ]
    )
    s.commit()

    def eligible(audience: dict[str, object]) -> set[int]:
        c = shop.campaign(audience=audience)
        body = shop.api.post(f"/v1/campaigns/{c['id']}/preview?sample_size=100").json()
        return {x["customer_id"] for x in body["sample"]}

    assert eligible({"last_service_from": "2026-01-01"}) == {recent.id}
    assert eligible({"last_service_to": "2025-12-31"}) == {old.id}
    assert eligible({"job_type": ["Furnace repair"]}) == {old.id}
    assert eligible({"has_open_estimate": True}) == {quoting.id}
    assert eligible({"has_open_estimate": False}) == {recent.id, old.id}
    assert eligible({}) == {recent.id, old.id, quoting.id}
    bad = shop.api.post(
        "/v1/campaigns",
        json={
            "name": "x",
            "channel": "email",
            "audience": {"last_service_from": "2026-02-01", "last_service_to": "2026-01-01"},
        },
    )
    assert bad.status_code == 422


def test_sending_is_throttled_per_company_per_minute(shop: Shop) -> None:
    for i in range(5):
        add_customer(shop, f"C{i}", f"c{i}@example.com")
    shop.api.patch("/v1/company", json={"settings": {"campaign_messages_per_minute": 2}})
    campaign = shop.campaign()
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    shop.run_worker()
    assert len(shop.mail.sent) == 1  # two a minute: one now, the next 30 s later
    jobs = shop.session.scalars(
        select(OutboxJob.run_at)
        .where(OutboxJob.topic == "messaging.send")
        .order_by(OutboxJob.run_at)
    ).all()
    offsets = [round((t - jobs[0]).total_seconds()) for t in jobs]
    assert offsets == [0, 30, 60, 90, 120]


def test_cancel_stops_what_is_not_yet_sent(shop: Shop) -> None:
    for i in range(4):
        add_customer(shop, f"C{i}", f"c{i}@example.com")
    shop.api.patch("/v1/company", json={"settings": {"campaign_messages_per_minute": 1}})
    campaign = shop.campaign()
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    shop.run_worker()
    assert len(shop.mail.sent) == 1
    r = shop.api.post(f"/v1/campaigns/{campaign['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    later = Worker(
        shop.worker.factory, name="later", clock=lambda: datetime.now(UTC) + timedelta(hours=1)
    )
    while later.run_once():
        pass
    assert len(shop.mail.sent) == 1
    statuses = sorted(m.status for m in campaign_messages(shop))
    assert statuses == ["sent", "suppressed", "suppressed", "suppressed"]
    report = shop.api.get(f"/v1/campaigns/{campaign['id']}/report").json()
    assert report["sent"] == 1 and report["suppressed"] == {"campaign_cancelled": 3}
    assert shop.api.post(f"/v1/campaigns/{campaign['id']}/send").status_code == 409


def test_a_scheduled_campaign_waits_for_its_time(shop: Shop) -> None:
    add_customer(shop, "Maria", "maria@example.com")
    at = datetime.now(UTC) + timedelta(hours=2)
    campaign = shop.campaign(scheduled_at=at.isoformat())
    r = shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    assert r.json()["status"] == "scheduled"
    shop.run_worker()
    assert shop.mail.sent == [] and campaign_messages(shop) == []
    # Moving it earlier moves the send; the old job does nothing when its time comes.
    sooner = datetime.now(UTC) + timedelta(minutes=30)
    r = shop.api.patch(f"/v1/campaigns/{campaign['id']}", json={"scheduled_at": sooner.isoformat()})
    assert r.status_code == 200, r.text
    later = Worker(
        shop.worker.factory, name="later", clock=lambda: datetime.now(UTC) + timedelta(hours=3)
    )
    while later.run_once():
        pass
    assert len(shop.mail.sent) == 1
    assert len(campaign_messages(shop)) == 1


def test_an_unsubscribe_between_send_and_delivery_wins(shop: Shop) -> None:
    add_customer(shop, "Maria", "maria@example.com")
    add_customer(shop, "Sam", "sam@example.com")
    shop.api.patch("/v1/company", json={"settings": {"campaign_messages_per_minute": 1}})
    campaign = shop.campaign()
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    shop.run_worker()  # Maria's message goes now; Sam's is due in a minute
    r = shop.api.post(
        "/v1/suppressions", json={"email": "sam@example.com", "reason": "unsubscribed"}
    )
    assert r.status_code == 201
    later = Worker(
        shop.worker.factory, name="later", clock=lambda: datetime.now(UTC) + timedelta(minutes=2)
    )
    while later.run_once():
        pass
    assert [e.to for e in shop.mail.sent] == ["maria@example.com"]
    sam = next(m for m in campaign_messages(shop) if m.to == "sam@example.com")
    assert sam.status == "suppressed" and sam.reasons[0]["code"] == "email_suppressed"


def test_email_campaigns_need_a_postal_address_and_sender(shop: Shop) -> None:
    # CAN-SPAM 15 U.S.C. §7704(a)(5)(A)(iii): every commercial email carries the sender's
    # valid physical postal address; without one the campaign can't be sent.
    shop.company.postal_address = None
    shop.session.commit()
    campaign = shop.campaign()
    preview = shop.api.post(f"/v1/campaigns/{campaign['id']}/preview").json()
    assert [w["code"] for w in preview["warnings"]] == ["no_postal_address"]
    r = shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    assert r.status_code == 409 and r.json()["code"] == "no_postal_address"
    assert shop.api.get(f"/v1/campaigns/{campaign['id']}").json()["status"] == "draft"


def test_bad_input_answers_clear_errors(shop: Shop) -> None:
    r = shop.api.post("/v1/campaigns", json={"name": "x", "channel": "fax"})
    assert r.status_code == 422
    r = shop.api.post(
        "/v1/campaigns", json={"name": "x", "channel": "email", "template": "Hi {{ contact."}
    )
    assert r.status_code == 422 and r.json()["code"] == "template_invalid"
    c = shop.campaign()
    r = shop.api.patch(f"/v1/campaigns/{c['id']}", json={"status": "sent"})
    assert r.status_code == 422 and r.json()["code"] == "status_read_only"
    r = shop.api.get(f"/v1/campaigns/{c['id']}/direct-mail.csv")
    assert r.status_code == 422
    r = shop.api.post(
        "/v1/campaigns", json={"name": "x", "channel": "email", "audience": {"colour": "red"}}
    )
    assert r.status_code == 422


def test_another_companys_campaign_is_not_found(shop: Shop, rival_api: TestClient) -> None:
    c = shop.campaign()
    for method, path in [
        ("get", f"/v1/campaigns/{c['id']}"),
        ("patch", f"/v1/campaigns/{c['id']}"),
        ("post", f"/v1/campaigns/{c['id']}/preview"),
        ("post", f"/v1/campaigns/{c['id']}/send"),
        ("post", f"/v1/campaigns/{c['id']}/cancel"),
        ("get", f"/v1/campaigns/{c['id']}/report"),
    ]:
        kw = {"json": {"name": "stolen"}} if method == "patch" else {}
        assert getattr(rival_api, method)(path, **kw).status_code == 404, path
    assert rival_api.get("/v1/campaigns").json()["items"] == []
    assert shop.api.get(f"/v1/campaigns/{c['id']}").json()["name"] == "Spring tune-up"


def test_deleting_a_contact_keeps_the_messages_sent_to_it_with_the_contact_cleared(
    shop: Shop,
) -> None:
    """``messages.contact_id`` has no foreign key (migration 0013): ``delete_contact``
    clears it itself, as ``ON DELETE SET NULL`` did, and the message log keeps the row."""
    customer, method = add_customer(shop, "Maria Lopez", "maria@example.com")
    assert method is not None
    campaign = shop.campaign()
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    shop.run_worker()
    [message] = campaign_messages(shop)
    assert message.status == "sent" and message.contact_id == method.contact_id
    assert shop.api.delete(f"/v1/contacts/{method.contact_id}").status_code == 204
    [message] = campaign_messages(shop)
    assert message.contact_id is None and message.contact_method_id is None
    log = shop.api.get("/v1/messages", params={"customer_id": customer.id}).json()
    assert [m["id"] for m in log["items"]] == [message.id]
    assert log["items"][0]["status"] == "sent"
