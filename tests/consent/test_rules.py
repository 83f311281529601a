"""One test per rule of DESIGN.md "Consent rules": each blocker alone flips the answer.

Every test starts from a recipient that is allowed, changes one fact, and checks that
exactly that reason now blocks it (plus the table of reason codes and the defaults).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fieldlink.consent.rules import (
    CHANNELS,
    REASON_CODES,
    REASON_MESSAGES,
    AddressFacts,
    Channel,
    CompanyConsent,
    CustomerFacts,
    MethodFacts,
    decide,
    default_marketing_updates,
    looks_like_email,
)

PLAIN = CompanyConsent()
CUSTOMER = CustomerFacts()
ADDRESS = AddressFacts(line1="12 Oak St", city="Raleigh", postcode="27601")
EMAIL = MethodFacts(kind="email", value="ann@example.com", marketing_updates=True)
MOBILE = MethodFacts(
    kind="phone",
    value="+19195550100",
    phone_type="mobile",
    marketing_updates=True,
    marketing_sms_status="opted_in",
)


def codes(channel: Channel, company=PLAIN, customer=CUSTOMER, recipient=None):  # type: ignore[no-untyped-def]
    return decide(channel, company, customer, recipient).codes


def test_baselines_are_allowed_on_every_channel() -> None:
    assert codes("direct_mail", recipient=ADDRESS) == ()
    assert codes("marketing_email", recipient=EMAIL) == ()
    assert codes("transactional_email", recipient=EMAIL) == ()
    assert codes("transactional_sms", recipient=MOBILE) == ()
    assert codes("marketing_sms", recipient=MOBILE) == ()
    assert decide("marketing_sms", PLAIN, CUSTOMER, MOBILE).allowed


# --- Direct mail: valid postal address; not DNM, not DNS (ServiceTitan, DESIGN.md) ---


def test_direct_mail_needs_a_postal_address() -> None:
    assert codes("direct_mail", recipient=None) == ("no_postal_address",)


@pytest.mark.parametrize("part", ["line1", "city", "postcode"])
def test_direct_mail_needs_street_city_and_postcode(part: str) -> None:
    assert codes("direct_mail", recipient=replace(ADDRESS, **{part: " "})) == (
        "invalid_postal_address",
    )
    if part == "postcode":
        assert codes("direct_mail", recipient=replace(ADDRESS, postcode=None)) == (
            "invalid_postal_address",
        )


def test_direct_mail_blocked_by_do_not_mail() -> None:
    dnm = replace(CUSTOMER, do_not_mail=True)
    assert codes("direct_mail", customer=dnm, recipient=ADDRESS) == ("do_not_mail",)


def test_direct_mail_blocked_by_do_not_service() -> None:
    dns = replace(CUSTOMER, do_not_service=True)
    assert codes("direct_mail", customer=dns, recipient=ADDRESS) == ("do_not_service",)


# --- Marketing email (ServiceTitan "Email campaigns"; CAN-SPAM opt-out) ---


def test_marketing_email_needs_an_email_address() -> None:
    assert codes("marketing_email", recipient=None) == ("no_email_address",)
    assert codes("marketing_email", recipient=MOBILE) == ("not_an_email_address",)


def test_marketing_email_needs_a_valid_address() -> None:
    assert codes("marketing_email", recipient=replace(EMAIL, value="ann at example")) == (
        "invalid_email_address",
    )


def test_marketing_email_blocked_by_the_suppression_list() -> None:
    assert codes("marketing_email", recipient=replace(EMAIL, suppressed=True)) == (
        "email_suppressed",
    )


def test_marketing_email_needs_marketing_updates_on_the_method() -> None:
    assert codes("marketing_email", recipient=replace(EMAIL, marketing_updates=False)) == (
        "no_marketing_updates",
    )


@pytest.mark.parametrize(
    "flag", ["do_not_mail", "do_not_service", "do_not_send_promotional_emails"]
)
def test_marketing_email_blocked_by_each_customer_flag(flag: str) -> None:
    customer = replace(CUSTOMER, **{flag: True})
    assert codes("marketing_email", customer=customer, recipient=EMAIL) == (flag,)


def test_marketing_email_with_double_opt_in_needs_the_opted_in_tag() -> None:
    double = CompanyConsent(double_opt_in=True)
    assert codes("marketing_email", company=double, recipient=EMAIL) == ("missing_opted_in_tag",)
    tagged = replace(CUSTOMER, tags=frozenset({"Opted In"}))
    assert codes("marketing_email", company=double, customer=tagged, recipient=EMAIL) == ()
    # Without double opt-in the tag does not matter.
    assert codes("marketing_email", recipient=EMAIL) == ()


def test_marketing_email_with_dormant_suppression_skips_email_dormant_customers() -> None:
    dormant = replace(CUSTOMER, tags=frozenset({"Email Dormant"}))
    suppressing = CompanyConsent(dormant_email_suppression=True)
    assert codes("marketing_email", company=suppressing, customer=dormant, recipient=EMAIL) == (
        "email_dormant",
    )
    assert codes("marketing_email", customer=dormant, recipient=EMAIL) == ()


def test_marketing_email_lists_every_blocker_not_just_the_first() -> None:
    customer = CustomerFacts(do_not_mail=True, do_not_service=True, tags=frozenset())
    method = replace(EMAIL, value="nope", suppressed=True, marketing_updates=False)
    company = CompanyConsent(double_opt_in=True)
    assert set(codes("marketing_email", company=company, customer=customer, recipient=method)) == {
        "invalid_email_address",
        "email_suppressed",
        "no_marketing_updates",
        "do_not_mail",
        "do_not_service",
        "missing_opted_in_tag",
    }


# --- Transactional email (our rule: valid email, job notifications, not DNS) ---


def test_transactional_email_needs_job_notifications() -> None:
    assert codes("transactional_email", recipient=replace(EMAIL, job_notifications=False)) == (
        "no_job_notifications",
    )


def test_transactional_email_blocked_by_do_not_service_only() -> None:
    dns = replace(CUSTOMER, do_not_service=True)
    assert codes("transactional_email", customer=dns, recipient=EMAIL) == ("do_not_service",)
    # CAN-SPAM exempts transactional mail: DNM, unsubscribes and suppression don't block it.
    other = CustomerFacts(do_not_mail=True, do_not_send_promotional_emails=True)
    method = replace(EMAIL, suppressed=True, marketing_updates=False)
    assert codes("transactional_email", customer=other, recipient=method) == ()


def test_transactional_email_needs_a_valid_email() -> None:
    assert codes("transactional_email", recipient=None) == ("no_email_address",)
    assert codes("transactional_email", recipient=replace(EMAIL, value="x@y")) == (
        "invalid_email_address",
    )


# --- Transactional SMS (ServiceTitan "SMS - Transactional", with and without the suite) ---


def test_transactional_sms_needs_a_mobile_number() -> None:
    assert codes("transactional_sms", recipient=None) == ("no_mobile_number",)
    assert codes("transactional_sms", recipient=EMAIL) == ("not_a_mobile_number",)
    for phone_type in ("landline", "other", None):
        landline = replace(MOBILE, phone_type=phone_type)
        assert codes("transactional_sms", recipient=landline) == ("not_a_mobile_number",)


def test_transactional_sms_needs_job_notifications() -> None:
    assert codes("transactional_sms", recipient=replace(MOBILE, job_notifications=False)) == (
        "no_job_notifications",
    )


@pytest.mark.parametrize("flag", ["do_not_mail", "do_not_service"])
def test_transactional_sms_blocked_by_do_not_mail_and_do_not_service(flag: str) -> None:
    customer = replace(CUSTOMER, **{flag: True})
    assert codes("transactional_sms", customer=customer, recipient=MOBILE) == (flag,)


def test_transactional_sms_with_the_marketing_suite_also_needs_marketing_updates() -> None:
    number = replace(MOBILE, marketing_updates=False, marketing_sms_status="none")
    assert codes("transactional_sms", recipient=number) == ()
    suite = CompanyConsent(marketing_suite=True)
    assert codes("transactional_sms", company=suite, recipient=number) == ("no_marketing_updates",)


# --- Marketing SMS (TCPA prior express written consent; CTIA; ServiceTitan) ---


def test_marketing_sms_needs_a_mobile_number() -> None:
    assert codes("marketing_sms", recipient=None) == ("no_mobile_number",)
    assert codes("marketing_sms", recipient=replace(MOBILE, phone_type="landline")) == (
        "not_a_mobile_number",
    )


def test_marketing_sms_needs_marketing_updates() -> None:
    assert codes("marketing_sms", recipient=replace(MOBILE, marketing_updates=False)) == (
        "no_marketing_updates",
    )


@pytest.mark.parametrize("status", ["none", "pending", "opted_out"])
def test_marketing_sms_needs_the_number_opted_in(status: str) -> None:
    assert codes("marketing_sms", recipient=replace(MOBILE, marketing_sms_status=status)) == (
        "no_marketing_sms_opt_in",
    )


@pytest.mark.parametrize("flag", ["do_not_mail", "do_not_service"])
def test_marketing_sms_blocked_by_do_not_mail_and_do_not_service(flag: str) -> None:
    customer = replace(CUSTOMER, **{flag: True})
    assert codes("marketing_sms", customer=customer, recipient=MOBILE) == (flag,)


# --- Defaults and the reason table ---


def test_marketing_updates_is_on_for_a_new_customer_and_off_for_a_method_added_later() -> None:
    assert default_marketing_updates(with_new_customer=True) is True
    assert default_marketing_updates(with_new_customer=False) is False


def test_every_reason_has_a_stable_snake_case_code_and_a_sentence() -> None:
    seen = set()
    for channel in CHANNELS:
        for recipient in (None, ADDRESS, EMAIL, MOBILE):
            worst = CustomerFacts(True, True, True, frozenset({"Email Dormant"}))
            company = CompanyConsent(True, True, True)
            for r in decide(channel, company, worst, recipient).reasons:
                assert r.code in REASON_CODES and r.message == REASON_MESSAGES[r.code]
                seen.add(r.code)
    for code in REASON_CODES:
        assert code.replace("_", "").isalpha() and code.islower()
        assert REASON_MESSAGES[code].endswith(".")
    assert {"do_not_mail", "no_postal_address", "email_dormant"} <= seen


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("ann@example.com", True),
        ("a@b.co", True),
        ("a@b", False),
        ("@b.com", False),
        ("a@.com", False),
        ("a@b.", False),
        ("a b@c.com", False),
        ("a@@b.com", False),
    ],
)
def test_email_plausibility_check(value: str, ok: bool) -> None:
    assert looks_like_email(value) is ok
