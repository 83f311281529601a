"""Benchmark: the consent audience query for every channel over N customers in PostgreSQL.

    .venv/bin/python -m benchmarks.audience [--customers 1000000] [--reuse] [--fetch]

Creates (or with ``--reuse`` keeps) the database ``fieldlink_bench`` on the server of
``FIELDLINK_BENCH_DATABASE_URL`` (admin URL, default postgresql://postgres@127.0.0.1/postgres),
runs the migrations, loads N customers with 2-3 contact methods each and a realistic mix of
flags with INSERT ... SELECT generate_series, then times ``eligible_recipients`` for each of
the five channels (median of 3, counted in the server) and prints rows/s. ``--fetch`` also
times streaming every row into Python. Figures go in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from fieldlink.consent.audience import eligible_recipients, tune_for_bulk_read
from fieldlink.consent.rules import CHANNELS, CompanyConsent
from fieldlink.db import make_engine
from fieldlink.migrate import upgrade

DB_NAME = "fieldlink_bench"
CITIES = (
    "ARRAY['Raleigh','Durham','Cary','Apex','Wake Forest','Garner','Chapel Hill','Holly Springs']"
)

LOAD = [
    """INSERT INTO companies (id, name, company_code, sms_registration, country, time_zone,
           settings, created_at, updated_at)
       VALUES (1, 'Bench Heating', 'bench', 'unknown', 'US', 'America/New_York',
           '{"marketing_suite": true, "double_opt_in": true,
             "dormant_email_suppression": true}', now(), now())""",
    # 2% do not mail, 1% do not service, 5% unsubscribed from promotional email.
    """INSERT INTO customers (id, company_id, name, type, do_not_mail, do_not_service,
           do_not_send_promotional_emails, credit, language, created_at, updated_at)
       SELECT g, 1, 'Customer ' || g,
           CASE WHEN g % 10 = 0 THEN 'commercial' ELSE 'residential' END,
           g % 50 = 0, g % 100 = 7, g % 20 = 3, 0, 'en', now(), now()
       FROM generate_series(1, :n) g""",
    """INSERT INTO contacts (id, company_id, customer_id, name, role, "primary",
           created_at, updated_at)
       SELECT g, 1, g, 'Contact ' || g, 'owner', true, now(), now()
       FROM generate_series(1, :n) g""",
    # One service address each; 2% lack a postcode.
    f"""INSERT INTO locations (id, company_id, customer_id, kind, line1, city, postcode,
           country, created_at, updated_at)
       SELECT g, 1, g, 'service', g || ' Main St', ({CITIES})[1 + g % 8],
           CASE WHEN g % 50 = 1 THEN NULL ELSE lpad((27500 + g % 300)::text, 5, '0') END,
           'US', now(), now()
       FROM generate_series(1, :n) g""",
    # Methods: an email for 90%, a phone for all (85% mobile), a second email for half.
    # 80% marketing updates, 95% job notifications; SMS status 30% opted in, 5% opted out.
    """INSERT INTO contact_methods (id, company_id, customer_id, contact_id, kind, value,
           phone_type, marketing_updates, job_notifications, marketing_sms_status,
           created_at, updated_at)
       SELECT 3 * g + k, 1, g, g,
           CASE WHEN k = 1 THEN 'phone' ELSE 'email' END,
           CASE k WHEN 0 THEN 'c' || g || '@example.com'
                  WHEN 1 THEN '+1919' || lpad((g % 10000000)::text, 7, '0')
                  ELSE 'c' || g || '.alt@example.org' END,
           CASE WHEN k = 1 THEN CASE WHEN g % 20 < 3 THEN 'landline' ELSE 'mobile' END END,
           (g + k) % 5 <> 0, (g + k) % 20 <> 0,
           CASE WHEN k <> 1 THEN 'none' WHEN g % 20 < 6 THEN 'opted_in'
                WHEN g % 20 = 6 THEN 'opted_out' WHEN g % 20 = 7 THEN 'pending'
                ELSE 'none' END,
           now(), now()
       FROM generate_series(1, :n) g, generate_series(0, 2) k
       WHERE (k = 0 AND g % 10 <> 0) OR k = 1 OR (k = 2 AND g % 2 = 0)""",
    """INSERT INTO customer_tags (company_id, customer_id, tag)
       SELECT 1, g, 'Opted In' FROM generate_series(1, :n) g WHERE g % 5 <> 0""",
    """INSERT INTO customer_tags (company_id, customer_id, tag)
       SELECT 1, g, 'Email Dormant' FROM generate_series(1, :n) g WHERE g % 10 = 4""",
    """INSERT INTO suppressions (company_id, email, reason, created_at)
       SELECT 1, 'c' || g || '@example.com', 'bounce', now()
       FROM generate_series(1, :n, 97) g LIMIT 10000""",
]


