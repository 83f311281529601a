"""/metrics in Prometheus format, request ids in and out, JSON logs, /readyz."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from fieldlink.app import create_app
from fieldlink.channels.base import Sms, TransportError
from fieldlink.channels.registry import Channels
from fieldlink.config import Settings
from fieldlink.consent.models import ConsentEvent
from fieldlink.db import make_engine, make_sessionmaker, utcnow
from fieldlink.messaging.models import Message
from fieldlink.ops.logs import JsonFormatter
from fieldlink.ops.metrics import PROVIDER_ERRORS, PROVIDER_LATENCY, instrument
from fieldlink.outbox.publish import publish
from tests.conftest import Tenant
from tests.fakes.transports import FakeEmailTransport, FakeSmsTransport


def _samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_messages_outbox_depth_and_consent_changes(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    now = utcnow()
    for status in ("queued", "queued", "suppressed"):
        session.add(
            Message(
                company_id=tenant.company_id,
                touchpoint="service_reminder",
                channel="sms",
                to="+19195550100",
                status=status,
                body="hi",
                created_at=now,
            )
        )
    publish(session, "messaging.send", run_at=now - timedelta(seconds=90), message_id=1)
    session.add(
        ConsentEvent(
            company_id=tenant.company_id,
            subject="+19195550100",
            field="marketing_sms_status",
            old_value="opted_in",
            new_value="opted_out",
            source="keyword",
        )
    )
    session.commit()
    samples = _samples(client)
    labels = {"channel": "sms", "touchpoint": "service_reminder"}
    assert _value(samples, "fieldlink_messages_last_24h", status="queued", **labels) == 2
    assert _value(samples, "fieldlink_messages_last_24h", status="suppressed", **labels) == 1
    assert _value(samples, "fieldlink_outbox_depth", topic="messaging.send", status="pending") == 1
    assert _value(samples, "fieldlink_outbox_oldest_due_age_seconds") >= 90
    assert (
        _value(
            samples,
            "fieldlink_consent_changes_total",
            field="marketing_sms_status",
            new_value="opted_out",
            source="keyword",
        )
        == 1
    )
    assert _value(samples, "fieldlink_database_up") == 1


def test_http_requests_and_refused_webhooks_are_counted(client: TestClient) -> None:
    before = _samples(client)
    key = {"webhook": "/webhooks/sms/inbound", "outcome": "refused_signature"}
    r = client.post("/webhooks/sms/inbound", data={"From": "+19195550100", "Body": "hi"})
    assert r.status_code == 403
    after = _samples(client)
    assert (
        _value(after, "fieldlink_webhooks_total", **key)
        == _value(before, "fieldlink_webhooks_total", **key) + 1
    )
    assert (
        _value(after, "fieldlink_http_requests_total", method="GET", route="/metrics", status="200")
        >= 1
    )


def test_a_down_database_is_reported_not_a_failed_scrape(settings: Settings) -> None:
    broken = make_sessionmaker(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    client = TestClient(create_app(settings, factory=broken), raise_server_exceptions=False)
    samples = _samples(client)
    assert _value(samples, "fieldlink_database_up") == 0
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["code"] == "database_unavailable"


def test_readyz_says_when_migrations_are_pending(
    settings: Settings, fresh_database_url: str
) -> None:
    factory = make_sessionmaker(make_engine(fresh_database_url))  # never migrated
    client = TestClient(create_app(settings, factory=factory), raise_server_exceptions=False)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["code"] == "migrations_pending"


def test_the_request_id_is_taken_from_the_caller_or_made_and_always_returned(
    client: TestClient,
) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.1"})
    assert given.headers["x-request-id"] == "lb-7f3a.1"
    made = client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    hostile = client.get("/healthz", headers={"X-Request-ID": "a\u00e9<script>".encode()})
    assert hostile.headers["x-request-id"] != "a\u00e9<script>"
    assert len(hostile.headers["x-request-id"]) == 32


def test_logs_are_json_lines_with_the_request_id(client: TestClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("fieldlink.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        client.get("/v1/customers", headers={"X-Request-ID": "req-42"})
    finally:
        access.removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["request_id"] == "req-42"
    assert line["path"] == "/v1/customers" and line["status"] == 401
    assert line["level"] == "INFO" and isinstance(line["duration_ms"], float)


def test_provider_latency_and_errors_are_measured() -> None:
    sms = FakeSmsTransport()
    channels = instrument(Channels(email=FakeEmailTransport(), sms=sms, base_url="http://x"))
    text = Sms(to="+19195550100", from_="+19195550199", body="hi")
    sent_before = PROVIDER_LATENCY.labels("sms", "send")._sum.get()
    errors_before = PROVIDER_ERRORS.labels("sms", "send", "opted_out_at_carrier")._value.get()
    assert channels.sms.send(text).startswith("SMfake")
    sms.fail_with = TransportError("21610", permanent=True, code="opted_out_at_carrier")
    with pytest.raises(TransportError):
        channels.sms.send(text)
    assert PROVIDER_LATENCY.labels("sms", "send")._sum.get() > sent_before
    after = PROVIDER_ERRORS.labels("sms", "send", "opted_out_at_carrier")._value.get()
    assert after == errors_before + 1
