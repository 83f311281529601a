"""Keywords over HTTP: consent changes, the one confirmation, and the audit trail."""

from __future__ import annotations

import pytest

from fieldlink.sms import rules
from tests.sms.conftest import MARIA, Shop

OPT_OUT = ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "Quit", "REVOKE", "opt out", "OPTOUT"]
OPT_IN = ["START", "unstop", "Restart", "SUBSCRIBE", "enroll"]


@pytest.mark.parametrize("word", OPT_OUT)
def test_each_ctia_and_tcpa_opt_out_keyword_opts_the_number_out_over_http(
    shop: Shop, word: str
) -> None:
    # CTIA §5 keywords, plus REVOKE and OPT OUT from the FCC TCPA revocation rule (2025).
    r = shop.text(word)
    assert r.status_code == 200
    assert r.text.count("<Message>") == 1 and "unsubscribed" in r.text
    assert shop.method_status() == "opted_out"


def test_stop_records_the_exact_wording_and_the_message_sid(shop: Shop) -> None:
    shop.text("Please STOP.", sid="SMevidence")
    [event] = shop.consent_events()
    assert (event.field, event.old_value, event.new_value) == (
        "marketing_sms_status",
        "none",
        "opted_out",
    )
    assert event.source == "keyword" and event.wording == "Please STOP."
    assert event.reference == "SMevidence" and event.contact_method_id == shop.method_id


def test_a_repeat_stop_from_an_opted_out_number_gets_no_confirmation(shop: Shop) -> None:
    # CTIA §5.1.2: one confirmation per opt-out; a second STOP changes nothing.
    assert "<Message>" in shop.text("STOP").text
    again = shop.text("stop")
    assert "<Message>" not in again.text
    assert len(shop.consent_events()) == 1


def test_the_stop_confirmation_carries_no_marketing(shop: Shop) -> None:
    body = shop.text("STOP").text
    assert rules.opt_out_confirmation("Acme Heating").replace("&", "&amp;") in body
    assert "offer" not in body.lower() and "%" not in body


@pytest.mark.parametrize("word", OPT_IN)
def test_each_ctia_opt_in_keyword_opts_the_number_back_in(shop: Shop, word: str) -> None:
    shop.text("STOP")
    r = shop.text(word)
    assert "subscribed" in r.text and r.text.count("<Message>") == 1
    assert shop.method_status() == "opted_in"
    events = [e for e in shop.consent_events() if e.field == "marketing_sms_status"]
    assert [e.new_value for e in events] == ["opted_out", "opted_in"]
    assert events[-1].wording == word and events[-1].source == "keyword"


def test_a_repeat_start_gets_no_second_confirmation(shop: Shop) -> None:
    assert "<Message>" in shop.text("START").text
    assert "<Message>" not in shop.text("start").text


@pytest.mark.parametrize("word", ["HELP", "help", "INFO", "Info?"])
def test_help_and_info_answer_with_company_phone_rates_and_how_to_stop(
    shop: Shop, word: str
) -> None:
    # CTIA §5.1.3: HELP is always answered, even from an opted-out number.
    shop.text("STOP")
    r = shop.text(word)
    assert "Acme Heating" in r.text and "+19195550100" in r.text
    assert "Msg&amp;data rates may apply" in r.text and "STOP" in r.text
    assert shop.method_status() == "opted_out"  # HELP changes nothing


def test_keywords_are_answered_not_forwarded_to_staff(shop: Shop) -> None:
    shop.text("STOP")
    shop.text("HELP")
    assert shop.messages(touchpoint="inbound_forward") == []
    thread = shop.thread()
    assert [m["keyword"] for m in thread["messages"]] == ["opt_out", "opt_out", "help", "help"]
    assert thread["keyword_status"] == "opted_out"


