"""Marketing SMS (opt-in only, quiet hours, opt-out wording) and direct mail (CSV, labels)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fieldlink.messaging.models import Message, MessageEvent
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.worker import Worker
from tests.campaigns.conftest import Shop
from tests.campaigns.helpers import add_customer


def _first_tuesday_of_december_next_year() -> datetime:
    """Noon in New York (EST, no daylight saving) on a Tuesday that is always ahead of the
    real clock: the send endpoint stamps real time, so a fixed date would fall behind it
    one day and leave every outbox row not yet due (it did on 2026-12-01)."""
    first = datetime(datetime.now(UTC).year + 1, 12, 1, 17, 0, tzinfo=UTC)
    return first + timedelta(days=(1 - first.weekday()) % 7)


NOON_EASTERN = _first_tuesday_of_december_next_year()
LATE_EASTERN = NOON_EASTERN + timedelta(hours=9, minutes=30)  # 21:30 in New York


def sms_campaign(shop: Shop) -> dict[str, object]:
    return shop.campaign(
        channel="marketing_sms", subject=None, template="{{ company.name }}: 20% off tune-ups!"
    )


def run_at(shop: Shop, when: datetime) -> None:
    worker = Worker(shop.worker.factory, name="clock", clock=lambda: when)
    while worker.run_once():
        pass
    shop.session.expire_all()


def test_marketing_texts_go_only_to_opted_in_numbers_with_opt_out_wording(shop: Shop) -> None:
    # TCPA (47 CFR 64.1200) prior express written consent; CTIA: opt-out in every message.
    add_customer(shop, "In", phone="+19195550101", sms_status="opted_in")
    add_customer(shop, "Pending", phone="+19195550102", sms_status="pending")
    add_customer(shop, "Out", phone="+19195550103", sms_status="opted_out")
    add_customer(shop, "None", phone="+19195550104", sms_status="none")
    campaign = sms_campaign(shop)
    preview = shop.api.post(f"/v1/campaigns/{campaign['id']}/preview").json()
    assert preview["eligible"] == 1 and preview["blocked"]["no_marketing_sms_opt_in"] == 3
    assert preview["rendered"]["body"].endswith("Reply STOP to opt out.")
    assert (preview["rendered"]["segments"], preview["rendered"]["encoding"]) == (1, "GSM-7")
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    run_at(shop, NOON_EASTERN)
    [(_, text)] = shop.sms.sent
    assert text.to == "+19195550101" and text.from_ == "+19195550199"
    assert text.body == "Company acme: 20% off tune-ups! Reply STOP to opt out."


def test_a_text_during_quiet_hours_is_deferred_to_the_recipients_morning(shop: Shop) -> None:
    # TCPA 47 CFR 64.1200(c)(1): 8 am-9 pm at the called party's location; deferred, not dropped.
    add_customer(shop, "NY", phone="+12125550101")  # area code 212: New York
    add_customer(
        shop, "LA", phone="+19195550102", location={"time_zone": "America/Los_Angeles"}
    )  # the location's zone wins over the 919 area code
    campaign = shop.campaign(
        channel="marketing_sms", subject=None, template="Sale today", scheduled_at=None
    )
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    run_at(shop, LATE_EASTERN)
    assert [t.to for _, t in shop.sms.sent] == ["+19195550102"]  # 18:30 in Los Angeles
    ny = shop.session.scalar(select(Message).where(Message.to == "+12125550101"))
    assert ny is not None and ny.status == "queued"
    detail = shop.session.scalars(
        select(MessageEvent.detail).where(MessageEvent.message_id == ny.id)
    ).all()
    assert any("quiet hours" in (d or "") for d in detail)
    job = shop.session.scalar(
        select(OutboxJob).where(OutboxJob.payload["message_id"].as_integer() == ny.id)
    )
    assert job is not None and job.run_at == NOON_EASTERN + timedelta(hours=20)  # 08:00 next day
    run_at(shop, NOON_EASTERN + timedelta(hours=20, minutes=1))
    assert [t.to for _, t in shop.sms.sent] == ["+19195550102", "+12125550101"]


def test_an_opt_out_after_queueing_wins_for_texts(shop: Shop) -> None:
    _, method = add_customer(shop, "In", phone="+19195550101")
    campaign = sms_campaign(shop)
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    run_at(shop, LATE_EASTERN)  # queued, then held for the night
    assert method is not None
    method.marketing_sms_status = "opted_out"  # a STOP arrives before morning
    shop.session.commit()
    run_at(shop, LATE_EASTERN + timedelta(hours=12))
    assert shop.sms.sent == []
    msg = shop.session.scalar(select(Message).where(Message.touchpoint == "campaign"))
    assert msg is not None and msg.status == "suppressed"
    assert msg.reasons[0]["code"] == "no_marketing_sms_opt_in"


def test_direct_mail_lists_eligible_addresses_as_csv_and_avery_5160_labels(shop: Shop) -> None:
    for i in range(31):
        add_customer(shop, f"Customer {i:02d}", location={"line1": f"{i} Elm St"})
    add_customer(shop, "=HYPERLINK(1)", location={"line1": "1 Formula Rd"})
    add_customer(shop, "Dnm", location={"line1": "9 Quiet Ln"}, do_not_mail=True)
    add_customer(shop, "No Zip", location={"line1": "5 Vague St", "postcode": None})
    campaign = shop.campaign(channel="direct_mail", subject=None, template="")
    r = shop.api.get(f"/v1/campaigns/{campaign['id']}/direct-mail.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 32
    assert rows[0]["line1"] == "0 Elm St" and rows[0]["postcode"] == "27601"
    assert rows[-1]["name"] == "'=HYPERLINK(1)"  # no formula injection into spreadsheets
    assert "9 Quiet Ln" not in r.text and "5 Vague St" not in r.text
    pdf = shop.api.get(f"/v1/campaigns/{campaign['id']}/direct-mail.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    body = pdf.content
    assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
    assert re.search(rb"/Count 2\b", body)  # 32 labels: 30 on page one, 2 on page two
    assert body.count(b"/MediaBox [0 0 612 792]") == 2  # US letter
    assert b"(0 Elm St) '" in body and b"(Raleigh, NC 27601) '" in body
    report = shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    assert report.status_code == 202 and report.json()["status"] == "sent"
    numbers = shop.api.get(f"/v1/campaigns/{campaign['id']}/report").json()
    assert numbers["sent"] == 32
    assert numbers["suppressed"] == {"do_not_mail": 1, "invalid_postal_address": 1}


def test_a_fourth_marketing_text_in_a_day_to_florida_waits(shop: Shop) -> None:
    # Fla. Stat. 501.059(8)(b): at most three marketing texts to a number in 24 hours.
    number = "+13055550101"  # area code 305: Miami, Florida
    add_customer(shop, "Flo", phone=number)
    for hours in (2, 5, 9):
        shop.session.add(
            Message(
                company_id=shop.company.id,
                touchpoint="campaign",
                channel="sms",
                to=number,
                status="sent",
                body="earlier offer",
                reasons=[],
                sent_at=NOON_EASTERN - timedelta(hours=hours),
            )
        )
    shop.session.commit()
    campaign = sms_campaign(shop)
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    run_at(shop, NOON_EASTERN)
    assert shop.sms.sent == []
    msg = shop.session.scalar(
        select(Message).where(Message.subject_ref == f"campaign:{campaign['id']}")
    )
    assert msg is not None and msg.status == "queued"
    job = shop.session.scalar(
        select(OutboxJob).where(OutboxJob.payload["message_id"].as_integer() == msg.id)
    )
    assert job is not None and job.run_at == NOON_EASTERN - timedelta(hours=9) + timedelta(hours=24)


def test_each_recipient_gets_a_text_with_their_own_first_name(shop: Shop) -> None:
    # The send handler reads its batch as plain rows; the campaign hook personalises each
    # text just before the send, and that personalised body is what goes out and is kept.
    add_customer(shop, "Ana Ruiz", phone="+19195550101")
    add_customer(shop, "Ben Okafor", phone="+19195550102")
    campaign = shop.campaign(
        channel="marketing_sms", subject=None, template="Hi {{ contact.first_name }}, 20% off!"
    )
    shop.api.post(f"/v1/campaigns/{campaign['id']}/send")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    run_at(shop, tomorrow.replace(hour=17, minute=0))  # midday in North Carolina
    sent = {text.to: text.body for _, text in shop.sms.sent}
    assert sent == {
        "+19195550101": "Hi Ana, 20% off! Reply STOP to opt out.",
        "+19195550102": "Hi Ben, 20% off! Reply STOP to opt out.",
    }
    kept = shop.session.scalars(select(Message.body).order_by(Message.to)).all()
    assert kept == [sent[to] for to in sorted(sent)]
