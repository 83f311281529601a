"""Inbound texts over HTTP: signatures, threading, routing, retries."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldlink.channels.signatures import twilio_signature
from fieldlink.sms.models import SmsMessage
from tests.sms.conftest import MARIA, NUMBER, TOKEN, Shop, signed

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def forwards(shop: Shop) -> list[dict[str, object]]:
    return shop.messages(touchpoint="inbound_forward")


def test_an_unsigned_or_forged_inbound_text_is_403_and_changes_nothing(shop: Shop) -> None:
    form = {"From": MARIA, "To": NUMBER, "Body": "STOP", "MessageSid": "SMforged"}
    assert shop.client.post("/webhooks/sms/inbound", data=form).status_code == 403
    assert signed(shop.client, "/webhooks/sms/inbound", form, token="wrong").status_code == 403
    # A signature made for another body: the tampered post must not pass.
    other = twilio_signature(
        TOKEN, "http://testserver/webhooks/sms/inbound", {**form, "Body": "hi"}
    )
    r = shop.client.post("/webhooks/sms/inbound", data=form, headers={"X-Twilio-Signature": other})
    assert r.status_code == 403 and r.json()["code"] == "invalid_signature"
    assert shop.method_status() == "none"
    assert shop.api.get("/v1/conversations").json()["items"] == []
    assert shop.session.scalar(select(func.count()).select_from(SmsMessage)) == 0


def test_a_text_from_a_customer_is_threaded_and_routed_to_the_point_of_contact(
    shop: Shop,
) -> None:
    shop.api.patch("/v1/company", json={"point_of_contact_user_id": shop.users["dispatcher"]})
    r = shop.text("Can you come after 2pm?")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert r.text == EMPTY
    thread = shop.thread()
    assert thread["customer_id"] == shop.customer_id and thread["contact_id"] == shop.contact_id
    assert thread["assigned_user_id"] == shop.users["dispatcher"]
    assert thread["route_reason"] == "point_of_contact"
    [text] = thread["messages"]
    assert text["direction"] == "inbound" and text["body"] == "Can you come after 2pm?"
    [notice] = forwards(shop)
    assert notice["user_id"] == shop.users["dispatcher"] and notice["channel"] == "email"
    assert "Can you come after 2pm?" in str(notice["body"]) and "Maria Smith" in str(
        notice["subject"]
    )


def test_without_a_point_of_contact_the_lowest_owner_or_admin_gets_the_text(shop: Shop) -> None:
    shop.text("hello?")
    thread = shop.thread()
    assert thread["assigned_user_ids"] == [shop.users["admin"]]  # admin's id < owner's
    assert thread["route_reason"] == "lowest_owner_admin"


def test_a_text_during_a_visit_in_progress_goes_to_every_technician_of_it(shop: Shop) -> None:
    tom, priya = shop.users["tom"], shop.users["priya"]
    appointment = shop.visit([tom, priya])
    shop.on_my_way(appointment, tom)
    shop.text("The gate code is 1234")
    thread = shop.thread()
    assert thread["assigned_user_ids"] == sorted([tom, priya])
    assert thread["route_reason"] == "job_in_progress"
    notices = forwards(shop)
    assert {n["user_id"] for n in notices} == {tom, priya}
    assert all(n["channel"] == "sms" and n["appointment_id"] == appointment for n in notices)
    shop.deliver()
    sent = {sms.to: sms for _, sms in shop.sms.sent}  # also Maria's "on my way" notice
    for phone in ("+19195550131", "+19195550132"):
        assert sent[phone].from_ == NUMBER and "The gate code is 1234" in sent[phone].body


def test_a_working_status_also_puts_the_visit_in_progress(shop: Shop) -> None:
    tom = shop.users["tom"]
    appointment = shop.visit([tom])
    shop.status(appointment, tom, "Working")
    shop.text("Door is open")
    assert shop.thread()["assigned_user_ids"] == [tom]


def test_a_scheduled_visit_nobody_started_does_not_capture_texts(shop: Shop) -> None:
    shop.visit([shop.users["tom"]])
    shop.text("See you tomorrow")
    assert shop.thread()["route_reason"] == "lowest_owner_admin"


def test_once_the_visit_is_complete_texts_go_back_to_the_office(shop: Shop) -> None:
    tom = shop.users["tom"]
    appointment = shop.visit([tom])
    shop.on_my_way(appointment, tom)
    shop.text("almost home")
    assert shop.thread()["assigned_user_ids"] == [tom]
    shop.status(appointment, tom, "Complete")
    shop.text("thanks, all good")
    thread = shop.thread()
    assert thread["assigned_user_ids"] == [shop.users["admin"]]
    assert [m["routed_user_ids"] for m in thread["messages"]] == [[tom], [shop.users["admin"]]]


def test_an_unknown_sender_gets_a_thread_of_its_own_routed_to_the_office(shop: Shop) -> None:
    r = shop.text("Do you service heat pumps?", sender="+19195550177")
    assert r.status_code == 200
    thread = shop.thread("+19195550177")
    assert thread["customer_id"] is None and thread["contact_id"] is None
    assert thread["assigned_user_ids"] == [shop.users["admin"]]
    [notice] = forwards(shop)
    assert "+19195550177" in str(notice["subject"])


def test_a_webhook_retry_is_recognised_by_message_sid_and_changes_nothing(shop: Shop) -> None:
    first = shop.text("Is Tom coming today?", sid="SMretry1")
    again = shop.text("Is Tom coming today?", sid="SMretry1")
    assert first.status_code == again.status_code == 200
    assert len(shop.thread()["messages"]) == 1
    assert len(forwards(shop)) == 1


def test_a_retried_stop_replays_its_one_confirmation_and_changes_nothing(shop: Shop) -> None:
    # The provider retries only when it never got our answer, so the answer is replayed:
    # the customer still receives exactly one confirmation (CTIA §5.1.2).
    first = shop.text("STOP", sid="SMstop1")
    again = shop.text("STOP", sid="SMstop1")
    assert "unsubscribed" in first.text and again.text == first.text
    assert len(shop.consent_events()) == 1
    assert len(shop.thread()["messages"]) == 2  # the STOP and its confirmation


def test_a_text_to_a_number_that_is_not_ours_changes_nothing(shop: Shop) -> None:
    r = shop.text("hello", to="+19195550000")
    assert r.status_code == 200 and r.text == EMPTY
    assert shop.api.get("/v1/conversations").json()["items"] == []


def test_two_texts_from_one_number_share_one_thread(shop: Shop) -> None:
    shop.text("one")
    shop.text("two")
    assert [m["body"] for m in shop.thread()["messages"]] == ["one", "two"]
    assert len(shop.api.get("/v1/conversations").json()["items"]) == 1
