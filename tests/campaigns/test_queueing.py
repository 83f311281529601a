"""Set-based queueing: batches, a crash half-way, and the repeat that writes nothing twice."""

from __future__ import annotations

import re
from datetime import UTC, datetime

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
    keys = shop.session.scalars(select(Message.idempotency_key)).all()
    assert len(keys) == len(set(keys)) == 7
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
