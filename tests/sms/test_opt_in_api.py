"""Opt-in requests over HTTP: from the office and the public form, answered by YES."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories.customers import make_method
from tests.sms.conftest import MARIA, Shop


def request(shop: Shop, method_id: int | None = None) -> object:
    return shop.api.post(f"/v1/contact-methods/{method_id or shop.method_id}/opt-in-requests")


def test_the_office_texts_an_opt_in_request_and_yes_opts_the_number_in(shop: Shop) -> None:
    r = shop.api.post(f"/v1/contact-methods/{shop.method_id}/opt-in-requests")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending" and r.json()["phone"] == MARIA
    assert shop.method_status() == "pending"
    shop.deliver()
    [(_, sms)] = shop.sms.sent
    assert "reply YES" in sms.body and sms.to == MARIA
    answer = shop.text("Yes!", sid="SMyes")
    assert answer.text.count("<Message>") == 1 and "subscribed" in answer.text
    assert shop.method_status() == "opted_in"
    [req] = shop.api.get(f"/v1/contact-methods/{shop.method_id}/opt-in-requests").json()["items"]
    assert req["status"] == "confirmed" and req["answered_at"]
    opted = [e for e in shop.consent_events() if e.new_value == "opted_in"]
    assert [(e.source, e.wording, e.reference) for e in opted] == [
        ("opt_in_request", "Yes!", "SMyes")
    ]
    assert "<Message>" not in shop.text("YES").text  # no change, no second confirmation


def test_a_number_that_has_not_answered_is_never_sent_another_request(shop: Shop) -> None:
    assert request(shop).status_code == 201  # type: ignore[attr-defined]
    again = request(shop)
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert again.json()["code"] == "opt_in_request_unanswered"  # type: ignore[attr-defined]


def test_stop_declines_a_pending_request(shop: Shop) -> None:
    request(shop)
    shop.text("STOP")
    [req] = shop.api.get(f"/v1/contact-methods/{shop.method_id}/opt-in-requests").json()["items"]
    assert req["status"] == "declined"
    assert shop.method_status() == "opted_out"
    assert "<Message>" not in shop.text("yes").text  # nothing pending any more: chat


def test_an_opted_out_number_gets_no_request_it_must_text_start(shop: Shop) -> None:
    shop.text("STOP")
    r = request(shop)
    assert r.status_code == 409 and r.json()["code"] == "number_opted_out"  # type: ignore[attr-defined]


def test_a_landline_gets_no_request(shop: Shop) -> None:
    landline = make_method(
        shop.session,
        company_id=shop.company_id,
        customer_id=shop.customer_id,
        kind="phone",
        value="+19195550140",
        phone_type="landline",
    )
    shop.session.commit()
    assert request(shop, landline.id).status_code == 422  # type: ignore[attr-defined]


def test_a_request_the_consent_rules_hold_is_not_sent_and_blocks_nothing(shop: Shop) -> None:
    shop.api.patch(f"/v1/customers/{shop.customer_id}", json={"do_not_service": True})
    r = request(shop)
    assert r.json()["status"] == "not_sent"  # type: ignore[attr-defined]
    assert shop.method_status() == "none"
    shop.api.patch(f"/v1/customers/{shop.customer_id}", json={"do_not_service": False})
    assert request(shop).status_code == 201  # type: ignore[attr-defined]


def test_another_companys_method_is_a_404(shop: Shop, rival_api: TestClient) -> None:
    r = rival_api.post(f"/v1/contact-methods/{shop.method_id}/opt-in-requests")
    assert r.status_code == 404


def test_the_public_page_shows_the_form_and_the_disclosure(shop: Shop) -> None:
    r = shop.client.get("/opt-in/acme")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Acme Heating" in r.text and "not a condition of purchase" in r.text
    assert '<form method="post" action="/opt-in/acme">' in r.text
    assert "/opt-in/acme/embed" in r.text and r.headers["x-frame-options"] == "DENY"
    embed = shop.client.get("/opt-in/acme/embed")
    assert embed.status_code == 200 and "x-frame-options" not in embed.headers
    assert 'action="/opt-in/acme/embed"' in embed.text
    assert shop.client.get("/opt-in/nobody-here").status_code == 404


def test_the_web_form_texts_the_typed_number_and_its_yes_opts_it_in(shop: Shop) -> None:
    stranger = "+19195550166"
    r = shop.client.post("/opt-in/acme", data={"phone": "(919) 555-0166"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/opt-in/acme?sent=1"
    assert "Reply YES" in shop.client.get(r.headers["location"]).text.replace("reply", "Reply")
    shop.deliver()
    [(_, sms)] = shop.sms.sent
    assert sms.to == stranger and "reply YES" in sms.body
    assert "subscribed" in shop.text("YES", sender=stranger).text
    [event] = shop.consent_events(stranger)
    assert (event.new_value, event.wording) == ("opted_in", "YES")
    assert shop.thread(stranger)["keyword_status"] == "opted_in"


def test_the_web_form_for_a_known_number_marks_it_pending_with_the_disclosure(shop: Shop) -> None:
    shop.client.post("/opt-in/acme", data={"phone": MARIA})
    assert shop.method_status() == "pending"
    [event] = shop.consent_events()
    assert event.source == "web_form" and "not a condition of purchase" in (event.wording or "")


def test_the_web_form_refuses_numbers_outside_the_companys_countries(shop: Shop) -> None:
    r = shop.client.post("/opt-in/acme", data={"phone": "+447911123456"})
    assert r.status_code == 422 and "countries" in r.text
    assert shop.api.get("/v1/conversations").json()["items"] == []


def test_the_web_form_is_limited_per_ip_per_day(shop: Shop) -> None:
    for n in range(5):
        r = shop.client.post("/opt-in/acme", data={"phone": f"+1919555016{n}"})
        assert r.status_code == 200, r.text
    r = shop.client.post("/opt-in/acme", data={"phone": "+19195550169"})
    assert r.status_code == 429 and "too many requests" in r.text


def test_the_web_form_never_resends_to_a_number_that_has_not_answered(shop: Shop) -> None:
    shop.client.post("/opt-in/acme", data={"phone": "+19195550166"})
    r = shop.client.post("/opt-in/acme", data={"phone": "+19195550166"})
    assert r.status_code == 409 and "not answered" in r.text


def test_the_web_form_says_what_is_wrong_with_a_bad_number(shop: Shop) -> None:
    r = shop.client.post("/opt-in/acme", data={"phone": "hello"})
    assert r.status_code == 422 and "not a phone number" in r.text
