"""Hostile input is refused cleanly: oversized and cross-endpoint-replayed webhooks, and
sandbox escapes or runaway loops sent through the templates API."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fieldlink.channels.signatures import hmac_sha256, twilio_signature
from fieldlink.sms.models import SmsMessage
from tests.sms.conftest import MARIA, NUMBER, TOKEN, Shop, signed

HOSTILE_TEMPLATES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ company.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.system('id') }}",
    "{% for i in range(100000000) %}x{% endfor %}",
    "{% for a in range(999) %}{% for b in range(999) %}{% for c in range(999) %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{{ 'x' * 1000000000 }}",
    "{{ 2 ** 100000000 }}",
    "{% set x = [1] %}{% for a in x * 100000000 %}{% endfor %}",
]


def _texts(shop: Shop) -> int:
    shop.session.expire_all()
    return int(shop.session.scalar(select(func.count()).select_from(SmsMessage)) or 0)


def test_an_oversized_signed_text_is_refused_unread(shop: Shop) -> None:
    form = {"From": MARIA, "To": NUMBER, "Body": "x" * 70_000, "MessageSid": "SMbig"}
    r = signed(shop.client, "/webhooks/sms/inbound", form)
    assert r.status_code == 413 and r.json()["code"] == "webhook_too_large"
    assert _texts(shop) == 0


def test_a_huge_declared_length_is_refused_before_reading(shop: Shop) -> None:
    r = shop.client.post(
        "/webhooks/sms/status",
        content=b"MessageSid=SM1",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "content-length": str(10**9),
        },
    )
    assert r.status_code in (400, 413)


def test_an_oversized_email_event_post_is_refused(client: TestClient) -> None:
    body = b'{"events": [' + b'{"type":"bounce","email":"a@b.c"},' * 40_000 + b"{}]}"
    r = client.post(
        "/webhooks/email/events",
        content=body,
        headers={
            "content-type": "application/json",
            "x-fieldlink-signature": hmac_sha256("test-email-secret", body),
        },
    )
    assert r.status_code == 413


def test_a_signature_for_one_endpoint_does_not_open_another(shop: Shop) -> None:
    form = {"From": MARIA, "To": NUMBER, "Body": "STOP", "MessageSid": "SMx1", "AccountSid": "AC"}
    for_status = twilio_signature(TOKEN, "http://testserver/webhooks/sms/status", form)
    r = shop.client.post(
        "/webhooks/sms/inbound", data=form, headers={"X-Twilio-Signature": for_status}
    )
    assert r.status_code == 403
    assert shop.method_status() == "none" and _texts(shop) == 0


def test_a_replayed_stop_changes_nothing_twice(shop: Shop) -> None:
    form = {"From": MARIA, "To": NUMBER, "Body": "STOP", "MessageSid": "SMstop1"}
    first = signed(shop.client, "/webhooks/sms/inbound", form)
    after_first = _texts(shop)  # the STOP and its one confirmation
    again = signed(shop.client, "/webhooks/sms/inbound", form)
    assert first.status_code == again.status_code == 200
    assert first.text == again.text
    assert _texts(shop) == after_first == 2
    assert [e.new_value for e in shop.consent_events() if e.field == "marketing_sms_status"] == [
        "opted_out"
    ]


@pytest.mark.parametrize("hostile", HOSTILE_TEMPLATES)
def test_hostile_templates_are_refused_by_the_api_quickly(api: TestClient, hostile: str) -> None:
    started = time.monotonic()
    saved = api.put("/v1/templates/en_route/sms", json={"body": hostile})
    previewed = api.post("/v1/templates/en_route/sms/preview", json={"body": hostile})
    assert time.monotonic() - started < 5
    for r in (saved, previewed):
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert api.get("/v1/templates/en_route/sms").json().get("body") != hostile


def test_out_of_range_list_filters_are_a_422_not_a_500(api: TestClient) -> None:
    # Found by fuzzing: ids past 64 bits overflowed the database driver.
    for path, name in (
        ("/v1/estimates", "customer_id"),
        ("/v1/invoices", "job_id"),
        ("/v1/payments", "invoice_id"),
        ("/v1/payment-methods", "customer_id"),
    ):
        r = api.get(path, params={name: "-1071595585696019120128"})
        assert r.status_code == 422, (path, r.text)


def test_a_null_settings_patch_changes_nothing(api: TestClient) -> None:
    # Found by fuzzing: {"settings": null} was a 500.
    before = api.get("/v1/company").json()["settings"]
    r = api.patch("/v1/company", json={"settings": None})
    assert r.status_code == 200, r.text
    assert r.json()["settings"] == before


def test_out_of_range_ids_in_any_list_filter_are_a_422(api: TestClient) -> None:
    # Found by fuzzing on PostgreSQL: ids past 32 bits failed in the database ("integer out
    # of range"). Every integer filter of every /v1 list is checked.
    spec = api.get("/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if not path.startswith("/v1/") or "{" in path or get is None:
            continue
        for param in get.get("parameters", []):
            schema = param.get("schema", {})
            types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
            if param["in"] == "query" and "integer" in types and param["name"] != "limit":
                r = api.get(path, params={param["name"]: 4010127879})
                assert r.status_code == 422, (path, param["name"], r.status_code)
                checked += 1
    assert checked >= 10
