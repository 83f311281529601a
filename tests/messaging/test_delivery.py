"""Queueing and delivering messages: consent, idempotency, expiry, retries, reconciliation."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.accounts.models import Company
from fieldlink.channels.base import TransportError
from fieldlink.channels.registry import Channels, configure
from fieldlink.consent.models import ConsentEvent
from fieldlink.customers.models import Contact, ContactMethod, Customer
from fieldlink.db import utcnow
from fieldlink.messaging import handlers  # noqa: F401  (registers messaging.send)
from fieldlink.messaging.models import Message, MessageEvent
from fieldlink.messaging.service import queue_message
from fieldlink.messaging.templates import sample_variables
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.worker import Worker, WorkerConfig
from tests.factories.customers import make_company, make_contact, make_customer, make_method
from tests.fakes.transports import FakeEmailTransport, FakeSmsTransport


@dataclass
class World:
    session: Session
    company: Company
    customer: Customer
    contact: Contact
    mobile: ContactMethod
    email: ContactMethod
    sms: FakeSmsTransport
    mail: FakeEmailTransport
    worker: Worker

    def queue(self, method: ContactMethod | None = None, key: str = "k1", **kw: object) -> Message:
        method = method or self.mobile
        msg = queue_message(
            self.session,
            company=self.company,
            touchpoint=str(kw.pop("touchpoint", "en_route")),
            channel="sms" if method.kind == "phone" else "email",
            customer=self.customer,
            contact=self.contact,
            method=method,
            variables=sample_variables(),
            idempotency_key=key,
            now=utcnow(),
            **kw,
        )  # type: ignore[arg-type]
        self.session.commit()
        return msg

    def deliver(self) -> int:
        n = 0
        while taken := self.worker.run_once():
            n += taken
        return n

    def reload(self, msg: Message) -> Message:
        self.session.expire_all()
        found = self.session.get(Message, msg.id)
        assert found is not None
        return found

    def history(self, msg: Message) -> list[str]:
        return list(
            self.session.scalars(
                select(MessageEvent.status)
                .where(MessageEvent.message_id == msg.id)
                .order_by(MessageEvent.id)
            )
        )


@pytest.fixture
def world(session: Session, session_factory: sessionmaker[Session]) -> Iterator[World]:
    company = make_company(
        session,
        sms_number="+19195550199",
        sender_email="svc@acme.example",
        sender_name="Acme",
        business_phone="+19195550100",
    )
    customer = make_customer(session, company_id=company.id)
    contact = make_contact(session, company_id=company.id, customer_id=customer.id)
    mobile = make_method(
        session,
        company_id=company.id,
        customer_id=customer.id,
        contact_id=contact.id,
        kind="phone",
        value="+19195550123",
        phone_type="mobile",
        job_notifications=True,
    )
    email = make_method(
        session,
        company_id=company.id,
        customer_id=customer.id,
        contact_id=contact.id,
        kind="email",
        value="maria@example.com",
        job_notifications=True,
    )
    session.commit()
    sms, mail = FakeSmsTransport(), FakeEmailTransport()
    configure(Channels(email=mail, sms=sms, base_url="https://engage.example"))
    worker = Worker(
        session_factory,
        name="t",
        rng=random.Random(3),
        config=WorkerConfig(backoff_base=0.0, backoff_cap=0.0),
    )
    yield World(session, company, customer, contact, mobile, email, sms, mail, worker)


def test_a_queued_text_is_sent_once_with_its_provider_id_and_history(world: World) -> None:
    msg = world.queue()
    assert msg.status == "queued" and "Tom Torres is on the way" in msg.body
    world.deliver()
    msg = world.reload(msg)
    [(sid, sms)] = world.sms.sent
    assert msg.status == "sent" and msg.provider_id == sid
    assert sms.from_ == "+19195550199" and sms.to == "+19195550123"
    assert sms.status_callback == f"https://engage.example/webhooks/sms/status?m=flm-{msg.id}"
    assert world.history(msg) == ["queued", "sending", "sent"]


def test_an_email_uses_the_company_sender_and_the_shared_layout(world: World) -> None:
    msg = world.queue(world.email, touchpoint="appointment_confirmation")
    world.deliver()
    [email] = world.mail.sent
    assert email.from_email == "svc@acme.example" and email.to == "maria@example.com"
    assert email.subject.startswith("Confirmed:") and email.html and "<table" in email.html
    assert world.reload(msg).status == "sent"


def test_a_second_trigger_with_the_same_key_is_stored_as_a_duplicate(world: World) -> None:
    first = world.queue(key="en_route:appt:1:method:1")
    second = world.queue(key="en_route:appt:1:method:1")
    assert second.status == "suppressed" and second.duplicate_of_id == first.id
    assert [r["code"] for r in second.reasons] == ["duplicate"]
    world.deliver()
    assert len(world.sms.sent) == 1


def test_a_do_not_service_customer_gets_nothing_and_the_log_says_why(world: World) -> None:
    world.customer.do_not_service = True
    msg = world.queue()
    assert msg.status == "suppressed"
    assert [r["code"] for r in msg.reasons] == ["do_not_service"]
    assert world.session.scalar(select(OutboxJob.id)) is None
    assert world.deliver() == 0 and world.sms.sent == []


def test_a_landline_is_never_texted(world: World) -> None:
    world.mobile.phone_type = "landline"
    msg = world.queue()
    assert "not_a_mobile_number" in [r["code"] for r in msg.reasons]


def test_consent_is_checked_again_at_delivery_so_a_change_after_queueing_wins(
    world: World,
) -> None:
    msg = world.queue()
    world.mobile.job_notifications = False  # the customer turned notices off meanwhile
    world.session.commit()
    world.deliver()
    msg = world.reload(msg)
    assert msg.status == "suppressed" and world.sms.sent == []
    assert [r["code"] for r in msg.reasons] == ["no_job_notifications"]


def test_a_message_not_delivered_before_send_by_expires(world: World) -> None:
    msg = world.queue(send_by=utcnow() - timedelta(seconds=1))
    world.deliver()
    msg = world.reload(msg)
    assert msg.status == "suppressed" and msg.reasons[0]["code"] == "expired"
    assert world.sms.sent == []


def test_a_lost_provider_reply_is_reconciled_not_resent(world: World) -> None:
    world.sms.lose_reply = True  # the provider took it, but we never heard back
    msg = world.queue()
    world.deliver()
    msg = world.reload(msg)
    assert len(world.sms.sent) == 1, "the text must not be sent twice"
    assert msg.status == "sent" and msg.provider_id == world.sms.sent[0][0]
    assert world.sms.lookups == 1
    assert world.history(msg) == ["queued", "sending", "sent"]


def test_a_provider_outage_is_retried_until_it_goes_through(world: World) -> None:
    world.sms.fail_with = TransportError("503 from provider", permanent=False)
    msg = world.queue()
    world.worker.run_once()
    assert world.reload(msg).status == "sending"
    world.sms.fail_with = None
    world.deliver()
    msg = world.reload(msg)
    assert msg.status == "sent" and len(world.sms.sent) == 1 and msg.attempts == 2


def test_carrier_opt_out_fails_the_text_and_opts_the_number_out(world: World) -> None:
    # CTIA; Twilio error 21610: the number replied STOP at the carrier. Never retry.
    world.sms.fail_with = TransportError(
        "unsubscribed", permanent=True, code="opted_out_at_carrier"
    )
    msg = world.queue()
    world.deliver()
    msg = world.reload(msg)
    assert msg.status == "failed" and msg.reasons[0]["code"] == "opted_out_at_carrier"
    method = world.session.get(ContactMethod, world.mobile.id)
    assert method is not None and method.marketing_sms_status == "opted_out"
    event = world.session.scalar(
        select(ConsentEvent).where(ConsentEvent.contact_method_id == world.mobile.id)
    )
    assert event is not None and event.source == "carrier"


def test_retries_give_up_as_failed_with_the_error(world: World) -> None:
    world.sms.fail_with = TransportError("503 from provider", permanent=False)
    msg = world.queue()
    for _ in range(10):
        world.session.execute(OutboxJob.__table__.update().values(run_at=utcnow()))
        world.session.commit()
        world.worker.run_once()
    msg = world.reload(msg)
    assert msg.status == "failed" and "503" in (msg.last_error or "")


def test_a_broken_template_fails_the_message_with_the_error(world: World) -> None:
    msg = world.queue(template=(None, "Hi {{ nobody.name }}"))
    assert msg.status == "failed" and msg.reasons[0]["code"] == "template_error"
    assert "nobody" in msg.reasons[0]["message"]


def test_without_an_sms_number_texts_are_suppressed_with_the_reason(world: World) -> None:
    world.company.sms_number = None
    assert world.queue().reasons[0]["code"] == "no_sms_number"


def test_pending_carrier_registration_holds_texts_with_the_reason(world: World) -> None:
    world.company.sms_registration = "pending"
    assert world.queue().reasons[0]["code"] == "sender_not_registered"


def test_a_text_is_not_begun_once_the_workers_claim_is_running_out(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    """DESIGN.md principle 1: another worker may take over a batch whose claim ran out,
    find its texts `sending` and ask the provider. A send begun that late by the first
    worker would arrive after that check, as a second copy; so it is not begun."""
    msg = world.queue()
    start = utcnow()
    ticks = iter([start])  # the claim is stamped at `start`; every later reading is 50 s on
    slow = Worker(
        session_factory,
        name="slow",
        clock=lambda: next(ticks, start + timedelta(seconds=50)),
        config=WorkerConfig(visibility_timeout=60, backoff_base=0.0, backoff_cap=0.0),
    )
    slow.run_once()
    msg = world.reload(msg)
    assert world.sms.sent == [], "nothing may start in the last third of a 60 s claim"
    assert msg.status == "sending" and "claim" in (msg.last_error or "")
    world.session.execute(OutboxJob.__table__.update().values(run_at=utcnow()))
    world.session.commit()
    world.deliver()  # the next attempt asks the provider first, then sends once
    msg = world.reload(msg)
    assert msg.status == "sent" and len(world.sms.sent) == 1 and world.sms.lookups == 1


def test_worker_threads_of_one_process_have_their_own_names(
    session_factory: sessionmaker[Session],
) -> None:
    # The outbox's `locked_by` guards tell claims apart by worker name.
    names = {Worker(session_factory).name for _ in range(4)}
    assert len(names) == 4
