"""The company number: requested over HTTP, bought by a worker from a Twilio-style provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldlink.channels.base import TransportError
from fieldlink.channels.registry import Channels, configure
from fieldlink.channels.sms import LogSmsTransport, TwilioSmsTransport
from tests.fakes.sms_provider import FakeSmsProvider
from tests.fakes.transports import FakeEmailTransport
from tests.sms.conftest import Shop, deliver, signed


@pytest.fixture
def provider() -> Iterator[FakeSmsProvider]:
    fake = FakeSmsProvider().start()
    yield fake
    fake.stop()


def twilio(provider: FakeSmsProvider) -> TwilioSmsTransport:
    return TwilioSmsTransport(
        api_url=provider.url, account_sid=provider.account_sid, auth_token=provider.auth_token
    )


def test_a_requested_number_is_bought_by_the_worker_and_becomes_the_sender(
    api: TestClient, session_factory, provider: FakeSmsProvider
) -> None:
    configure(
        Channels(email=FakeEmailTransport(), sms=twilio(provider), base_url="https://fl.example")
    )
    r = api.post("/v1/company/sms-number", json={"area_code": "828"})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "requested" and r.json()["number"] is None
    assert api.post("/v1/company/sms-number", json={"area_code": "828"}).status_code == 409
    deliver(session_factory)
    row = api.get("/v1/company/sms-number").json()
    assert row["status"] == "active" and row["number"].startswith("+1828555")
    assert api.get("/v1/company").json()["sms_number"] == row["number"]
    [bought] = provider.owned_numbers
    assert bought["phone_number"] == row["number"]
    assert bought["sms_url"] == "https://fl.example/webhooks/sms/inbound"
    assert bought["voice_url"] == "https://fl.example/webhooks/voice/inbound"
    again = api.post("/v1/company/sms-number", json={"area_code": "919"})
    assert again.status_code == 409 and again.json()["code"] == "sms_number_exists"


def test_an_area_code_with_no_numbers_left_fails_and_can_be_retried(
    api: TestClient, session_factory, provider: FakeSmsProvider
) -> None:
    configure(Channels(email=FakeEmailTransport(), sms=twilio(provider), base_url="https://x"))
    provider.exhausted_area_codes.add("828")
    api.post("/v1/company/sms-number", json={"area_code": "828"})
    deliver(session_factory)
    row = api.get("/v1/company/sms-number").json()
    assert row["status"] == "failed" and "828" in row["error"]
    assert api.post("/v1/company/sms-number", json={"area_code": "919"}).status_code == 202
    deliver(session_factory)
    assert api.get("/v1/company/sms-number").json()["number"].startswith("+1919")


def test_a_bad_area_code_is_a_422(api: TestClient) -> None:
    assert api.post("/v1/company/sms-number", json={"area_code": "9a9"}).status_code == 422
    assert api.get("/v1/company/sms-number").status_code == 404


def test_a_retry_after_a_crash_finds_the_number_already_bought(provider: FakeSmsProvider) -> None:
    transport = twilio(provider)
    first = transport.provision_number("919", friendly_name="fieldlink-company-7")
    again = transport.provision_number("919", friendly_name="fieldlink-company-7")
    assert first == again and len(provider.owned_numbers) == 1
    other = transport.provision_number("919", friendly_name="fieldlink-company-8")
    assert other != first


def test_no_number_left_is_a_permanent_transport_error(provider: FakeSmsProvider) -> None:
    provider.exhausted_area_codes.add("212")
    with pytest.raises(TransportError) as caught:
        twilio(provider).provision_number("212")
    assert caught.value.permanent and caught.value.code == "no_number_available"


def test_the_log_transport_hands_out_numbers_for_the_demo() -> None:
    log = LogSmsTransport()
    number = log.provision_number("919", friendly_name="a")
    assert (
        number.startswith("+1919555") and log.provision_number("919", friendly_name="a") == number
    )
    assert log.provision_number("919", friendly_name="b") != number


def test_a_call_to_the_sms_number_is_forwarded_to_the_business_phone(shop: Shop) -> None:
    form = {"From": "+19195550123", "To": "+19195550199", "CallSid": "CA1", "AccountSid": "ACtest"}
    r = signed(shop.client, "/webhooks/voice/inbound", form)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert r.text.endswith("<Response><Dial>+19195550100</Dial></Response>")
    assert shop.client.post("/webhooks/voice/inbound", data=form).status_code == 403


def test_a_call_without_a_business_phone_is_told_to_text(shop: Shop) -> None:
    shop.api.patch("/v1/company", json={"business_phone": None})
    form = {"From": "+19195550123", "To": "+19195550199", "CallSid": "CA2"}
    r = signed(shop.client, "/webhooks/voice/inbound", form)
    assert "<Say>" in r.text and "<Dial>" not in r.text
    unknown = signed(shop.client, "/webhooks/voice/inbound", {**form, "To": "+19195550000"})
    assert "<Reject/>" in unknown.text