def test_yes_without_a_pending_request_is_just_chat(shop: Shop) -> None:
    r = shop.text("YES")
    assert "<Message>" not in r.text
    assert shop.method_status() == "none"
    assert len(shop.messages(touchpoint="inbound_forward")) == 1


def test_stop_from_an_unknown_sender_is_kept_against_the_number(shop: Shop) -> None:
    stranger = "+19195550188"
    assert "unsubscribed" in shop.text("STOP", sender=stranger, sid="SMstranger").text
    [event] = shop.consent_events(stranger)
    assert event.contact_method_id is None and event.customer_id is None
    assert (event.new_value, event.wording, event.reference) == ("opted_out", "STOP", "SMstranger")
    assert "<Message>" not in shop.text("STOP", sender=stranger).text


def test_stop_texting_me_is_flagged_to_the_routed_user_not_applied_or_left_as_chat(
    shop: Shop,
) -> None:
    # FCC TCPA revocation rule: "any reasonable means" — a person confirms it in one click.
    r = shop.text("please stop texting me", sid="SMlikely")
    assert "<Message>" not in r.text
    assert shop.method_status() == "none"
    [text] = shop.thread()["messages"]
    assert text["likely_opt_out"] is True and text["keyword"] is None
    [notice] = shop.messages(touchpoint="inbound_forward")
    assert "Likely opt-out" in str(notice["body"])


def test_one_click_confirms_a_likely_opt_out_with_the_customers_words(shop: Shop) -> None:
    shop.text("stop texting me", sid="SMlikely")
    thread = shop.thread()
    url = f"/v1/conversations/{thread['id']}/messages/{thread['messages'][0]['id']}/confirm-opt-out"
    for _ in range(2):  # a second click changes nothing and sends nothing
        r = shop.api.post(url)
        assert r.status_code == 200 and r.json()["opt_out_confirmed_at"]
    assert shop.method_status() == "opted_out"
    [event] = shop.consent_events()
    assert event.wording == "stop texting me" and event.reference == "SMlikely"
    assert event.actor and event.actor.startswith("api key")
    [confirmation] = shop.logged("keyword_reply")
    assert confirmation["status"] == "queued" and "unsubscribed" in str(confirmation["body"])


def test_only_a_flagged_text_can_be_confirmed_as_an_opt_out(shop: Shop) -> None:
    shop.text("see you at 3")
    thread = shop.thread()
    url = f"/v1/conversations/{thread['id']}/messages/{thread['messages'][0]['id']}/confirm-opt-out"
    r = shop.api.post(url)
    assert r.status_code == 409 and r.json()["code"] == "not_flagged"


def test_the_opt_out_keyword_reaches_every_method_holding_the_number(shop: Shop) -> None:
    from tests.factories.customers import make_customer, make_method

    other = make_customer(shop.session, company_id=shop.company_id)
    second = make_method(
        shop.session,
        company_id=shop.company_id,
        customer_id=other.id,
        kind="phone",
        value=MARIA,
        phone_type="mobile",
    )
    shop.session.commit()
    shop.text("STOP")
    r = shop.api.get(f"/v1/contact-methods/{second.id}")
    assert r.json()["marketing_sms_status"] == "opted_out"


def test_keyword_answers_are_in_the_message_log_once(shop: Shop, api) -> None:
    # Every message the business sends is explained in the log, webhook answers included.
    shop.text("STOP", sid="SMlog1")
    shop.text("STOP", sid="SMlog1")  # the provider retrying the same webhook
    shop.text("stop", sid="SMlog2")  # a repeat STOP: no answer, so nothing to log
    items = api.get("/v1/messages", params={"touchpoint": "keyword_reply"}).json()["items"]
    assert len(items) == 1
    [logged] = items
    assert logged["status"] == "sent" and "unsubscribed" in logged["body"]
    assert logged["to"] == MARIA
    one = api.get(f"/v1/messages/{logged['id']}").json()
    assert [h["status"] for h in one["history"]] == ["sent"]
