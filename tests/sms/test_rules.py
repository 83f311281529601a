"""Pure rules of the SMS number: keywords, routing, opt-in request limits, replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.sms import rules
from fieldlink.sms.rules import StaffMember, Visit

T0 = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)


# --- keywords ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["STOP", "stop", "Stop.", " stop ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"],
)
def test_ctia_stop_words_opt_out_as_a_whole_message_in_any_case(body: str) -> None:
    # CTIA Messaging Principles §5: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT.
    assert rules.classify(body).kind == "opt_out"


@pytest.mark.parametrize("body", ["REVOKE", "opt out", " opt-out ", "OPTOUT", "Opt Out!"])
def test_tcpa_revocation_words_revoke_and_opt_out_opt_out_even_as_two_words(body: str) -> None:
    # FCC TCPA revocation rule (47 CFR 64.1200(a)(10), April 2025): REVOKE and OPT OUT.
    assert rules.classify(body).kind == "opt_out"


@pytest.mark.parametrize("body", ["Please STOP", "stop please", "please, stop!", "PLEASE opt out"])
def test_a_leading_or_trailing_please_is_ignored(body: str) -> None:
    assert rules.classify(body).kind == "opt_out"


@pytest.mark.parametrize("body", ["START", "unstop", "Restart.", "SUBSCRIBE", "enroll"])
def test_ctia_start_words_opt_in(body: str) -> None:
    assert rules.classify(body).kind == "opt_in"


@pytest.mark.parametrize("body", ["HELP", "help?", "Info", " INFO. "])
def test_ctia_help_and_info_ask_for_help(body: str) -> None:
    assert rules.classify(body).kind == "help"


def test_yes_is_its_own_kind_so_it_counts_only_against_a_pending_request() -> None:
    assert rules.classify("Yes!").kind == "yes"
    assert rules.classify("yes please").kind == "yes"


@pytest.mark.parametrize(
    "body",
    [
        "stop texting me",
        "Please unsubscribe me from this",
        "I want to opt out",
        "quit texting me",
        "cancel these texts",
        "remove me from your list",
        "do not text this number",
    ],
)
def test_a_longer_message_with_an_opt_out_word_is_a_likely_opt_out_not_a_keyword(
    body: str,
) -> None:
    # FCC TCPA revocation rule: revocation "by any reasonable means" must reach a person.
    keyword = rules.classify(body)
    assert keyword.kind is None and keyword.likely_opt_out


@pytest.mark.parametrize(
    "body",
    [
        "Can I cancel my appointment tomorrow?",
        "The gate code is 1234",
        "we're at the end of the road",
        "yes, the dog will be inside",
        "starting at 9 works",
    ],
)
def test_everyday_sentences_are_chat(body: str) -> None:
    keyword = rules.classify(body)
    assert keyword.kind is None and not keyword.likely_opt_out


@given(
    word=st.sampled_from(sorted(rules.OPT_OUT_WORDS)),
    before=st.text(alphabet=" .,!?-", max_size=3),
    after=st.text(alphabet=" .,!?-", max_size=3),
    upper=st.booleans(),
)
def test_any_opt_out_word_wrapped_in_punctuation_and_spaces_opts_out(
    word: str, before: str, after: str, upper: bool
) -> None:
    body = before + (word.upper() if upper else word) + after
    assert rules.classify(body).kind == "opt_out"


# --- routing ----------------------------------------------------------------------------

STAFF = [
    StaffMember(1, "dispatcher"),
    StaffMember(2, "admin"),
    StaffMember(3, "owner"),
    StaffMember(10, "technician"),
    StaffMember(11, "technician"),
    StaffMember(12, "technician", active=False),
]


def test_a_visit_in_progress_routes_to_all_its_active_technicians() -> None:
    visit = Visit(5, "in_progress", (11, 10, 12), T0)
    route = rules.route_inbound(visits=[visit], point_of_contact_id=1, staff=STAFF)
    assert route == rules.Route((10, 11), "job_in_progress", 5)


def test_on_my_way_pressed_on_a_scheduled_visit_counts_as_in_progress() -> None:
    visit = Visit(5, "scheduled", (10,), T0)
    assert rules.route_inbound(visits=[visit], point_of_contact_id=1, staff=STAFF).user_ids == (10,)


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_a_finished_visit_routes_to_the_point_of_contact(status: str) -> None:
    visit = Visit(5, status, (10,), T0)
    route = rules.route_inbound(visits=[visit], point_of_contact_id=1, staff=STAFF)
    assert route == rules.Route((1,), "point_of_contact")


def test_a_visit_nobody_started_routes_to_the_point_of_contact() -> None:
    visit = Visit(5, "scheduled", (10,), None)
    assert rules.route_inbound(visits=[visit], point_of_contact_id=1, staff=STAFF).reason == (
        "point_of_contact"
    )


def test_without_a_point_of_contact_the_lowest_owner_or_admin_gets_it() -> None:
    route = rules.route_inbound(visits=[], point_of_contact_id=None, staff=STAFF)
    assert route == rules.Route((2,), "lowest_owner_admin")


def test_an_inactive_point_of_contact_falls_through_to_the_owner_or_admin() -> None:
    staff = [StaffMember(1, "dispatcher", active=False), *STAFF[1:]]
    assert rules.route_inbound(visits=[], point_of_contact_id=1, staff=staff).user_ids == (2,)


def test_a_visit_whose_technicians_all_left_falls_through() -> None:
    visit = Visit(5, "in_progress", (12,), T0)
    assert rules.route_inbound(visits=[visit], point_of_contact_id=None, staff=STAFF).user_ids == (
        2,
    )


def test_nobody_to_route_to_is_said_plainly() -> None:
    assert rules.route_inbound(visits=[], point_of_contact_id=None, staff=[]).reason == "unrouted"


@given(st.permutations([0, 1, 2]))
def test_of_several_visits_in_progress_the_latest_started_wins_whatever_the_order(
    order: list[int],
) -> None:
    visits = [
        Visit(7, "in_progress", (10,), T0),
        Visit(8, "in_progress", (11,), T0 + timedelta(minutes=5)),
        Visit(6, "in_progress", (10, 11), T0 + timedelta(minutes=5)),
    ]
    route = rules.route_inbound(
        visits=[visits[i] for i in order], point_of_contact_id=None, staff=STAFF
    )
    assert route.appointment_id == 6  # latest start; tie broken by the lowest id


# --- opt-in requests --------------------------------------------------------------------


def facts(**overrides: object) -> rules.OptInFacts:
    base: dict[str, object] = {
        "number_region": "US",
        "company_countries": frozenset({"US"}),
        "number_status": "none",
        "unanswered_for_number": False,
        "sent_to_number_today": 0,
        "from_ip_today": 0,
        "company_today": 0,
        "company_unanswered": 0,
        "from_web": True,
    }
    base.update(overrides)
    return rules.OptInFacts(**base)  # type: ignore[arg-type]


def test_a_fresh_number_in_the_companys_country_may_be_asked() -> None:
    assert rules.opt_in_request_blocks(facts()) == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"number_region": "GB"}, "country_not_allowed"),
        ({"number_status": "opted_out"}, "number_opted_out"),
        ({"number_status": "opted_in"}, "already_opted_in"),
        ({"unanswered_for_number": True}, "opt_in_request_unanswered"),
        ({"sent_to_number_today": 1}, "number_daily_limit"),
        ({"from_ip_today": 5}, "ip_daily_limit"),
        ({"company_today": 200}, "company_daily_limit"),
        ({"company_unanswered": 500}, "too_many_unanswered"),
    ],
)
def test_sms_pumping_guards_each_block_a_request(overrides: dict[str, object], code: str) -> None:
    assert rules.opt_in_request_blocks(facts(**overrides))[0] == code


def test_the_per_ip_cap_applies_to_the_web_form_only() -> None:
    assert rules.opt_in_request_blocks(facts(from_ip_today=99, from_web=False)) == []


# --- replies and answers -----------------------------------------------------------------


def test_a_reply_to_someone_who_texted_us_is_conversational_and_may_go() -> None:
    assert rules.reply_blocks(customer_initiated=True, keyword_status="none") == []


def test_a_reply_in_a_thread_the_customer_never_started_is_held() -> None:
    assert rules.reply_blocks(customer_initiated=False, keyword_status="none") == [
        "not_customer_initiated"
    ]


def test_no_reply_after_stop_ctia() -> None:
    assert "opted_out_by_keyword" in rules.reply_blocks(
        customer_initiated=True, keyword_status="opted_out"
    )


def test_help_answer_names_company_phone_rates_and_how_to_stop() -> None:
    text = rules.help_answer("Acme", "+19195550100")
    assert "Acme" in text and "+19195550100" in text
    assert "Msg&data rates may apply" in text and "STOP" in text


def test_confirmations_carry_no_marketing() -> None:
    for text in (rules.opt_out_confirmation("Acme"), rules.opt_in_confirmation("Acme")):
        assert "%" not in text and "offer" not in text.split("subscribed to")[0].lower()
    assert "START" in rules.opt_out_confirmation("Acme")
