"""The Twilio-compatible SMS transport against a local fake provider over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.channels.base import Sms, TransportError
from fieldlink.channels.sms import TwilioSmsTransport
from tests.fakes.sms_provider import FakeSmsProvider


@pytest.fixture
def provider() -> Iterator[FakeSmsProvider]:
    fake = FakeSmsProvider().start()
    yield fake
    fake.stop()


def transport(provider: FakeSmsProvider, token: str | None = None) -> TwilioSmsTransport:
    return TwilioSmsTransport(
        api_url=provider.url,
        account_sid=provider.account_sid,
        auth_token=token or provider.auth_token,
    )


def text(to: str = "+19195550123", ref: str = "m-1") -> Sms:
    return Sms(
        to=to,
        from_="+19195550199",
        body="Tom is on the way",
        status_callback=f"https://engage.example/webhooks/sms/status?m={ref}",
        reference=ref,
    )


def test_a_text_is_posted_as_twilio_takes_it_and_returns_the_sid(provider) -> None:
    sid = transport(provider).send(text())
    [msg] = provider.messages
    assert sid == msg["sid"] and sid.startswith("SM")
    assert (msg["to"], msg["from"], msg["body"]) == (
        "+19195550123",
        "+19195550199",
        "Tom is on the way",
    )
    assert msg["status_callback"].endswith("?m=m-1")


def test_carrier_opt_out_21610_is_permanent_with_its_reason(provider) -> None:
    # CTIA: a number that told the carrier STOP must be marked opted out, never retried.
    provider.error_for_number["+19195550123"] = (400, 21610, "Attempt to send to unsubscribed")
    with pytest.raises(TransportError) as caught:
        transport(provider).send(text())
    assert caught.value.permanent and caught.value.code == "opted_out_at_carrier"


def test_a_provider_outage_is_transient(provider) -> None:
    provider.fail_next = 1
    with pytest.raises(TransportError) as caught:
        transport(provider).send(text())
    assert not caught.value.permanent
    assert transport(provider).send(text())  # the next try goes through


def test_wrong_credentials_are_permanent(provider) -> None:
    with pytest.raises(TransportError) as caught:
        transport(provider, token="wrong").send(text())
    assert caught.value.permanent


def test_unreachable_provider_is_transient() -> None:
    t = TwilioSmsTransport(api_url="http://127.0.0.1:1", account_sid="AC", auth_token="x")
    with pytest.raises(TransportError) as caught:
        t.send(text())
    assert not caught.value.permanent


def test_find_sent_matches_our_reference_exactly(provider) -> None:
    t = transport(provider)
    sid = t.send(text(ref="m-12"))
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert t.find_sent(to="+19195550123", since=since, reference="m-12") == sid
    assert t.find_sent(to="+19195550123", since=since, reference="m-1") is None
    assert t.find_sent(to="+19195550000", since=since, reference="m-12") is None


@given(st.text(max_size=100))
def test_signature_checks_refuse_any_garbage_without_raising(signature: str) -> None:
    from fieldlink.channels.signatures import hmac_sha256_valid, twilio_signature_valid

    assert not twilio_signature_valid("token", "https://x/webhooks", {"a": "b"}, signature)
    assert not hmac_sha256_valid("secret", b"{}", signature)
