"""An ordinary inbound text is recorded by the webhook and threaded by a worker.

The webhook answers once the text is durable (an ``sms.receive`` outbox job committed);
a worker threads it, routes it and tells the person it was routed to. Keywords are still
applied before the webhook answers, so consent never waits for a worker.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from fieldlink.db import utcnow
from fieldlink.outbox.models import OutboxJob
from fieldlink.sms import inbound
from fieldlink.sms.inbound import RECEIVE_TOPIC
from tests.sms.conftest import MARIA, NUMBER, TOKEN, Shop, receive

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def jobs(shop: Shop) -> list[OutboxJob]:
    shop.session.expire_all()
    return list(
        shop.session.scalars(
            select(OutboxJob).where(OutboxJob.topic == RECEIVE_TOPIC).order_by(OutboxJob.id)
        )
    )


def conversations(shop: Shop) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = shop.api.get("/v1/conversations").json()["items"]
    return items


def test_an_ordinary_text_is_durable_before_the_200_and_routed_by_the_worker(
    shop: Shop,
) -> None:
    r = shop.text("Can you come after 2pm?", sid="SMlater", threaded=False)
    assert r.status_code == 200 and r.text == EMPTY
    # Answered: the text is committed as a job, not yet in a thread or forwarded.
    [job] = jobs(shop)
    assert job.status == "pending" and job.payload["body"] == "Can you come after 2pm?"
    assert job.payload["from"] == MARIA and job.payload["sid"] == "SMlater"
    assert conversations(shop) == []
    assert shop.messages(touchpoint="inbound_forward") == []

    assert receive(shop.factory) == 1
    thread = shop.thread()
    [text] = thread["messages"]
    assert text["body"] == "Can you come after 2pm?" and text["direction"] == "inbound"
    assert thread["route_reason"] == "lowest_owner_admin"
    [notice] = shop.messages(touchpoint="inbound_forward")
    assert notice["user_id"] == shop.users["admin"]
    # Done, and its words and sender no longer sit in the outbox (retention and erasure
    # reach the thread, not the outbox).
    [job] = jobs(shop)
    assert job.status == "done" and job.payload == {}


def test_the_text_keeps_the_time_it_was_received_not_the_time_it_was_threaded(
    shop: Shop,
) -> None:
    shop.text("first", sid="SMa", threaded=False)
    [job] = jobs(shop)
    received_at = job.payload["received_at"]
    # A STOP after it is applied by the webhook at once; the earlier text is threaded later.
    stop = shop.text("STOP", sid="SMb", threaded=False)
    assert "unsubscribed" in stop.text
    assert shop.method_status() == "opted_out"  # consent did not wait for the worker
    receive(shop.factory)
    messages = shop.thread()["messages"]
    assert [m["body"] for m in messages][:2] == ["first", "STOP"]
    assert messages[0]["at"].replace("Z", "+00:00")[:19] == received_at[:19]
    # The thread's latest time is still the STOP's answer, not the late-threaded text's.
    [conversation] = conversations(shop)
    assert conversation["last_message_at"] == messages[-1]["at"]


def test_a_retried_text_queues_nothing_new_before_or_after_it_was_threaded(
    shop: Shop,
) -> None:
    shop.text("Is Tom coming?", sid="SMdup", threaded=False)
    shop.text("Is Tom coming?", sid="SMdup", threaded=False)  # retry while still queued
    assert len(jobs(shop)) == 1
    receive(shop.factory)
    again = shop.text("Is Tom coming?", sid="SMdup")  # retry after it was threaded
    assert again.status_code == 200 and again.text == EMPTY
    assert len(jobs(shop)) == 1
    assert len(shop.thread()["messages"]) == 1
    assert len(shop.messages(touchpoint="inbound_forward")) == 1


def test_the_same_message_sid_to_two_numbers_is_two_texts() -> None:
    # The dedupe key is the number and the MessageSid: another company's number (or a
    # provider that reuses ids per number) never swallows a text.
    other = "+19195550198"
    key_one, _ = inbound.received({"To": NUMBER, "MessageSid": "SMx"}, utcnow())
    key_two, _ = inbound.received({"To": other, "MessageSid": "SMx"}, utcnow())
    assert key_one != key_two


def test_a_text_that_fails_to_thread_is_retried_alone_and_the_rest_go_through(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldlink.sms import handlers

    real = handlers.receive_recorded

    def flaky(session: Any, payload: Any, **kw: Any) -> Any:
        if payload["sid"] == "SMbad":
            raise RuntimeError("database hiccup")
        return real(session, payload, **kw)

    monkeypatch.setattr(handlers, "receive_recorded", flaky)
    shop.text("one", sid="SMok1", threaded=False)
    shop.text("two", sid="SMbad", threaded=False)
    shop.text("three", sid="SMok2", threaded=False)
    receive(shop.factory)
    assert [m["body"] for m in shop.thread()["messages"]] == ["one", "three"]
    bad = next(j for j in jobs(shop) if j.dedupe_key and j.dedupe_key.endswith(":SMbad"))
    assert bad.status == "pending" and "database hiccup" in (bad.last_error or "")
    assert bad.payload["body"] == "two"  # kept until it is threaded

    monkeypatch.setattr(handlers, "receive_recorded", real)
    shop.session.execute(
        OutboxJob.__table__.update().where(OutboxJob.id == bad.id).values(run_at=bad.created_at)
    )
    shop.session.commit()
    receive(shop.factory)
    # Threaded in the place it was received, between the other two.
    assert [m["body"] for m in shop.thread()["messages"]] == ["one", "two", "three"]


@pytest.mark.parametrize("body", ["STOP", "start", "HELP", "Yes"])
def test_keywords_are_applied_by_the_webhook_itself(shop: Shop, body: str) -> None:
    # CTIA §5.1: keywords are answered in the webhook's own reply; TCPA 47 CFR
    # 64.1200(a)(10): an opt-out is honoured before the 200, never left to a worker.
    shop.text(body, threaded=False)
    assert jobs(shop) == []
    assert shop.thread()["messages"][0]["body"] == body


def test_the_route_answers_a_form_the_lane_does_not_take_the_same_way(shop: Shop) -> None:
    # A multipart form is not the lane's (urlencoded only): the router's route records it.
    from fieldlink.channels.signatures import twilio_signature

    form = {"From": MARIA, "To": NUMBER, "Body": "hello", "MessageSid": "SMmultipart"}
    signature = twilio_signature(TOKEN, "http://testserver/webhooks/sms/inbound", form)
    r = shop.client.post(
        "/webhooks/sms/inbound",
        files={k: (None, v) for k, v in form.items()},
        headers={"X-Twilio-Signature": signature},
    )
    assert r.status_code == 200 and r.text == EMPTY, r.text
    assert len(jobs(shop)) == 1 and conversations(shop) == []
    receive(shop.factory)
    assert [m["body"] for m in shop.thread()["messages"]] == ["hello"]


def test_texts_claimed_by_a_worker_that_died_are_threaded_once_by_another(shop: Shop) -> None:
    # DESIGN.md principle 1: a worker killed mid-batch leaves its claim to expire; the next
    # worker threads every text exactly once (the batch committed nothing, and MessageSid
    # is unique per company besides).
    import random
    from datetime import timedelta

    from fieldlink.outbox.worker import Worker

    for i in range(3):
        shop.text(f"text {i}", sid=f"SMdead{i}", threaded=False)
    dead = Worker(shop.factory, name="dead", topics=[RECEIVE_TOPIC], rng=random.Random(1))
    assert len(dead.claim()) == 3  # ...and then it is SIGKILLed before threading any
    later = utcnow() + timedelta(seconds=dead.config.visibility_timeout + 1)
    heir = Worker(
        shop.factory, name="heir", topics=[RECEIVE_TOPIC], clock=lambda: later, rng=random.Random(2)
    )
    assert heir.run_once() == 3
    assert heir.run_once() == 0
    assert [m["body"] for m in shop.thread()["messages"]] == ["text 0", "text 1", "text 2"]
    assert len(shop.messages(touchpoint="inbound_forward")) == 3
    assert all(j.status == "done" and j.attempts == 2 for j in jobs(shop))
