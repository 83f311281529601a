"""A campaign to 10,000 generated customers, delivered by a real ``fieldlink worker``
process into a local SMTP server: every blocked reason class shows up in the preview, and
no blocked recipient gets a message (each delivered one is re-decided by the pure rules)."""

from __future__ import annotations

import email
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message as MimeMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import create_api_key
from fieldlink.app import create_app
from fieldlink.campaigns.models import Campaign
from fieldlink.config import Settings
from fieldlink.consent import rules
from fieldlink.consent.models import Suppression
from fieldlink.customers.models import ContactMethod, Customer, CustomerTag
from fieldlink.db import make_engine, make_sessionmaker, session_scope
from fieldlink.messaging.models import Message
from fieldlink.migrate import upgrade

N = 10_000
SECRET = "worker-test-secret"
BASE_URL = "https://engage.example"
# Customers are generated in SQL from one counter n, so every blocked reason is present;
# only every 6th customer is opted in, to keep the deliveries (and the test) short.
SEED = [
    """INSERT INTO customers (id, company_id, name, type, do_not_mail, do_not_service,
           do_not_send_promotional_emails, credit, language, created_at, updated_at)
       SELECT n, :company, 'Customer ' || n,
           CASE WHEN n % 10 = 0 THEN 'commercial' ELSE 'residential' END,
           n % 41 = 0, n % 43 = 0, n % 47 = 0, 0, 'en', :now, :now
       FROM counter""",
    """INSERT INTO contacts (id, company_id, customer_id, name, role, "primary",
           created_at, updated_at)
       SELECT n, :company, n, 'Pat' || n || ' Doe', 'owner', n % 2 = 0, :now, :now
       FROM counter""",
    # An email for 90% (every 10th has none); every 97th is malformed; marketing updates
    # off for every 5th; every 3rd customer also has a second address.
    """INSERT INTO contact_methods (id, company_id, customer_id, contact_id, kind, value,
           marketing_updates, job_notifications, marketing_sms_status, created_at, updated_at)
       SELECT 2 * n + k, :company, n, n, 'email',
           CASE WHEN k = 0 AND n % 97 = 1 THEN 'broken-at-example.com'
                WHEN k = 0 THEN 'c' || n || '@example.com'
                ELSE 'c' || n || '.alt@example.org' END,
           (n + k) % 5 <> 0, n % 2 = 0, 'none', :now, :now
       FROM counter, (SELECT 0 AS k UNION ALL SELECT 1) ks
       WHERE (k = 0 AND n % 10 <> 0) OR (k = 1 AND n % 3 = 0)""",
    """INSERT INTO customer_tags (company_id, customer_id, tag)
       SELECT :company, n, 'Opted In' FROM counter WHERE n % 6 = 3""",
    """INSERT INTO customer_tags (company_id, customer_id, tag)
       SELECT :company, n, 'Email Dormant' FROM counter WHERE n % 11 = 4""",
    """INSERT INTO suppressions (company_id, email, reason, created_at)
       SELECT :company, 'c' || n || '@example.com', 'bounce', :now FROM counter
       WHERE n % 37 = 0""",
]
COUNTER = (
    "WITH RECURSIVE counter(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM counter WHERE n < {n})"
)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[MimeMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    eng = make_engine(fresh_database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def seed(engine: Engine) -> tuple[int, str]:
    with session_scope(make_sessionmaker(engine)) as session:
        company = Company(
            name="Acme Heating & Air",
            company_code="acme",
            sender_email="offers@acme.example",
            postal_address="120 Oak St, Raleigh, NC 27601",
            settings={
                "double_opt_in": True,
                "dormant_email_suppression": True,
                "campaign_messages_per_minute": 1_000_000,
            },
        )
        session.add(company)
        session.flush()
        _, key = create_api_key(session, company=company)
        company_id = company.id
    now: Any = datetime.now(UTC)
    if engine.dialect.name == "sqlite":
        now = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    with engine.begin() as conn:
        for stmt in SEED:
            conn.execute(
                text(COUNTER.format(n=N) + "\n" + stmt), {"company": company_id, "now": now}
            )
        if engine.dialect.name == "postgresql":
            for table in ("customers", "contacts", "contact_methods"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({sequence}, max(id)) FROM {table}"))
    return company_id, key


def start_worker(url: str, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "FIELDLINK_DATABASE_URL": url,
        "FIELDLINK_EMAIL_PROVIDER": "smtp",
        "FIELDLINK_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "FIELDLINK_SECRET_KEY": SECRET,
        "FIELDLINK_BASE_URL": BASE_URL,
        "FIELDLINK_WORKER_BATCH_SIZE": "100",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldlink", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    while " started" not in (line := proc.stderr.readline()):
        assert line, f"worker died: {proc.poll()}"
    return proc


def allowed(engine: Engine, company_id: int) -> set[str]:
    """Every address the pure consent rules allow, one per customer (lowest method id)."""
    factory = make_sessionmaker(engine)
    with factory() as session:
        company = session.get(Company, company_id)
        assert company is not None
        from fieldlink.consent.queries import company_consent, customer_facts_from, method_facts

        settings = company_consent(company)
        tags: dict[int, set[str]] = {}
        for cid, tag in session.execute(select(CustomerTag.customer_id, CustomerTag.tag)):
            tags.setdefault(cid, set()).add(tag)
        suppressed = set(session.scalars(select(Suppression.email)))
        customers = {c.id: c for c in session.scalars(select(Customer))}
        chosen: dict[int, str] = {}
        for m in session.scalars(select(ContactMethod).order_by(ContactMethod.id)):
            c = customers[m.customer_id]
            facts = customer_facts_from(c, frozenset(tags.get(c.id, set())))
            decision = rules.decide(
                "marketing_email",
                settings,
                facts,
                method_facts(m, suppressed=m.value in suppressed),
            )
            if decision.allowed:
                chosen.setdefault(c.id, m.value)
    return set(chosen.values())


@pytest.mark.slow
def test_a_campaign_to_ten_thousand_customers_never_reaches_a_blocked_one(
    engine: Engine, fresh_database_url: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    company_id, key = seed(engine)
    settings = Settings(database_url=fresh_database_url, secret_key=SECRET, base_url=BASE_URL)  # type: ignore[arg-type]
    api = TestClient(
        create_app(settings, make_sessionmaker(engine)), headers={"Authorization": f"Bearer {key}"}
    )
    r = api.post(
        "/v1/campaigns",
        json={
            "name": "Fall",
            "channel": "email",
            "subject": "Fall tune-up, {{ contact.first_name }}",
            "template": "Hi {{ contact.first_name }}, book your fall tune-up.",
        },
    )
    assert r.status_code == 201, r.text
    campaign_id = r.json()["id"]
    preview = api.post(f"/v1/campaigns/{campaign_id}/preview").json()
    every_reason = {
        "invalid_email_address",
        "email_suppressed",
        "no_marketing_updates",
        "do_not_mail",
        "do_not_service",
        "do_not_send_promotional_emails",
        "missing_opted_in_tag",
        "email_dormant",
        "no_email_address",
        "one_email_per_customer",
    }
    assert every_reason <= {code for code, n in preview["blocked"].items() if n > 0}
    expected = allowed(engine, company_id)
    assert preview["eligible"] == len(expected) > 500
    assert api.post(f"/v1/campaigns/{campaign_id}/send").status_code == 202
    worker = start_worker(fresh_database_url, port)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                queued_at = conn.scalar(
                    select(Campaign.queued_at).where(Campaign.id == campaign_id)
                )
                pending = conn.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(Message.status.in_(("queued", "sending")))
                )
            if queued_at is not None and pending == 0:
                break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    received = Counter(m["To"] for m in inbox.messages)
    assert {a for a, n in received.items() if n > 1} == set()  # nobody twice
    assert set(received) == expected  # exactly the allowed ones: no blocked recipient
    sample = inbox.messages[0]
    assert str(sample["List-Unsubscribe"]).strip().startswith(f"<{BASE_URL}/u/")
    assert sample["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sample["Subject"].startswith("Fall tune-up, Pat")
    report = api.get(f"/v1/campaigns/{campaign_id}/report").json()
    assert report["sent"] == len(expected) and report["pending"] == 0
    assert set(report["suppressed"]) == every_reason
