"""Set-based queueing: batches, a crash half-way, and the repeat that writes nothing twice."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from fieldlink.campaigns.labels import labels_pdf
from fieldlink.campaigns.models import Campaign
from fieldlink.campaigns.queries import MailingAddress
from fieldlink.campaigns.queueing import queue_campaign
from fieldlink.messaging.models import Message
from fieldlink.outbox.models import OutboxJob
from tests.campaigns.conftest import Shop
from tests.campaigns.helpers import add_customer
from tests.factories.customers import make_method


class Crash(Exception):
    pass


def test_a_send_cut_off_between_batches_resumes_without_doubles(shop: Shop) -> None:
    for i in range(7):
        add_customer(shop, f"C{i}", f"c{i}@example.com")
    add_customer(shop, "Blocked", "blocked@example.com", do_not_service=True)
    body = shop.campaign()
    campaign = shop.session.get(Campaign, body["id"])
    assert campaign is not None
    campaign.status = "sending"
    shop.session.commit()
    now = datetime.now(UTC)
    commits = 0

    def crash_after_two_batches() -> None:
        nonlocal commits
        shop.session.commit()
        commits += 1
        if commits == 3:  # the throttle start, then two batches of three customers
            raise Crash

    with pytest.raises(Crash):
        queue_campaign(
            shop.session,
            campaign=campaign,
            company=shop.company,
            now=now,
            checkpoint=crash_after_two_batches,
            batch_customers=3,
        )
    shop.session.rollback()
    assert shop.session.scalar(select(func.count()).select_from(Message)) == 6
    added = queue_campaign(
        shop.session,
        campaign=campaign,
        company=shop.company,
        now=now,
        checkpoint=shop.session.commit,
        batch_customers=3,
    )
    assert added == 1
    again = queue_campaign(
        shop.session,
        campaign=campaign,
        company=shop.company,
        now=now,
        checkpoint=shop.session.commit,
        batch_customers=3,
    )
    assert again == 0
    recipients = shop.session.scalars(select(Message.customer_id)).all()
    assert len(recipients) == len(set(recipients)) == 7
    jobs = shop.session.scalar(
        select(func.count()).select_from(OutboxJob).where(OutboxJob.topic == "messaging.send")
    )
    assert jobs == 7  # one delivery job per message, none for the repeat
    assert campaign.queued == 7 and campaign.queued_at is not None
    assert campaign.snapshot["blocked"]["do_not_service"] == 1


def test_the_labels_pdf_is_well_formed() -> None:
    addresses = [
        MailingAddress(
            i, f"Name (#{i}) \\ ok", f"{i} Main St", None, "Raleigh", "NC", "27601", "US"
        )
        for i in range(61)
    ]
    pdf = labels_pdf(addresses)
    # Every xref offset points at its object, and startxref at the table.
    startxref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[startxref:].startswith(b"xref")
    offsets = [int(x) for x in re.findall(rb"(\d{10}) 00000 n", pdf)]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert re.search(rb"/Count 3\b", pdf)  # 61 labels: 30 + 30 + 1
    assert b"(Name \\(#0\\) \\\\ ok) Tj" in pdf  # parentheses and backslashes escaped
    assert labels_pdf([]).count(b"/Type /Page ") == 1  # an empty list still prints a page


def test_a_parallel_send_writes_each_recipient_once_even_after_a_part_fails(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL writes a whole audience in two customer-id ranges at once, on their own
    connections (so here on a real engine, not the suite's rolled-back connection). One
    part fails: the other's rows stay, the retry adds only the missing ones, no throttle
    slot is shared, and every recipient has exactly one message and one delivery job."""
    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("parallel parts are a PostgreSQL path (SQLite has one writer)")
    from fieldlink.accounts.service import create_company
    from fieldlink.campaigns import queueing
    from fieldlink.db import make_engine, make_sessionmaker
    from fieldlink.migrate import upgrade
    from tests.factories.customers import make_contact, make_customer, make_method

    engine = make_engine(fresh_database_url)
    upgrade(engine)
    session = make_sessionmaker(engine)()
    company = create_company(session, name="Parallel Heating", company_code="par")
    company.sender_email = "offers@par.example"
    company.postal_address = "1 Main St, Raleigh, NC 27601"
    company.settings = {**(company.settings or {}), "campaign_messages_per_minute": 30}
    session.flush()
    for i in range(40):
        customer = make_customer(session, company_id=company.id, do_not_service=(i % 10 == 3))
        contact = make_contact(session, company_id=company.id, customer_id=customer.id)
        make_method(
            session,
            company_id=company.id,
            customer_id=customer.id,
            contact_id=contact.id,
            value=f"p{i}@example.com",
        )
    campaign = Campaign(
        company_id=company.id,
        name="Parallel",
        channel="email",
        subject="Hi",
        template="Hi",
        status="sending",
    )
    session.add(campaign)
    session.commit()
    monkeypatch.setattr(queueing, "MIN_PARALLEL_CUSTOMERS", 0)
    real_tune = queueing.tune_for_bulk_read
    started: list[str] = []
    lock = threading.Lock()

    def second_part_dies(connection: Any) -> None:
        """The first part to start runs; the second fails before writing anything."""
        with lock:
            started.append(threading.current_thread().name)
            if len(started) == 2:
                raise Crash
        real_tune(connection)

    now = datetime.now(UTC)
    monkeypatch.setattr(queueing, "tune_for_bulk_read", second_part_dies)
    with pytest.raises(Crash):
        queue_campaign(
            session, campaign=campaign, company=company, now=now, checkpoint=session.commit
        )
    session.rollback()
    written = session.scalar(select(func.count()).select_from(Message))
    assert written is not None and 0 < written < 36  # one part committed, the other not
    monkeypatch.setattr(queueing, "tune_for_bulk_read", real_tune)
    added = queue_campaign(
        session, campaign=campaign, company=company, now=now, checkpoint=session.commit
    )
    assert added == 36 - written
    assert (
        queue_campaign(
            session, campaign=campaign, company=company, now=now, checkpoint=session.commit
        )
        == 0
    )
    rows = session.execute(select(Message.customer_id, Message.send_after, Message.id)).all()
    assert len(rows) == len({who for who, _, _ in rows}) == 36  # 4 do-not-service left out
    slots = [at for _, at, _ in rows]
    assert len(set(slots)) == 36  # no two recipients share a throttle slot
    minutes = Counter(int((at - min(slots)).total_seconds()) // 60 for at in slots)
    assert max(minutes.values()) <= 30  # the company's messages per minute
    jobs = (
        session.execute(select(OutboxJob.payload).where(OutboxJob.topic == "messaging.send"))
        .scalars()
        .all()
    )
    assert sorted(j["message_id"] for j in jobs) == sorted(i for _, _, i in rows)
    session.refresh(campaign)
    assert campaign.queued == 36 and campaign.last_slot_at == max(slots)
    session.close()
    engine.dispose()


def _queue(shop: Shop, campaign: Campaign) -> int:
    return queue_campaign(
        shop.session,
        campaign=campaign,
        company=shop.company,
        now=datetime.now(UTC),
        checkpoint=shop.session.commit,
    )


def _sending(shop: Shop, **fields: Any) -> Campaign:
    campaign = shop.session.get(Campaign, shop.campaign(**fields)["id"])
    assert campaign is not None
    campaign.status = "sending"
    shop.session.commit()
    return campaign


def test_a_repeated_send_queues_one_text_per_number_and_one_email_per_customer(
    shop: Shop,
) -> None:
    """Campaign messages are unique on (campaign, number) for texts and (campaign,
    customer) for email, without a text idempotency key (migration 0014)."""
    customer, phone = add_customer(shop, "Maria Lopez", "maria@example.com", phone="+19195550101")
    assert phone is not None
    make_method(
        shop.session,
        company_id=shop.company.id,
        customer_id=customer.id,
        contact_id=phone.contact_id,
        kind="phone",
        value="+19195550102",
        marketing_sms_status="opted_in",
    )
    shop.session.commit()
    texts = _sending(shop, channel="marketing_sms", subject=None, template="20% off!")
    assert _queue(shop, texts) == 2 and _queue(shop, texts) == 0
    email = _sending(shop)
    assert _queue(shop, email) == 1
    make_method(
        shop.session,
        company_id=shop.company.id,
        customer_id=customer.id,
        contact_id=phone.contact_id,
        value="maria.lopez@example.com",
    )
    shop.session.commit()
    assert _queue(shop, email) == 0  # a new address is still the same customer
    rows = shop.session.execute(
        select(Message.campaign_id, Message.channel, Message.to, Message.idempotency_key)
    ).all()
    assert sorted((c, ch, to) for c, ch, to, _ in rows) == sorted(
        [
            (texts.id, "sms", "+19195550101"),
            (texts.id, "sms", "+19195550102"),
            (email.id, "email", "maria@example.com"),
        ]
    )
    assert {key for *_, key in rows} == {None}


def test_a_send_begun_before_the_upgrade_resumes_without_doubles(shop: Shop) -> None:
    """Rows an older version wrote have a text key and no campaign_id (before migration
    0014): a resumed send adopts them and queues only the rest."""
    for i in range(5):
        add_customer(shop, f"C{i}", f"c{i}@example.com")
    campaign = _sending(shop)
    assert _queue(shop, campaign) == 5
    old = shop.session.scalars(select(Message).order_by(Message.id).limit(3)).all()
    for message in old:
        message.campaign_id = None
        message.idempotency_key = f"{campaign.ref}:{message.customer_id}"
    shop.session.execute(
        Message.__table__.delete().where(Message.id.not_in([m.id for m in old]))  # type: ignore[attr-defined]
    )
    shop.session.commit()
    assert _queue(shop, campaign) == 2
    customers = shop.session.scalars(select(Message.customer_id)).all()
    assert len(customers) == len(set(customers)) == 5
