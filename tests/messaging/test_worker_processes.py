"""Real ``fieldlink worker`` processes deliver texts to the fake provider over HTTP:
several at once, and one killed mid-run — every message reaches the provider exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from fieldlink.accounts.models import Company
from fieldlink.db import make_engine, make_sessionmaker, session_scope, utcnow
from fieldlink.messaging.models import Message
from fieldlink.messaging.service import queue_message
from fieldlink.messaging.templates import sample_variables
from fieldlink.migrate import upgrade
from tests.factories.customers import make_contact, make_customer, make_method
from tests.fakes.sms_provider import FakeSmsProvider


@pytest.fixture
def provider() -> Iterator[FakeSmsProvider]:
    fake = FakeSmsProvider().start()
    yield fake
    fake.stop()


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    eng = make_engine(fresh_database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def queue_texts(engine: Engine, n: int) -> None:
    with session_scope(make_sessionmaker(engine)) as session:
        company = Company(name="Acme", company_code="acme", sms_number="+19195550199", settings={})
        session.add(company)
        session.flush()
        for i in range(n):
            customer = make_customer(session, company_id=company.id)
            contact = make_contact(session, company_id=company.id, customer_id=customer.id)
            method = make_method(
                session,
                company_id=company.id,
                customer_id=customer.id,
                contact_id=contact.id,
                kind="phone",
                value=f"+1919555{1000 + i:04d}",
                phone_type="mobile",
                job_notifications=True,
            )
            queue_message(
                session,
                company=company,
                touchpoint="en_route",
                channel="sms",
                customer=customer,
                contact=contact,
                method=method,
                variables=sample_variables(),
                idempotency_key=f"k{i}",
                now=utcnow(),
            )


def start_worker(url: str, provider: FakeSmsProvider, vt: float = 30) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "FIELDLINK_DATABASE_URL": url,
        "FIELDLINK_SMS_PROVIDER": "twilio",
        "FIELDLINK_TWILIO_API_URL": provider.url,
        "FIELDLINK_TWILIO_ACCOUNT_SID": provider.account_sid,
        "FIELDLINK_TWILIO_AUTH_TOKEN": provider.auth_token,
        "FIELDLINK_WORKER_VISIBILITY_TIMEOUT": str(vt),
        "FIELDLINK_WORKER_BATCH_SIZE": "5",
        "FIELDLINK_BASE_URL": "https://engage.example",
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


def unsent(engine: Engine) -> int:
    with engine.connect() as conn:
        return (
            conn.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.status.not_in(("sent", "failed", "suppressed")))
            )
            or 0
        )


def wait_sent(engine: Engine, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while unsent(engine) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert unsent(engine) == 0


def check_exactly_once(engine: Engine, provider: FakeSmsProvider, n: int) -> None:
    refs = Counter(m["status_callback"].rsplit("m=", 1)[1] for m in provider.messages)
    duplicated = {r: c for r, c in refs.items() if c > 1}
    assert duplicated == {}, f"sent twice: {duplicated}"
    with engine.connect() as conn:
        rows = conn.execute(select(Message.id, Message.status, Message.provider_id)).all()
    assert len(rows) == n and {r.status for r in rows} == {"sent"}
    sids = {m["sid"] for m in provider.messages}
    assert {r.provider_id for r in rows} == sids  # each message knows its provider id
    assert set(refs) == {f"flm-{r.id}" for r in rows}  # nothing lost, nothing unexpected


def test_parallel_workers_send_each_text_exactly_once(
    engine: Engine, fresh_database_url: str, provider: FakeSmsProvider
) -> None:
    n_workers = 4 if engine.dialect.name == "postgresql" else 1
    queue_texts(engine, 200)
    procs = [start_worker(fresh_database_url, provider) for _ in range(n_workers)]
    try:
        wait_sent(engine)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=20) for p in procs]
    assert codes == [0] * n_workers
    check_exactly_once(engine, provider, 200)


def test_a_worker_killed_mid_send_is_reconciled_not_resent(
    engine: Engine, fresh_database_url: str, provider: FakeSmsProvider
) -> None:
    queue_texts(engine, 120)
    victim = start_worker(fresh_database_url, provider, vt=2)
    deadline = time.monotonic() + 60
    while len(provider.messages) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    rescuer = start_worker(fresh_database_url, provider, vt=2)
    try:
        wait_sent(engine)
    finally:
        rescuer.send_signal(signal.SIGTERM)
        assert rescuer.wait(timeout=20) == 0
    check_exactly_once(engine, provider, 120)
