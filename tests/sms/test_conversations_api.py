"""Conversations over HTTP: lists, threads, replies from the company number, tenancy."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.sms.conftest import MARIA, NUMBER, Shop


def test_the_list_shows_threads_and_filters_by_any_routed_user(shop: Shop) -> None:
    tom, priya = shop.users["tom"], shop.users["priya"]
    appointment = shop.visit([tom, priya])
    shop.on_my_way(appointment, tom)
    shop.text("gate code 1234")
    shop.text("hi, quote please?", sender="+19195550177")
    items = shop.api.get("/v1/conversations").json()["items"]
    assert {tuple(sorted(i)) for i in items} == {
        tuple(
            sorted(
                [
                    "id",
                    "phone",
                    "customer_id",
                    "contact_id",
                    "assigned_user_id",
                    "assigned_user_ids",
                    "route_reason",
                    "keyword_status",
                    "last_message_at",
                ]
            )
        )
    }
    for user in (tom, priya):
        mine = shop.api.get("/v1/conversations", params={"assigned_user_id": user}).json()
        assert [c["phone"] for c in mine["items"]] == [MARIA]
    office = shop.api.get(
        "/v1/conversations", params={"assigned_user_id": shop.users["admin"]}
    ).json()
    assert [c["phone"] for c in office["items"]] == ["+19195550177"]
    page = shop.api.get("/v1/conversations", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]


def test_a_reply_goes_out_from_the_company_number_through_the_outbox(shop: Shop) -> None:
    shop.text("Are you coming today?")
    thread = shop.thread()
    r = shop.api.post(
        f"/v1/conversations/{thread['id']}/messages",
        json={"body": "Yes, between 2 and 4.", "user_id": shop.users["dispatcher"]},
    )
    assert r.status_code == 201, r.text
    reply = r.json()
    assert reply["direction"] == "outbound" and reply["status"] == "queued"
    assert reply["user_id"] == shop.users["dispatcher"]
    shop.deliver()
    [(_, sms)] = shop.sms.sent
    assert (sms.to, sms.from_, sms.body) == (MARIA, NUMBER, "Yes, between 2 and 4.")
    messages = shop.thread()["messages"]
    assert [m["direction"] for m in messages] == ["inbound", "outbound"]
    assert messages[1]["status"] == "sent"


def test_a_reply_to_a_customer_without_job_notifications_still_goes_it_is_conversational(
    shop: Shop,
) -> None:
    shop.api.patch(f"/v1/contact-methods/{shop.method_id}", json={"job_notifications": False})
    shop.text("What time tomorrow?")
    thread = shop.thread()
    r = shop.api.post(f"/v1/conversations/{thread['id']}/messages", json={"body": "At 9."})
    assert r.json()["status"] == "queued"


def test_a_reply_after_stop_is_held_with_the_reason(shop: Shop) -> None:
    shop.text("STOP")
    thread = shop.thread()
    r = shop.api.post(f"/v1/conversations/{thread['id']}/messages", json={"body": "Sorry!"})
    assert r.status_code == 201
    assert r.json()["status"] == "suppressed"
    assert r.json()["reasons"][0]["code"] == "opted_out_by_keyword"
    shop.deliver()
    assert shop.sms.sent == []


def test_a_reply_with_the_same_idempotency_key_is_sent_once(shop: Shop) -> None:
    shop.text("hello")
    thread = shop.thread()
    url = f"/v1/conversations/{thread['id']}/messages"
    first = shop.api.post(url, json={"body": "Hi!"}, headers={"Idempotency-Key": "k1"}).json()
    again = shop.api.post(url, json={"body": "Hi!"}, headers={"Idempotency-Key": "k1"}).json()
    assert first["id"] == again["id"]
    assert len(shop.logged("conversation_reply")) == 1


def test_another_companys_conversation_is_a_404(shop: Shop, rival_api: TestClient) -> None:
    shop.text("hello")
    thread = shop.thread()
    cid, mid = thread["id"], thread["messages"][0]["id"]
    assert rival_api.get(f"/v1/conversations/{cid}").status_code == 404
    assert rival_api.post(f"/v1/conversations/{cid}/messages", json={"body": "x"}).status_code == (
        404
    )
    confirm = f"/v1/conversations/{cid}/messages/{mid}/confirm-opt-out"
    assert rival_api.post(confirm).status_code == 404
    assert rival_api.get("/v1/conversations").json()["items"] == []
    r = shop.api.post(f"/v1/conversations/{cid}/messages", json={"body": "x", "user_id": 10_000})
    assert r.status_code == 404


def test_the_conversations_api_needs_a_key(shop: Shop) -> None:
    assert shop.client.get("/v1/conversations").status_code == 401


def test_a_reply_in_a_thread_the_customer_never_started_is_held(shop: Shop) -> None:
    shop.api.post(f"/v1/contact-methods/{shop.method_id}/opt-in-requests")
    thread = shop.thread()
    r = shop.api.post(f"/v1/conversations/{thread['id']}/messages", json={"body": "Hi!"})
    assert r.json()["status"] == "suppressed"
    assert r.json()["reasons"][0]["code"] == "not_customer_initiated"
