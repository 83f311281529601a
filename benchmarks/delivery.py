"""Delivery benchmark: enqueue N messages, drain them with K worker processes.

    .venv/bin/python -m benchmarks.delivery                 # 100,000 texts, 4 workers
    .venv/bin/python -m benchmarks.delivery --messages 20000 --workers 2 --threads 4
    .venv/bin/python -m benchmarks.delivery --channel email  # into an SMTP sink
    .venv/bin/python -m benchmarks.delivery --batch 20       # jobs a worker claims at once

Besides messages/s it prints the CPU per message of the worker processes, the sink and
the PostgreSQL backends of the benchmark database: the figures that survive a loaded
machine. ``--sink asyncio`` sends texts to ``benchmarks/sms_sink.py`` (about a fifth of the
Python fake's CPU per text) instead of the fake provider.

Recipients are bulk-inserted with SQL; every message is then queued through the real
bulk path ``queue_messages`` (``--enqueue bulk``, the default), one ``queue_message`` at a
time (``single``), or the bulk-reminder trigger ``remind_appointments`` over appointment
lists (``reminders``): consent check, render, idempotency key, message, history and outbox
rows. ``--no-drain`` times the enqueue alone. Then
real ``fieldlink worker`` processes deliver them to a Twilio-compatible fake provider (or
an aiosmtpd sink), each running in its own process as the peers' sinks do. At the end the
provider's own record is checked: every message once, none twice, none unexpected.
``FIELDLINK_BENCH_DATABASE_URL`` is the admin URL (default postgresql://postgres@127.0.0.1/postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from base64 import b64encode

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.config import normalise_database_url
from fieldlink.customers.models import Contact, ContactMethod, Customer
from fieldlink.db import make_engine, make_sessionmaker, utcnow
from fieldlink.messaging.bulk import Intent, queue_messages
from fieldlink.messaging.models import Message
from fieldlink.messaging.service import queue_message
from fieldlink.messaging.templates import sample_variables
from fieldlink.migrate import upgrade

DB_NAME = "fieldlink_bench_delivery"
PROVIDER = """
import time
from tests.fakes.sms_provider import FakeSmsProvider
p = FakeSmsProvider().start()
print(p.url, flush=True)
time.sleep(10**7)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(admin_url: str, name: str = DB_NAME) -> str:
    url = make_url(normalise_database_url(admin_url))
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def seed_recipients(url: str, n: int, channel: str) -> int:
    """One customer, contact and method per message, inserted set-based."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        company_id = conn.execute(
            text(
                "INSERT INTO companies (name, company_code, sms_number, sender_email, "
                "sms_registration, country, time_zone, settings, created_at, updated_at) VALUES "
                "('Bench HVAC', 'bench', '+19195550199', 'svc@bench.example', 'approved', 'US', "
                "'America/New_York', '{}', now(), now()) RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO customers (company_id, name, type, do_not_mail, do_not_service, "
                "do_not_send_promotional_emails, credit, language, created_at, updated_at) "
                "SELECT :c, 'Customer ' || g, 'residential', false, false, false, 0, 'en', now(), "
                "now() FROM generate_series(1, :n) g"
            ),
            {"c": company_id, "n": n},
        )
        conn.execute(
            text(
                'INSERT INTO contacts (company_id, customer_id, name, role, "primary", '
                "created_at, updated_at) SELECT company_id, id, name, 'owner', true, now(), now() "
                "FROM customers WHERE company_id = :c"
            ),
            {"c": company_id},
        )
        value = (
            "'+1919' || lpad((1000000 + ct.id)::text, 7, '0')"
            if channel == "sms"
            else "'c' || ct.id || '@example.com'"
        )
        conn.execute(
            text(
                "INSERT INTO contact_methods (company_id, customer_id, contact_id, kind, value, "
                "phone_type, marketing_updates, job_notifications, marketing_sms_status, "
                "created_at, updated_at) SELECT ct.company_id, ct.customer_id, ct.id, :kind, "
                f"{value}, :ptype, true, true, 'none', now(), now() "
                "FROM contacts ct WHERE ct.company_id = :c"
            ),
            {
                "c": company_id,
                "kind": "phone" if channel == "sms" else "email",
                "ptype": "mobile" if channel == "sms" else None,
            },
        )
    analyze(engine)
    engine.dispose()
    return int(company_id)


def analyze(engine: Engine) -> None:
    """Planner statistics for the rows just loaded, as autovacuum would soon take: without
    them PostgreSQL takes the new tables for empty, and the harness's own recipient query
    (5,000 at a time) ran as nested loops over sequential scans, quadratic in N (100,000
    recipients: 165 s of loading around 3.4 s of enqueue)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