def _database(admin_url: str, *, reuse: bool) -> tuple[str, bool]:
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB_NAME})
        if exists and not reuse:
            conn.execute(text(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)'))
        if not exists or not reuse:
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)
    return url, bool(exists and reuse)


def build(engine: Engine, n: int) -> None:
    upgrade(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        for stmt in LOAD:
            conn.execute(text(stmt), {"n": n})
        for table in ("companies", "customers", "contacts", "locations", "contact_methods"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"built {n:,} customers in {time.perf_counter() - started:.1f} s")


# The shape of peer figure 1c (/work/shared/peers/RESULTS.md): every method joined to its
# customer on flag columns, anti-joined to the suppression list, counted. Timed in the same
# run, it calibrates our figures against the machine's load at the time.
CALIBRATION = """
    SELECT count(*) FROM contact_methods m JOIN customers c ON c.id = m.customer_id
    WHERE NOT c.do_not_mail AND NOT c.do_not_service AND m.marketing_updates
      AND m.job_notifications AND m.marketing_sms_status <> 'opted_out'
      AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email = m.value)"""


def calibrate(engine: Engine, repeat: int = 3) -> float:
    with engine.connect() as conn:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            rows = conn.scalar(text(CALIBRATION)) or 0
            times.append(time.perf_counter() - t0)
    best = statistics.median(times)
    print(f"{'peer 1c shape':20s} {rows:>10,} rows  {best:6.3f} s  (peer figure 1c: 0.57 s)")
    return best


def run(engine: Engine, *, fetch: bool, tuned: bool, repeat: int = 3) -> float:
    settings = CompanyConsent(
        marketing_suite=True, double_opt_in=True, dormant_email_suppression=True
    )
    with engine.connect() as conn:
        methods = conn.scalar(text("SELECT count(*) FROM contact_methods"))
        customers = conn.scalar(text("SELECT count(*) FROM customers"))
        print(
            f"{customers:,} customers, {methods:,} contact methods; PostgreSQL "
            f"{conn.scalar(text('SHOW server_version'))}"
        )
        print(
            "settings:",
            "tune_for_bulk_read (work_mem 64MB, jit off)" if tuned else "server defaults",
        )
        conn.commit()  # each timed query runs in its own transaction below
        total = 0.0
        for channel in CHANNELS:
            stmt = eligible_recipients(1, channel, settings)
            counted = select(func.count()).select_from(stmt.subquery())
            times, rows = [], 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                with conn.begin():
                    if tuned:
                        tune_for_bulk_read(conn)
                    rows = conn.scalar(counted) or 0
                times.append(time.perf_counter() - t0)
            best = statistics.median(times)
            total += best
            line = f"{channel:20s} {rows:>10,} rows  {best:6.3f} s  {rows / best:>12,.0f} rows/s"
            if fetch:
                t0 = time.perf_counter()
                with conn.begin():
                    if tuned:
                        tune_for_bulk_read(conn)
                    result = conn.execute(stmt, execution_options={"stream_results": True})
                    fetched = sum(1 for _ in result)
                elapsed = time.perf_counter() - t0
                line += f"   fetch into Python {elapsed:6.3f} s ({fetched / elapsed:,.0f} rows/s)"
            print(line, flush=True)
        print(f"{'all five channels':20s} {'':>10}       {total:6.3f} s (target < 5 s)")
        return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench database")
    parser.add_argument("--fetch", action="store_true", help="also stream rows into Python")
    args = parser.parse_args()
    admin = os.environ.get(
        "FIELDLINK_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"
    )
    url, reused = _database(admin, reuse=args.reuse)
    engine = make_engine(url)
    if not reused:
        build(engine, args.customers)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    calibrate(engine)
    for tuned in (False, True):
        run(engine, fetch=args.fetch, tuned=tuned)
    calibrate(engine)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    engine.dispose()


if __name__ == "__main__":
    main()
