"""A company with an SMS number, staff, a customer with a mobile, and fake transports."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.accounts.models import User
from fieldlink.channels.registry import Channels, configure
from fieldlink.channels.signatures import twilio_signature
from fieldlink.consent.models import ConsentEvent
from fieldlink.db import utcnow
from fieldlink.messaging import handlers  # noqa: F401  (registers messaging.send)
from fieldlink.outbox.worker import Worker
from fieldlink.sms import handlers as sms_handlers  # noqa: F401  (registers sms.provision_number)
from fieldlink.sms.inbound import RECEIVE_TOPIC
from tests.factories.customers import make_contact, make_customer, make_location, make_method
from tests.fakes.transports import FakeEmailTransport, FakeSmsTransport

TOKEN = "test-auth-token"
NUMBER = "+19195550199"
BUSINESS = "+19195550100"
MARIA = "+19195550123"


def signed(client: TestClient, path: str, form: dict[str, str], token: str = TOKEN) -> Response:
    signature = twilio_signature(token, "http://testserver" + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def deliver(factory: sessionmaker[Session], at: datetime | None = None) -> None:
    """Run a real outbox worker until nothing is due."""
    clock = at or utcnow()
    worker = Worker(factory, name="w", clock=lambda: clock, rng=random.Random(1))
    while worker.run_once():
        pass


def receive(factory: sessionmaker[Session]) -> int:
    """Run a real outbox worker over the recorded inbound texts only (``sms.receive``), as
    the worker process does moments after the webhook answered; returns how many."""
    worker = Worker(factory, name="w-in", topics=[RECEIVE_TOPIC], rng=random.Random(1))
    taken = 0
    while step := worker.run_once():
        taken += step
    return taken


@dataclass
class Shop:
    api: TestClient
    client: TestClient
    session: Session
    factory: sessionmaker[Session]
    sms: FakeSmsTransport
    mail: FakeEmailTransport
    company_id: int
    users: dict[str, int]
    customer_id: int
    contact_id: int
    method_id: int
    sids: list[int] = field(default_factory=lambda: [0])

    def text(
        self,
        body: str,
        *,
        sender: str = MARIA,
        sid: str | None = None,
        to: str = NUMBER,
        threaded: bool = True,
    ) -> Response:
        """Post a signed inbound text; with ``threaded``, the worker then threads and routes
        what the webhook recorded (a keyword is applied by the webhook itself)."""
        if sid is None:
            self.sids[0] += 1
            sid = f"SMin{self.sids[0]:06d}"
        form = {
            "From": sender,
            "To": to,
            "Body": body,
            "MessageSid": sid,
            "AccountSid": "ACtest",
        }
        response = signed(self.client, "/webhooks/sms/inbound", form)
        if threaded:
            receive(self.factory)
        return response

    def deliver(self, at: datetime | None = None) -> None:
        deliver(self.factory, at)

    def messages(self, **filters: object) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.api.get(
            "/v1/messages", params={"limit": 500, **filters}
        ).json()["items"]
        return items

    def logged(self, touchpoint: str) -> list[dict[str, Any]]:
        """Message-log rows of a touchpoint (filtered here: the log's ``touchpoint`` filter
        lists only the customer-facing touchpoints)."""
        return [m for m in self.messages() if m["touchpoint"] == touchpoint]

    def thread(self, phone: str = MARIA) -> dict[str, Any]:
        items = self.api.get("/v1/conversations", params={"limit": 500}).json()["items"]
        [conversation] = [c for c in items if c["phone"] == phone]
        detail: dict[str, Any] = self.api.get(f"/v1/conversations/{conversation['id']}").json()
        return detail

    def consent_events(self, subject: str = MARIA) -> list[ConsentEvent]:
        self.session.expire_all()
        return list(
            self.session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.company_id == self.company_id, ConsentEvent.subject == subject)
                .order_by(ConsentEvent.id)
            )
        )

    def method_status(self) -> str:
        r = self.api.get(f"/v1/contact-methods/{self.method_id}")
        status: str = r.json()["marketing_sms_status"]
        return status

    def visit(self, technicians: list[int]) -> int:
        job = self.api.post("/v1/jobs", json={"customer_id": self.customer_id}).json()
        r = self.api.post(
            f"/v1/jobs/{job['id']}/appointments",
            json={
                "window_start": "2026-03-02T08:00:00-05:00",
                "window_end": "2026-03-02T12:00:00-05:00",
                "schedule_type": "am",
                "technician_ids": technicians,
            },
        )
        assert r.status_code == 201, r.text
        appointment_id: int = r.json()["id"]
        return appointment_id

    def on_my_way(self, appointment_id: int, technician: int) -> None:
        r = self.api.post(
            f"/v1/appointments/{appointment_id}/en-route",
            json={"technician_id": technician, "contact_ids": [self.contact_id]},
        )
        assert r.status_code == 201, r.text

    def status(self, appointment_id: int, technician: int, name: str) -> None:
        codes = self.api.get("/v1/status-codes").json()["items"]
        code = next(c for c in codes if c["name"] == name)
        r = self.api.post(
            f"/v1/appointments/{appointment_id}/status",
            json={"technician_id": technician, "status_code_id": code["id"]},
        )
        assert r.status_code == 201, r.text


def add_user(session: Session, company_id: int, name: str, role: str, phone: str | None) -> int:
    user = User(
        company_id=company_id,
        name=name,
        email=f"{name.lower()}.{company_id}@acme.example",
        role=role,
        phone=phone,
        active=True,
        certifications=[],
    )
    session.add(user)
    session.flush()
    return user.id


@pytest.fixture
def shop(session: Session, session_factory, tenant, api: TestClient, client: TestClient) -> Shop:
    r = api.patch(
        "/v1/company",
        json={
            "name": "Acme Heating",
            "sms_number": NUMBER,
            "business_phone": BUSINESS,
            "sender": {"email": "svc@acme.example", "name": "Acme"},
        },
    )
    assert r.status_code == 200, r.text
    cid = tenant.company_id
    users = {
        "dispatcher": add_user(session, cid, "Dana", "dispatcher", None),
        "admin": add_user(session, cid, "Ada", "admin", None),
        "owner": add_user(session, cid, "Olive", "owner", "+19195550111"),
        "tom": add_user(session, cid, "Tom", "technician", "+19195550131"),
        "priya": add_user(session, cid, "Priya", "technician", "+19195550132"),
    }
    customer = make_customer(session, company_id=cid, name="Maria Smith")
    make_location(session, company_id=cid, customer_id=customer.id)
    contact = make_contact(session, company_id=cid, customer_id=customer.id, name="Maria Smith")
    method = make_method(
        session,
        company_id=cid,
        customer_id=customer.id,
        contact_id=contact.id,
        kind="phone",
        value=MARIA,
        phone_type="mobile",
    )
    session.commit()
    sms, mail = FakeSmsTransport(), FakeEmailTransport()
    configure(Channels(email=mail, sms=sms, base_url="http://testserver"))
    return Shop(
        api=api,
        client=client,
        session=session,
        factory=session_factory,
        sms=sms,
        mail=mail,
        company_id=cid,
        users=users,
        customer_id=customer.id,
        contact_id=contact.id,
        method_id=method.id,
    )