QUEUE_SECONDS: list[float] = []  # time inside queue_messages + commit, per batch
# CPU seconds of that same time: this process, and its PostgreSQL backend (from /proc, so
# only when the server runs on this machine). They survive a loaded machine; rates don't.
QUEUE_CPU = {"python": 0.0, "postgres": 0.0}


class EnqueueCpu:
    """Adds the CPU that this process and the session's PostgreSQL backend use inside the
    block to ``QUEUE_CPU``. The backend is asked its pid on entry (the pool may hand out
    another connection after a commit)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> EnqueueCpu:
        self.backend = 0
        if self.session.get_bind().dialect.name == "postgresql":
            self.backend = int(self.session.scalar(text("SELECT pg_backend_pid()")) or 0)
        self.backend_cpu = cpu_seconds(self.backend) if self.backend else 0.0
        self.python_cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        QUEUE_CPU["python"] += time.process_time() - self.python_cpu
        if self.backend:
            QUEUE_CPU["postgres"] += cpu_seconds(self.backend) - self.backend_cpu


def enqueue_bulk(url: str, company_id: int, channel: str, batch: int = 5000) -> tuple[int, float]:
    """``queue_messages``: consent, render, keys per message; rows written set-based.

    Each recipient gets its own variables (contact name), as ``notify`` builds them."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    variables = sample_variables()
    start = time.perf_counter()
    count = 0
    QUEUE_SECONDS.clear()
    QUEUE_CPU.update(python=0.0, postgres=0.0)
    with factory() as session:
        company = session.get(Company, company_id)
        assert company is not None
        last = 0
        while True:
            rows = session.execute(
                select(Customer, Contact, ContactMethod)
                .join(Contact, Contact.customer_id == Customer.id)
                .join(ContactMethod, ContactMethod.contact_id == Contact.id)
                .where(Customer.company_id == company_id, ContactMethod.id > last)
                .order_by(ContactMethod.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            intents = [
                Intent(
                    touchpoint="service_reminder",
                    channel=channel,
                    customer=customer,
                    contact=contact,
                    method=method,
                    variables={
                        **variables,
                        "contact": {"name": contact.name, "first_name": contact.name.split()[0]},
                    },
                    idempotency_key=f"bench:{method.id}",
                )
                for customer, contact, method in rows
            ]
            with EnqueueCpu(session):
                t0 = time.perf_counter()
                queue_messages(session, company=company, intents=intents, now=utcnow())
                session.commit()
                QUEUE_SECONDS.append(time.perf_counter() - t0)
            session.expunge_all()
            company = session.get(Company, company_id)
            assert company is not None
            count += len(rows)
            last = rows[-1][2].id
    elapsed = time.perf_counter() - start
    engine.dispose()
    return count, elapsed


def seed_appointments(url: str, company_id: int) -> None:
    """A job at a service location and one appointment per customer, 5,000 a day from
    tomorrow (the office list and ``POST /v1/reminders`` take up to 5,000 at a time)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO locations (company_id, customer_id, kind, line1, city, region, "
                "postcode, country, created_at, updated_at) SELECT company_id, id, 'service', "
                "id || ' Oak St', 'Raleigh', 'NC', '27601', 'US', now(), now() "
                "FROM customers WHERE company_id = :c"
            ),
            {"c": company_id},
        )
        conn.execute(
            text(
                "INSERT INTO jobs (company_id, customer_id, location_id, job_type, custom_fields, "
                "status, created_at, updated_at) SELECT company_id, customer_id, id, "
                "'AC Tune-up', '{}', 'open', now(), now() FROM locations WHERE company_id = :c"
            ),
            {"c": company_id},
        )
        conn.execute(
            text(
                "INSERT INTO appointments (company_id, job_id, window_start, window_end, "
                "schedule_type, status, created_at, updated_at) SELECT company_id, id, "
                "date_trunc('day', now()) + (1 + (row_number() over (order by id) - 1) / 5000) "
                "* interval '1 day' + interval '13 hours', date_trunc('day', now()) + "
                "(1 + (row_number() over (order by id) - 1) / 5000) * interval '1 day' "
                "+ interval '15 hours', 'window', 'scheduled', now(), now() "
                "FROM jobs WHERE company_id = :c"
            ),
            {"c": company_id},
        )
    analyze(engine)
    engine.dispose()


def enqueue_reminders(url: str, company_id: int, channel: str) -> tuple[int, float]:
    """The real trigger: ``triggers.remind_appointments`` for one day's list at a time (what
    ``POST /v1/reminders`` and the office appointment list run), one commit per day."""
    from datetime import timedelta

    from fieldlink.jobs.models import Appointment
    from fieldlink.links.tokens import LinkMaker
    from fieldlink.messaging.triggers import remind_appointments

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    links = LinkMaker(base_url="https://engage.example", secret="bench-secret")
    count = 0
    QUEUE_SECONDS.clear()
    QUEUE_CPU.update(python=0.0, postgres=0.0)
    start = time.perf_counter()
    with factory() as session:
        first, last = session.execute(
            select(func.min(Appointment.window_start), func.max(Appointment.window_start))
        ).one()
        day = first.replace(hour=0, minute=0)
        while day <= last:
            company = session.get(Company, company_id)
            assert company is not None
            with EnqueueCpu(session):
                result, _ = remind_appointments(
                    session,
                    company=company,
                    start=day,
                    end=day + timedelta(days=1),
                    status=None,
                    technician_id=None,
                    appointment_ids=None,
                    roles=(),
                    channels=(channel,),
                    links=links,
                    now=utcnow(),
                )
                session.commit()
            session.expunge_all()
            count += len(result.message_ids)
            day += timedelta(days=1)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return count, elapsed


def enqueue(url: str, company_id: int, channel: str, batch: int = 1000) -> tuple[int, float]:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    variables = sample_variables()
    start = time.perf_counter()
    count = 0
    with factory() as session:
        company = session.get(Company, company_id)
        assert company is not None
        rows = session.execute(
            select(Customer, Contact, ContactMethod)
            .join(Contact, Contact.customer_id == Customer.id)
            .join(ContactMethod, ContactMethod.contact_id == Contact.id)
            .where(Customer.company_id == company_id)
            .order_by(ContactMethod.id)
        ).all()
        for customer, contact, method in rows:
            queue_message(
                session,
                company=company,
                touchpoint="service_reminder",
                channel=channel,
                customer=customer,
                contact=contact,
                method=method,
                variables=variables,
                idempotency_key=f"bench:{method.id}",
                now=utcnow(),
            )
            count += 1
            if count % batch == 0:
                session.commit()
                session.expunge_all()
                company = session.get(Company, company_id)
        session.commit()
    elapsed = time.perf_counter() - start
    engine.dispose()
    return count, elapsed


def start_sinks(channel: str, sink: str = "fake") -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The provider in its own process: for texts the Python fake (``tests/fakes``) or the
    cheaper asyncio sink (``benchmarks/sms_sink.py``, same API shape and record)."""
    if channel == "sms":
        command = (
            [sys.executable, "-m", "benchmarks.sms_sink"]
            if sink == "asyncio"
            else [sys.executable, "-c", PROVIDER]
        )
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        return proc, {
            "FIELDLINK_SMS_PROVIDER": "twilio",
            "FIELDLINK_TWILIO_API_URL": url,
            "FIELDLINK_TWILIO_ACCOUNT_SID": "ACtest",
            "FIELDLINK_TWILIO_AUTH_TOKEN": "secret-token",
        }
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        text=True,
    )
    time.sleep(1.0)
    return proc, {
        "FIELDLINK_EMAIL_PROVIDER": "smtp",
        "FIELDLINK_SMTP_URL": f"smtp://127.0.0.1:{port}",
    }


