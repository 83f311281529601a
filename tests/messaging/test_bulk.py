"""Bulk queueing: the same decisions as ``queue_message``, written set-based, never doubled."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.accounts.models import Company
from fieldlink.channels.registry import Channels, configure
from fieldlink.consent.models import Suppression
from fieldlink.customers.models import Contact, ContactMethod, Customer
from fieldlink.db import utcnow
from fieldlink.messaging import handlers  # noqa: F401  (registers messaging.send)
from fieldlink.messaging.bulk import BulkResult, Intent, queue_messages
from fieldlink.messaging.models import Message
from fieldlink.messaging.service import queue_message
from fieldlink.messaging.templates import sample_variables
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.worker import Worker, WorkerConfig
from tests.conftest import Tenant
from tests.factories.customers import make_company, make_contact, make_customer, make_method
from tests.fakes.transports import FakeEmailTransport, FakeSmsTransport

Recipient = tuple[Customer, Contact, ContactMethod]


@dataclass
class Crowd:
    session: Session
    company: Company
    recipients: list[Recipient]


@pytest.fixture
def crowd(session: Session) -> Crowd:
    """Recipients covering each class of consent outcome for a transactional message."""
    return make_crowd(session, make_company(session))


@pytest.fixture
def tenant_crowd(session: Session, tenant: Tenant) -> Crowd:
    """The same crowd in the company the ``api`` client signs in to."""
    company = session.get(Company, tenant.company_id)
    assert company is not None
    return make_crowd(session, company)


def make_crowd(session: Session, company: Company) -> Crowd:
    company.sms_number, company.sender_email = "+19195550199", "svc@acme.example"
    company.sender_name = "Acme"
    out: list[Recipient] = []

    def add(kind: str, customer_kw: dict[str, object] | None = None, **method_kw: object) -> None:
        customer = make_customer(session, company_id=company.id, **(customer_kw or {}))
        contact = make_contact(session, company_id=company.id, customer_id=customer.id)
        method = make_method(
            session,
            company_id=company.id,
            customer_id=customer.id,
            contact_id=contact.id,
            kind=kind,
            **method_kw,
        )
        out.append((customer, contact, method))

    add("phone")  # a mobile: allowed
    add("phone", phone_type="landline")  # can't take texts
    add("phone", job_notifications=False)  # opted out of job notices
    add("phone", {"do_not_service": True})  # account flag blocks everything
    add("email")  # allowed
    add("email", value="bounced@example.com")  # suppressed: marketing only, so still told
    add("email", {"language": "es"})  # Spanish template
    # Same facts as the allowed address above but for the address itself: bulk decides each
    # combination of facts once, so this must not borrow the valid address's answer.
    add("email", value="not-an-address")
    add("phone", {"do_not_service": True}, job_notifications=False)  # two blockers at once
    session.add(Suppression(company_id=company.id, email="bounced@example.com", reason="bounce"))
    session.flush()
    return Crowd(session, company, out)


def _intents(crowd: Crowd, prefix: str) -> list[Intent]:
    return [
        Intent(
            touchpoint="service_reminder",
            channel="sms" if method.kind == "phone" else "email",
            customer=customer,
            contact=contact,
            method=method,
            variables=sample_variables(),
            idempotency_key=f"{prefix}:{method.id}",
        )
        for customer, contact, method in crowd.recipients
    ]


def test_bulk_decides_exactly_as_one_at_a_time(crowd: Crowd) -> None:
    session, now = crowd.session, utcnow()
    singles = [
        queue_message(
            session,
            company=crowd.company,
            touchpoint=i.touchpoint,
            channel=i.channel,
            customer=i.customer,
            contact=i.contact,
            method=i.method,
            variables=i.variables,
            idempotency_key=i.idempotency_key,
            now=now,
        )
        for i in _intents(crowd, "single")
    ]
    session.flush()
    bulk = queue_messages(session, company=crowd.company, intents=_intents(crowd, "bulk"), now=now)
    session.expire_all()
    for single, queued in zip(singles, bulk.messages, strict=True):
        stored = session.get(Message, queued.id)
        assert stored is not None
        assert (stored.status, stored.reasons) == (single.status, single.reasons)
        assert (stored.subject, stored.body, stored.to, stored.language) == (
            single.subject,
            single.body,
            single.to,
            single.language,
        )
    assert [q.status for q in bulk.messages] == [
        "queued",
        "suppressed",
        "suppressed",
        "suppressed",
        "queued",
        "queued",
        "queued",
        "suppressed",
        "suppressed",
    ]
    assert bulk.counts == {"queued": 4, "suppressed": 5}
    assert [r["code"] for r in bulk.messages[-1].reasons] == [
        "no_job_notifications",
        "do_not_service",
    ]


def test_every_bulk_message_has_history_and_only_queued_ones_an_outbox_job(
    tenant_crowd: Crowd, api: TestClient
) -> None:
    crowd = tenant_crowd
    session, now = crowd.session, utcnow()
    result = queue_messages(session, company=crowd.company, intents=_intents(crowd, "b"), now=now)
    session.commit()
    ids = [q.id for q in result.messages]
    for q in result.messages:
        history = api.get(f"/v1/messages/{q.id}").json()["history"]
        assert [h["status"] for h in history] == [q.status]
        if q.status == "suppressed":  # why not, from the first entry on
            assert history[0]["detail"] == ", ".join(r["code"] for r in q.reasons)
    jobs = session.scalars(select(OutboxJob.payload).where(OutboxJob.topic == "messaging.send"))
    queued = {q.id for q in result.messages if q.status == "queued"}
    assert {p["message_id"] for p in jobs} & set(ids) == queued


def test_a_bulk_message_shows_the_same_history_as_one_queued_alone(
    tenant_crowd: Crowd, api: TestClient, session_factory: sessionmaker[Session]
) -> None:
    """Bulk sends store no ``queued`` event per message (the log derives it from
    ``created_at``); through the API each message's history reads as before."""
    crowd = tenant_crowd
    session, now = crowd.session, utcnow()
    configure(Channels(email=FakeEmailTransport(), sms=FakeSmsTransport(), base_url="https://e"))
    singles = [
        queue_message(
            session,
            company=crowd.company,
            touchpoint=i.touchpoint,
            channel=i.channel,
            customer=i.customer,
            contact=i.contact,
            method=i.method,
            variables=i.variables,
            idempotency_key=i.idempotency_key,
            now=now,
        ).id
        for i in _intents(crowd, "single")
    ]
    bulk = queue_messages(session, company=crowd.company, intents=_intents(crowd, "bulk"), now=now)
    again = queue_messages(session, company=crowd.company, intents=_intents(crowd, "bulk"), now=now)
    session.commit()
    worker = Worker(session_factory, name="t", rng=random.Random(1), config=WorkerConfig())
    while worker.run_once():
        pass

    def shown(message_id: int) -> list[tuple[str, str | None]]:
        history = api.get(f"/v1/messages/{message_id}").json()["history"]
        # The provider's id differs per message: "provider id SMfake5" reads "provider id".
        return [
            (h["status"], h["detail"].rsplit(" ", 1)[0] if h["status"] == "sent" else h["detail"])
            for h in history
        ]

    for single, queued in zip(singles, bulk.messages, strict=True):
        assert shown(queued.id) == shown(single)
    assert [status for status, _ in shown(bulk.messages[0].id)] == ["queued", "sending", "sent"]
    assert [shown(q.id) for q in again.messages] == [
        [("suppressed", f"duplicate of message {q.duplicate_of_id}")] for q in again.messages
    ]


