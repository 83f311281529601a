"""Pre-flight: GET /v1/company/preflight and `fieldlink doctor` say what would keep messages
from going out, before they silently don't."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from fieldlink.config import Settings
from fieldlink.db import utcnow
from fieldlink.handlers import load_handlers
from fieldlink.ops.preflight import check_installation, lint_defaults, lint_template
from fieldlink.outbox.models import OutboxJob
from tests.test_cli import run


def _codes(checks: list[dict[str, str]]) -> dict[str, str]:
    return {c["code"]: c["severity"] for c in checks}


def test_a_new_company_is_told_what_is_missing(api: TestClient) -> None:
    r = api.get("/v1/company/preflight")
    assert r.status_code == 200
    body = r.json()
    codes = _codes(body["checks"])
    assert body["ok"] is False and body["errors"] >= 2
    assert codes["no_sms_number"] == "error"
    assert codes["no_sender_email"] == "error"
    assert codes["no_postal_address"] == "warning"  # no marketing suite yet
    assert codes["sms_provider_log"] == "warning"
    assert "secret_key_default" not in codes  # operator matters stay with the operator


def test_postal_address_is_an_error_once_the_company_markets(api: TestClient) -> None:
    # CAN-SPAM 15 U.S.C. 7704(a)(5): commercial email carries a valid physical postal address.
    api.patch("/v1/company", json={"settings": {"marketing_suite": True}})
    codes = _codes(api.get("/v1/company/preflight").json()["checks"])
    assert codes["no_postal_address"] == "error"


def test_a_configured_company_is_ok(api: TestClient) -> None:
    r = api.patch(
        "/v1/company",
        json={
            "sms_number": "+19195550199",
            "sms_registration": "approved",
            "business_phone": "+19195550100",
            "sender": {"email": "svc@acme.example", "name": "Acme"},
            "postal_address": "1 Main St, Raleigh, NC 27601",
        },
    )
    assert r.status_code == 200, r.text
    body = api.get("/v1/company/preflight").json()
    assert body["ok"] is True, body
    assert set(_codes(body["checks"])) <= {"sms_provider_log", "email_provider_log"}


def test_a_pending_registration_holds_texts_and_says_so(api: TestClient) -> None:
    api.patch("/v1/company", json={"sms_number": "+19195550199", "sms_registration": "pending"})
    codes = _codes(api.get("/v1/company/preflight").json()["checks"])
    assert codes["sender_not_registered"] == "error"


def test_template_overrides_are_linted(api: TestClient) -> None:
    r = api.put(
        "/v1/templates/en_route/sms",
        json={"body": "{{ company.name }} is on the way: https://bit.ly/abc"},
    )
    assert r.status_code == 200, r.text
    codes = _codes(api.get("/v1/company/preflight").json()["checks"])
    assert codes["link_shortener"] == "error"


def test_unknown_variables_and_broken_templates_are_errors() -> None:
    [check] = lint_template(touchpoint="en_route", channel="sms", subject=None, body="Hi {{ nme }}")
    assert check.code == "template_invalid" and "nme" in check.message
    [check] = lint_template(touchpoint="en_route", channel="sms", subject=None, body="{% for %}")
    assert check.code == "template_invalid"


def test_marketing_texts_must_say_how_to_opt_out() -> None:
    # CTIA Messaging Principles 5.1.2: recurring marketing texts carry opt-out instructions.
    [check] = lint_template(
        touchpoint="campaign", channel="sms", subject=None, body="20% off tune-ups this week!"
    )
    assert (check.code, check.severity) == ("marketing_sms_without_opt_out", "error")
    assert not lint_template(
        touchpoint="campaign",
        channel="sms",
        subject=None,
        body="20% off tune-ups this week! Reply STOP to opt out.",
    )


def test_long_texts_warn_with_the_segment_count() -> None:
    [check] = lint_template(touchpoint="en_route", channel="sms", subject=None, body="x" * 700)
    assert check.code == "sms_too_many_segments" and "5 GSM-7 segments" in check.message


def test_the_built_in_templates_are_lint_clean() -> None:
    assert lint_defaults() == []


def test_installation_checks_find_missing_credentials(settings: Settings) -> None:
    bad = settings.model_copy(
        update={"sms_provider": "twilio", "twilio_account_sid": "", "email_provider": "smtp"}
    )
    codes = {c.code: c.severity for c in check_installation(bad, None)}
    assert codes["sms_credentials_missing"] == "error"
    assert codes["smtp_url_missing"] == "error"
    assert codes["base_url_not_https"] == "warning"


def test_doctor_fails_loudly_on_a_fresh_install(fresh_database_url: str) -> None:
    pending = run(["doctor"], fresh_database_url)
    assert pending.returncode == 1
    assert "migrations_pending" in pending.stdout and "NOT READY" in pending.stderr
    run(["db", "upgrade"], fresh_database_url)
    run(["company", "create", "--name", "Acme", "--code", "acme"], fresh_database_url)
    out = run(["doctor", "--json"], fresh_database_url)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] is False
    codes = {(c["subject"], c["code"]) for c in report["checks"]}
    assert ("installation", "secret_key_default") in codes
    assert ("company acme", "no_sms_number") in codes
    unknown = run(["doctor", "--company", "nope"], fresh_database_url)
    assert unknown.returncode == 2 and "no company" in unknown.stderr


def test_doctor_warns_when_no_worker_is_taking_the_outbox(fresh_database_url: str) -> None:
    # An inbound text is only recorded by the webhook; without a worker it is never
    # threaded or forwarded, so a stalled outbox must be said out loud.
    from fieldlink.db import make_engine, make_sessionmaker
    from fieldlink.outbox.worker import Worker
    from fieldlink.sms import inbound

    run(["db", "upgrade"], fresh_database_url)
    engine = make_engine(fresh_database_url)
    factory = make_sessionmaker(engine)
    received = utcnow() - timedelta(minutes=10)
    with factory() as session:
        inbound.record_received(
            session, [inbound.received({"To": "+19195550199", "MessageSid": "SM1"}, received)]
        )
        session.execute(update(OutboxJob).values(run_at=received))
        session.commit()
    stalled = json.loads(run(["doctor", "--json"], fresh_database_url).stdout)
    [check] = [c for c in stalled["checks"] if c["code"] == "outbox_stalled"]
    assert check["severity"] == "warning" and "sms.receive 1" in check["message"]

    load_handlers()
    while Worker(factory).run_once():
        pass
    engine.dispose()
    after = json.loads(run(["doctor", "--json"], fresh_database_url).stdout)
    assert "outbox_stalled" not in {c["code"] for c in after["checks"]}