def provider_references(env: dict[str, str]) -> list[str]:
    """Our reference (``flm-<message id>``) of every text the fake provider holds, repeats
    included: the provider's own record, the ground truth of what went out."""
    url = env["FIELDLINK_TWILIO_API_URL"] + "/2010-04-01/Accounts/ACtest/Messages.json"
    request = urllib.request.Request(
        url, headers={"Authorization": "Basic " + b64encode(b"ACtest:secret-token").decode()}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        messages = json.loads(response.read())["messages"]
    # A text without our reference can't be matched: it counts as unexpected.
    return [(m["status_callback"] or "?m=<none>").rsplit("m=", 1)[1] for m in messages]


def provider_count(env: dict[str, str]) -> tuple[int, int]:
    """(messages the fake provider holds, distinct references among them)."""
    refs = provider_references(env)
    return len(refs), len(set(refs))


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_backends(database: str) -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL backend connected to ``database`` (Linux
    /proc; the server's shared processes, WAL writer and checkpointer, are not counted)."""
    found: dict[int, float] = {}
    tag = f" {database} ".encode()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if cmdline.startswith(b"postgres: ") and tag in cmdline:
            found[int(entry)] = cpu_seconds(int(entry))
    return found


CPU: dict[str, float] = {}  # the last drain's CPU seconds: workers, the sink, PostgreSQL


def drain(
    url: str,
    n: int,
    workers: int,
    threads: int,
    env: dict[str, str],
    batch: int = 100,
    sink_pid: int | None = None,
) -> float:
    engine = make_engine(url)
    worker_env = {
        **os.environ,
        **env,
        "FIELDLINK_DATABASE_URL": url,
        "FIELDLINK_WORKER_BATCH_SIZE": str(batch),
        "FIELDLINK_LOG_LEVEL": "WARNING",
    }
    database = make_url(url).database or ""
    backends: dict[int, float] = {}  # highest CPU seen per backend (they may exit)
    before = postgres_backends(database)
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fieldlink", "worker", "--concurrency", str(threads)],
            env=worker_env,
        )
        for _ in range(workers)
    ]
    try:
        while True:
            with engine.connect() as conn:
                left = (
                    conn.scalar(
                        select(func.count())
                        .select_from(Message)
                        .where(Message.status.in_(("queued", "sending")))
                    )
                    or 0
                )
            for pid, used in postgres_backends(database).items():
                backends[pid] = max(used, backends.get(pid, 0.0))
            if left == 0:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        CPU["workers"] = sum(cpu_seconds(p.pid) for p in procs)
        CPU["postgres"] = sum(used - before.get(pid, 0.0) for pid, used in backends.items())
        CPU["sink"] = cpu_seconds(sink_pid) if sink_pid else 0.0
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="worker threads per process")
    parser.add_argument("--batch", type=int, default=100, help="jobs a worker claims at once")
    parser.add_argument("--database", default=DB_NAME, help="scratch database (dropped first)")
    parser.add_argument("--channel", choices=("sms", "email"), default="sms")
    parser.add_argument(
        "--enqueue",
        choices=("bulk", "single", "reminders"),
        default="bulk",
        help="queue_messages in batches of 5,000 (bulk), one queue_message per message "
        "(single), or the bulk-reminder trigger over appointment lists of 5,000 (reminders)",
    )
    parser.add_argument("--no-drain", action="store_true", help="only time the enqueue")
    parser.add_argument(
        "--sink",
        choices=("fake", "asyncio"),
        default="fake",
        help="texts: the Python fake provider (tests/fakes) or the cheap asyncio sink "
        "(benchmarks/sms_sink.py)",
    )
    args = parser.parse_args()
    admin = os.environ.get(
        "FIELDLINK_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"
    )
    url = fresh_database(admin, args.database)
    t0 = time.perf_counter()
    company_id = seed_recipients(url, args.messages, args.channel)
    print(f"seeded {args.messages:,} recipients in {time.perf_counter() - t0:.1f} s", flush=True)
    if args.enqueue == "bulk":
        count, enqueue_s = enqueue_bulk(url, company_id, args.channel)
    elif args.enqueue == "reminders":
        seed_appointments(url, company_id)
        count, enqueue_s = enqueue_reminders(url, company_id, args.channel)
    else:
        count, enqueue_s = enqueue(url, company_id, args.channel)
    print(
        f"enqueue ({args.enqueue}: consent + render + message and outbox rows): "
        f"{count:,} in {enqueue_s:.2f} s = {count / enqueue_s:,.0f} messages/s",
        flush=True,
    )
    if QUEUE_SECONDS:
        queued_s = sum(QUEUE_SECONDS)
        print(
            f"  of which queue_messages + commit (recipients already loaded): {queued_s:.2f} s "
            f"= {count / queued_s:,.0f} messages/s",
            flush=True,
        )
    if QUEUE_CPU["python"]:
        within = "queue_messages + commit" if QUEUE_SECONDS else "remind_appointments + commit"
        print(
            f"  cpu per message in {within}: python {QUEUE_CPU['python'] / count * 1e6:.0f} µs, "
            f"postgres backend {QUEUE_CPU['postgres'] / count * 1e6:.0f} µs "
            f"(load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    if args.no_drain:
        return
    sink, env = start_sinks(args.channel, args.sink)
    try:
        sink_cpu = cpu_seconds(sink.pid)
        drain_s = drain(url, count, args.workers, args.threads, env, args.batch, sink.pid)
        print(
            f"deliver ({args.workers} processes x {args.threads} threads, batch {args.batch}, "
            f"{args.channel}, sink {args.sink}): {count:,} in {drain_s:.1f} s "
            f"= {count / drain_s:,.0f} messages/s",
            flush=True,
        )
        if CPU.get("workers"):
            print(
                f"cpu per message: workers {CPU['workers'] / count * 1000:.2f} ms "
                f"(start-up included), sink {(CPU['sink'] - sink_cpu) / count * 1000:.2f} ms, "
                f"PostgreSQL backends {CPU['postgres'] / count * 1000:.2f} ms",
                flush=True,
            )
        engine = make_engine(url)
        with engine.connect() as conn:
            sent = (
                conn.scalar(
                    select(func.count()).select_from(Message).where(Message.status == "sent")
                )
                or 0
            )
        engine.dispose()
        if args.channel == "sms":
            held, distinct = provider_count(env)
            print(
                f"check: {sent:,} marked sent; provider holds {held:,} "
                f"({distinct:,} distinct): lost {count - distinct}, "
                f"duplicated {held - distinct}, unexpected {max(0, distinct - count)}"
            )
        else:
            print(f"check: {sent:,} marked sent of {count:,}")
    finally:
        sink.terminate()
        sink.wait(timeout=10)


if __name__ == "__main__":
    main()