def test_repeating_a_bulk_send_records_duplicates_and_queues_nothing_more(crowd: Crowd) -> None:
    session, now = crowd.session, utcnow()
    first = queue_messages(session, company=crowd.company, intents=_intents(crowd, "r"), now=now)
    jobs_before = session.scalar(select(func.count()).select_from(OutboxJob))
    again = queue_messages(session, company=crowd.company, intents=_intents(crowd, "r"), now=now)
    assert session.scalar(select(func.count()).select_from(OutboxJob)) == jobs_before
    assert {q.status for q in again.messages} == {"suppressed"}
    assert [q.reasons[0]["code"] for q in again.messages] == ["duplicate"] * len(again.messages)
    assert [q.duplicate_of_id for q in again.messages] == [q.id for q in first.messages]


def test_the_same_key_twice_in_one_batch_sends_once(crowd: Crowd) -> None:
    session, now = crowd.session, utcnow()
    intents = _intents(crowd, "twice")[:1] * 2
    result = queue_messages(session, company=crowd.company, intents=intents, now=now)
    assert [q.status for q in result.messages] == ["queued", "suppressed"]
    assert result.messages[1].duplicate_of_id == result.messages[0].id


def test_bulk_messages_are_delivered_by_the_worker(
    crowd: Crowd, session_factory: sessionmaker[Session]
) -> None:
    session = crowd.session
    sms, mail = FakeSmsTransport(), FakeEmailTransport()
    configure(Channels(email=mail, sms=sms, base_url="https://engage.example"))
    result = queue_messages(
        session, company=crowd.company, intents=_intents(crowd, "d"), now=utcnow()
    )
    session.commit()
    worker = Worker(
        session_factory,
        name="t",
        rng=random.Random(1),
        config=WorkerConfig(backoff_base=0.0, backoff_cap=0.0),
    )
    while worker.run_once():
        pass
    session.expire_all()
    statuses = {q.id: session.get(Message, q.id).status for q in result.messages}  # type: ignore[union-attr]
    assert [statuses[q.id] for q in result.messages] == [
        "sent" if q.status == "queued" else q.status for q in result.messages
    ]
    assert len(sms.sent) == 1 and len(mail.sent) == 3  # the crowd's four allowed
    queued_ids = {f"flm-{q.id}" for q in result.messages if q.status == "queued"}
    assert {m.reference for m in mail.sent} | {s.reference for _, s in sms.sent} == queued_ids


