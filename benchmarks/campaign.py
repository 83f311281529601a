"""Benchmark: a 1,000,000-customer email campaign on PostgreSQL.

    .venv/bin/python -m benchmarks.campaign              # build the database (≈5 min), run
    .venv/bin/python -m benchmarks.campaign --reuse      # run again on the built database
    .venv/bin/python -m benchmarks.campaign --reuse --drain-seconds 60 --workers 2

Builds ``fieldlink_bench_campaign`` with the seeding of ``benchmarks/audience.py`` (1M
customers, 2.4M contact methods, all consent settings on), then:

1. **send → outbox written**: ``POST /v1/campaigns/{id}/send`` through the real app, then
   the real ``campaigns.send`` outbox job (run by an in-process ``Worker``) resolves the
   audience in SQL and writes messages, outbox rows and history set-based. Timed from the
   send request to the moment every outbox row is committed. Target: < 20 s.
2. **drain**: real ``fieldlink worker`` processes deliver into a local aiosmtpd sink for
   ``--drain-seconds``; the rate is messages sent per second (the rest is left queued and
   removed by the next run).

``FIELDLINK_BENCH_DATABASE_URL`` is the admin URL (default postgresql://postgres@127.0.0.1/postgres).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from benchmarks.audience import build
from benchmarks.delivery import start_sinks
from fieldlink.accounts.service import create_api_key
from fieldlink.app import create_app
from fieldlink.campaigns import handlers as _campaign_handlers  # noqa: F401
from fieldlink.campaigns.models import Campaign
from fieldlink.config import Settings
from fieldlink.db import make_engine, make_sessionmaker, session_scope
from fieldlink.messaging.models import Message
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.worker import Worker

DB_NAME = "fieldlink_bench_campaign"


def database(admin_url: str, *, reuse: bool) -> tuple[str, bool]:
    from benchmarks import audience

    audience.DB_NAME = DB_NAME  # our own copy: the sends below write millions of rows
    return audience._database(admin_url, reuse=reuse)


def reset(url: str) -> None:
    """Forget earlier runs' campaigns, messages and jobs; set the sender up."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("TRUNCATE campaign_events, campaigns, message_events, messages, outbox CASCADE")
        )
        conn.execute(
            text(
                "UPDATE companies SET sender_email = 'offers@bench.example', sender_name = "
                "'Bench Heating', postal_address = '1 Bench Way, Raleigh, NC 27601', "
                "settings = settings || '{\"campaign_messages_per_minute\": 1000000}'::jsonb "
                "WHERE id = 1"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE messages, outbox, message_events"))
    engine.dispose()


def send(url: str) -> tuple[int, float]:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        from fieldlink.accounts.models import Company

        company = session.get(Company, 1)
        assert company is not None
        _, key = create_api_key(session, company=company, name="bench")
    settings = Settings(database_url=url)
    api = TestClient(create_app(settings, factory), headers={"Authorization": f"Bearer {key}"})
    r = api.post(
        "/v1/campaigns",
        json={
            "name": "Million",
            "channel": "email",
            "subject": "Fall tune-up, {{ contact.first_name }}",
            "template": "Hi {{ contact.first_name }}, book your fall tune-up today.",
        },
    )
    assert r.status_code == 201, r.text
    campaign_id = r.json()["id"]
    preview = api.post(f"/v1/campaigns/{campaign_id}/preview").json()
    print(f"preview: {preview['eligible']:,} eligible; blocked {preview['blocked']}", flush=True)
    worker = Worker(factory, name="bench")
    t0 = time.perf_counter()
    r = api.post(f"/v1/campaigns/{campaign_id}/send")
    assert r.status_code == 202, r.text
    sent_at = datetime.now(UTC)
    worker.run_once()  # claims and runs the campaigns.send job
    with engine.connect() as conn:
        queued_at = conn.scalar(select(Campaign.queued_at).where(Campaign.id == campaign_id))
    assert queued_at is not None
    elapsed = (queued_at - sent_at).total_seconds()
    print(
        f"handler returned (with the report's blocked counts) after "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    with engine.connect() as conn:
        jobs = conn.scalar(
            select(func.count()).select_from(OutboxJob).where(OutboxJob.topic == "messaging.send")
        )
        messages = conn.scalar(select(func.count()).select_from(Message))
    assert jobs == messages == preview["eligible"], (jobs, messages, preview["eligible"])
    engine.dispose()
    return int(jobs or 0), elapsed


def drain(url: str, seconds: float, workers: int, threads: int) -> tuple[int, float]:
    sink, env = start_sinks("email")
    engine = make_engine(url)
    worker_env = {
        **os.environ,
        **env,
        "FIELDLINK_DATABASE_URL": url,
        "FIELDLINK_WORKER_BATCH_SIZE": "50",
        "FIELDLINK_LOG_LEVEL": "WARNING",
        "FIELDLINK_BASE_URL": "https://engage.example",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fieldlink", "worker", "--concurrency", str(threads)],
            env=worker_env,
        )
        for _ in range(workers)
    ]

    def sent() -> int:
        with engine.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count()).select_from(Message).where(Message.status == "sent")
                )
                or 0
            )

    try:
        time.sleep(5)  # start-up and first claims, not counted
        first, t0 = sent(), time.perf_counter()
        time.sleep(seconds)
        last, elapsed = sent(), time.perf_counter() - t0
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        sink.terminate()
    engine.dispose()
    return last - first, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench database")
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="worker threads per process")
    args = parser.parse_args()
    admin = os.environ.get(
        "FIELDLINK_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"
    )
    url, reused = database(admin, reuse=args.reuse)
    if not reused:
        build(make_engine(url), args.customers)
    else:
        from fieldlink.migrate import upgrade

        upgrade(make_engine(url))
    reset(url)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}")
    rows, elapsed = send(url)
    print(
        f"send -> outbox written: {rows:,} messages + outbox rows in {elapsed:.1f} s "
        f"({rows / elapsed:,.0f}/s; target < 20 s)",
        flush=True,
    )
    if args.drain_seconds > 0:
        n, secs = drain(url, args.drain_seconds, args.workers, args.threads)
        print(
            f"drain into SMTP sink: {n:,} emails in {secs:.0f} s = {n / secs:,.0f}/s "
            f"({args.workers} workers x {args.threads} threads)"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
