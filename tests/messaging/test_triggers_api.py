"""The service cycle through the HTTP API, delivered by a real worker into fake transports."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.channels.registry import Channels, configure
from fieldlink.customers.models import Contact, ContactMethod, Customer, Location
from fieldlink.db import utcnow
from fieldlink.messaging import handlers  # noqa: F401  (registers messaging.send)
from fieldlink.outbox.worker import Worker
from tests.fakes.transports import FakeEmailTransport, FakeSmsTransport
from tests.jobs.helpers import make_technician


@dataclass
class Day:
    api: TestClient
    session: Session
    sms: FakeSmsTransport
    mail: FakeEmailTransport
    factory: sessionmaker[Session]
    techs: list[int]
    customer: int
    owner: int
    scheduler: int
    site: int
    other_customer_contact: int

    def deliver(self, at: datetime | None = None) -> None:
        clock = at or utcnow()
        worker = Worker(self.factory, name="w", clock=lambda: clock, rng=random.Random(1))
        while worker.run_once():
            pass

    def messages(self, **filters: object) -> list[dict[str, object]]:
        items: list[dict[str, object]] = self.api.get(
            "/v1/messages", params={"limit": 500, **filters}
        ).json()["items"]
        return items

    def appointment(self, start: datetime, hours: int = 2) -> dict[str, object]:
        job = self.api.post(
            "/v1/jobs", json={"customer_id": self.customer, "job_type": "AC Tune-up"}
        ).json()
        r = self.api.post(
            f"/v1/jobs/{job['id']}/appointments",
            json={
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=hours)).isoformat(),
                "schedule_type": "am",
                "technician_ids": self.techs,
            },
        )
        assert r.status_code == 201, r.text
        body: dict[str, object] = r.json()
        return body


def _person(session: Session, company_id: int, customer_id: int, role: str, *methods: tuple) -> int:
    contact = Contact(
        company_id=company_id,
        customer_id=customer_id,
        name=f"{role} person",
        role=role,
        primary=role == "owner",
    )
    session.add(contact)
    session.flush()
    for kind, value, phone_type in methods:
        session.add(
            ContactMethod(
                company_id=company_id,
                customer_id=customer_id,
                contact_id=contact.id,
                kind=kind,
                value=value,
                phone_type=phone_type,
                job_notifications=True,
                marketing_updates=True,
            )
        )
    return contact.id


@pytest.fixture
def day(session: Session, session_factory, tenant, api: TestClient) -> Day:
    r = api.patch(
        "/v1/company",
        json={
            "sms_number": "+19195550199",
            "business_phone": "+19195550100",
            "sender": {"email": "svc@acme.example", "name": "Acme"},
            "time_zone": "America/New_York",
            "settings": {"review_url": "https://reviews.example/acme"},
        },
    )
    assert r.status_code == 200, r.text
    cid = tenant.company_id
    techs = [make_technician(session, cid, "Tom Torres"), make_technician(session, cid, "Priya")]
    customer = Customer(company_id=cid, name="Maria Smith", type="residential")
    other = Customer(company_id=cid, name="Someone Else", type="residential")
    session.add_all([customer, other])
    session.flush()
    session.add(
        Location(
            company_id=cid,
            customer_id=customer.id,
            line1="120 Oak St",
            city="Raleigh",
            region="NC",
            postcode="27601",
            country="US",
            time_zone="America/New_York",
        )
    )
    owner = _person(
        session,
        cid,
        customer.id,
        "owner",
        ("phone", "+19195550123", "mobile"),
        ("email", "maria@example.com", None),
    )
    scheduler = _person(
        session, cid, customer.id, "scheduling", ("email", "office@example.com", None)
    )
    site = _person(session, cid, customer.id, "site", ("phone", "+19195550124", "landline"))
    stranger = _person(session, cid, other.id, "owner", ("phone", "+19195550125", "mobile"))
    session.commit()
    sms, mail = FakeSmsTransport(), FakeEmailTransport()
    configure(Channels(email=mail, sms=sms, base_url="https://engage.example"))
    return Day(
        api,
        session,
        sms,
        mail,
        session_factory,
        techs,
        customer.id,
        owner,
        scheduler,
        site,
        stranger,
    )


def tomorrow_9am() -> datetime:
    now = utcnow().astimezone(UTC)
    return (now + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)


def test_booking_then_quick_reschedules_send_one_confirmation_of_the_final_time(
    day: Day,
) -> None:
    appt = day.appointment(tomorrow_9am())
    later = tomorrow_9am() + timedelta(hours=3)
    for shift in (timedelta(hours=1), timedelta(hours=3)):
        r = day.api.patch(
            f"/v1/appointments/{appt['id']}",
            json={
                "window_start": (tomorrow_9am() + shift).isoformat(),
                "window_end": (tomorrow_9am() + shift + timedelta(hours=2)).isoformat(),
            },
        )
        assert r.status_code == 200, r.text
    day.deliver(at=utcnow() + timedelta(minutes=3))
    sent = day.messages(appointment_id=appt["id"], status="sent")
    # Owner (sms + email) and scheduling contact (email): three, all of the final window.
    assert sorted(str(m["to"]) for m in sent) == [
        "+19195550123",
        "maria@example.com",
        "office@example.com",
    ]
    final = later.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert all(final.strftime("%I:%M %p").lstrip("0") in str(m["body"]) for m in sent)
    superseded = day.messages(appointment_id=appt["id"], status="suppressed")
    assert superseded and {m["reasons"][0]["code"] for m in superseded} == {"superseded"}
    assert len(day.sms.sent) == 1


def test_confirmations_wait_a_moment_before_going_out(day: Day) -> None:
    appt = day.appointment(tomorrow_9am())
    day.deliver()
    assert day.messages(appointment_id=appt["id"], status="queued")
    assert day.sms.sent == []


def enable_traveling(day: Day, once: bool = True) -> int:
    codes = day.api.get("/v1/status-codes").json()["items"]
    traveling = next(c for c in codes if c["name"] == "Traveling")
    r = day.api.patch(
        f"/v1/status-codes/{traveling['id']}",
        json={
            "once_per_appointment": once,
            "notification": {"enabled": True, "channels": ["sms"], "contact_roles": ["owner"]},
        },
    )
    assert r.status_code == 200, r.text
    return int(traveling["id"])


def test_two_technicians_traveling_send_one_notice(day: Day) -> None:
    code = enable_traveling(day)
    appt = day.appointment(tomorrow_9am())
    results = [
        day.api.post(
            f"/v1/appointments/{appt['id']}/status",
            json={"technician_id": t, "status_code_id": code},
        ).json()
        for t in day.techs
    ]
    assert results[0]["notifications"]["queued"] == 1
    assert results[1]["notifications"]["suppressed"] == {"duplicate": 1}
    day.deliver()
    assert [sms.to for _, sms in day.sms.sent] == ["+19195550123"]
    assert "Traveling" in day.sms.sent[0][1].body


def test_once_per_appointment_off_sends_per_technician(day: Day) -> None:
    code = enable_traveling(day, once=False)
    appt = day.appointment(tomorrow_9am())
    for t in day.techs:
        day.api.post(
            f"/v1/appointments/{appt['id']}/status",
            json={"technician_id": t, "status_code_id": code},
        )
    day.deliver()
    assert len(day.sms.sent) == 2


def test_on_my_way_texts_the_picked_contact_with_the_eta(day: Day) -> None:
    appt = day.appointment(tomorrow_9am())
    eta = utcnow() + timedelta(minutes=25)
    r = day.api.post(
        f"/v1/appointments/{appt['id']}/en-route",
        json={"technician_id": day.techs[0], "eta": eta.isoformat(), "contact_ids": [day.owner]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["queued"] == 2  # the owner's mobile and email
    day.deliver()
    [(_, sms)] = day.sms.sent
    local = eta.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert "Tom Torres is on the way" in sms.body
    assert local.strftime("%I:%M %p").lstrip("0") in sms.body
    status = day.api.get(f"/v1/appointments/{appt['id']}").json()["status"]
    assert status == "in_progress"


def test_on_my_way_refuses_contacts_it_cannot_reach_or_that_are_not_the_customers(
    day: Day,
) -> None:
    appt = day.appointment(tomorrow_9am())
    url = f"/v1/appointments/{appt['id']}/en-route"
    r = day.api.post(url, json={"technician_id": day.techs[0], "contact_ids": [day.site]})
    assert r.status_code == 422 and r.json()["code"] == "contact_not_reachable"
    r = day.api.post(
        url, json={"technician_id": day.techs[0], "contact_ids": [day.other_customer_contact]}
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_contacts"
    assert day.messages(touchpoint="en_route") == []


def test_a_late_on_my_way_is_not_sent(day: Day) -> None:
    appt = day.appointment(tomorrow_9am())
    eta = utcnow() + timedelta(minutes=20)
    day.api.post(
        f"/v1/appointments/{appt['id']}/en-route",
        json={"technician_id": day.techs[0], "eta": eta.isoformat(), "contact_ids": [day.owner]},
    )
    day.deliver(at=eta + timedelta(minutes=1))  # the worker was down until after the ETA
    assert not [sms for _, sms in day.sms.sent if "on the way" in sms.body]
    codes = {m["reasons"][0]["code"] for m in day.messages(touchpoint="en_route")}
    assert codes == {"expired"}


def test_bulk_reminders_count_what_was_queued_and_what_was_suppressed(day: Day) -> None:
    start = tomorrow_9am()
    for hours in (0, 3):
        day.appointment(start + timedelta(hours=hours))
    r = day.api.post(
        "/v1/reminders",
        json={
            "date_from": (start - timedelta(hours=1)).isoformat(),
            "date_to": (start + timedelta(hours=6)).isoformat(),
            "contact_roles": ["owner", "site"],
            "channels": ["sms"],
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    # Per appointment: the owner's mobile is queued, the site contact's landline is not.
    assert body["appointments"] == 2 and body["queued"] == 2
    assert body["suppressed"] == {"not_a_mobile_number": 2}
    again = day.api.post(
        "/v1/reminders",
        json={
            "date_from": (start - timedelta(hours=1)).isoformat(),
            "date_to": (start + timedelta(hours=6)).isoformat(),
            "contact_roles": ["owner"],
            "channels": ["sms"],
        },
    ).json()
    assert again["queued"] == 0 and again["suppressed"] == {"duplicate": 2}


def test_reminders_for_a_do_not_service_customer_say_why(day: Day) -> None:
    appt = day.appointment(tomorrow_9am())
    customer = day.session.get(Customer, day.customer)
    assert customer is not None
    customer.do_not_service = True
    day.session.commit()
    r = day.api.post(f"/v1/appointments/{appt['id']}/reminders", json={})
    assert r.status_code == 201 and r.json()["queued"] == 0
    assert r.json()["suppressed"] == {"do_not_service": 2}


def test_sending_an_invoice_texts_a_signed_link_and_marks_it_sent(day: Day) -> None:
    invoice = day.api.post(
        "/v1/invoices",
        json={
            "customer_id": day.customer,
            "lines": [{"description": "Igniter", "quantity": "1", "unit_price": "289.00"}],
        },
    ).json()
    r = day.api.post(f"/v1/invoices/{invoice['id']}/send", json={"contact_ids": [day.owner]})
    assert r.status_code == 201 and r.json()["queued"] == 2, r.text
    day.deliver()
    [(_, sms)] = day.sms.sent
    assert "https://testserver/i/" in sms.body or "http://testserver/i/" in sms.body
    assert "$289.00" in sms.body
    assert day.api.get(f"/v1/invoices/{invoice['id']}").json()["status"] == "sent"


def test_completing_the_job_asks_for_a_review_once(day: Day) -> None:
    appt = day.appointment(tomorrow_9am())
    codes = day.api.get("/v1/status-codes").json()["items"]
    complete = next(c for c in codes if c["name"] == "Complete")["id"]
    for t in day.techs:
        day.api.post(
            f"/v1/appointments/{appt['id']}/status",
            json={"technician_id": t, "status_code_id": complete},
        )
    reviews = day.messages(touchpoint="review_request")
    assert {m["status"] for m in reviews} == {"queued"}
    assert sorted(str(m["to"]) for m in reviews) == ["+19195550123", "maria@example.com"]
    job_id = day.api.get(f"/v1/appointments/{appt['id']}").json()["job_id"]
    day.api.patch(f"/v1/jobs/{job_id}", json={"status": "completed"})
    assert len(day.messages(touchpoint="review_request")) == 2  # asked once per job
    day.deliver(at=utcnow() + timedelta(hours=2))
    assert any("https://reviews.example/acme" in e.text for e in day.mail.sent)


def test_no_message_goes_to_another_companys_log(day: Day, rival_api: TestClient) -> None:
    day.appointment(tomorrow_9am())
    assert rival_api.get("/v1/messages").json()["items"] == []
    assert day.messages(), "acme sees its own confirmations"


@pytest.mark.parametrize("roles", [(), ("owner", "site"), ("scheduling",)])
def test_bulk_reminders_read_once_what_one_reminder_reads_and_pick_the_same(
    day: Day, roles: tuple[str, ...]
) -> None:
    """remind_all reads jobs, customers, technicians and contacts for the whole list at once;
    the reminders it builds must be those one reminder at a time builds."""
    from fieldlink.accounts.models import Company
    from fieldlink.jobs.models import Appointment
    from fieldlink.links.tokens import LinkMaker
    from fieldlink.messaging.bulk import Intent
    from fieldlink.messaging.touchpoints import _read_batch, remind

    start = tomorrow_9am()
    ids = [day.appointment(start + timedelta(hours=h))["id"] for h in (0, 2, 4)]
    session = day.session
    session.expire_all()
    appointments = [session.get(Appointment, i) for i in ids]
    company = session.get(Company, appointments[0].company_id)  # type: ignore[union-attr]
    assert company is not None
    links, now = LinkMaker(base_url="https://engage.example", secret="s"), utcnow()

    def reminders(batched: bool) -> list[tuple[object, ...]]:
        out: list[Intent] = []
        live = [a for a in appointments if a is not None]
        batch = _read_batch(session, company=company, appointments=live) if batched else None
        for a in live:
            remind(
                session,
                company=company,
                appointment=a,
                roles=roles,
                contact_ids=[],
                links=links,
                now=now,
                collect=out,
                batch=batch,
            )
        return [
            (i.channel, i.method.id, i.idempotency_key, i.variables, i.refs, i.send_by) for i in out
        ]

    one_by_one = reminders(batched=False)
    assert one_by_one and reminders(batched=True) == one_by_one
    assert one_by_one[0][3]["technician"]["name"] == "Tom Torres"  # type: ignore[index]