def test_a_bulk_send_of_expired_recipients_neither_hangs_nor_lazy_loads_mid_copy(
    crowd: Crowd,
) -> None:
    """After a commit the recipients' ORM objects are expired. On PostgreSQL the rows go by
    COPY, which holds the connection: a recipient attribute loaded lazily inside the COPY
    waited for it forever (and its open transaction then blocked DROP DATABASE). The send
    runs in a thread with a deadline; a hang fails the test instead of the run."""
    session, now = crowd.session, utcnow()
    intents = _intents(crowd, "expired")
    session.expire_all()
    outcome: list[object] = []

    def send() -> None:
        try:
            outcome.append(queue_messages(session, company=crowd.company, intents=intents, now=now))
        except Exception as exc:  # reported below
            outcome.append(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    thread.join(timeout=60)
    if thread.is_alive():
        # Free the deadlock so the thread ends and the fixtures can roll back.
        lock = session.connection().connection.driver_connection.lock  # type: ignore[union-attr]
        lock.release()
        thread.join(timeout=30)
        pytest.fail("queue_messages hung with expired recipients (a lazy load inside COPY)")
    [result] = outcome
    assert isinstance(result, BulkResult), result
    assert result.counts == {"queued": 4, "suppressed": 5}
    stored = {
        m.id: (m.customer_id, m.contact_id, m.contact_method_id)
        for m in session.scalars(
            select(Message).where(Message.id.in_([q.id for q in result.messages]))
        )
    }
    assert [stored[q.id] for q in result.messages] == [
        (customer.id, contact.id, method.id) for customer, contact, method in crowd.recipients
    ]
