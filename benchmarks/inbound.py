"""Inbound texts in one process: CPU and SQL statements per text, for each half.

    .venv/bin/python -m benchmarks.inbound                  # 1,000 keywords, 2,000 threaded
    .venv/bin/python -m benchmarks.inbound --keywords 500 --texts 5000

Two figures on a fresh PostgreSQL database (``FIELDLINK_BENCH_DATABASE_URL`` is the admin
URL, default postgresql://postgres@127.0.0.1/postgres), no HTTP:

- **keyword** — what the webhook itself does for STOP/START (``reply_to_webhook`` in a
  transaction of its own, as the webhook lane runs it), from 500 senders;
- **threading** — what a worker does for ordinary texts the webhook recorded (a real
  ``Worker`` limited to ``sms.receive``, default batch size), from 500 senders.

Each prints texts/s for one thread, CPU ms per text (this process only; PostgreSQL's is not
counted) and SQL statements per text, counted with a SQLAlchemy ``before_cursor_execute``
event, with the commonest statements. ``webhooks.py`` measures the same paths under HTTP
load; this one says where a text's time goes.
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from collections.abc import Callable

from sqlalchemy import Engine, event

from benchmarks.delivery import fresh_database
from benchmarks.webhooks import NUMBER, seed
from fieldlink.channels.email import LogEmailTransport
from fieldlink.channels.registry import Channels, configure
from fieldlink.channels.sms import LogSmsTransport
from fieldlink.db import make_engine, make_sessionmaker, session_scope, utcnow
from fieldlink.handlers import load_handlers
from fieldlink.outbox.worker import Worker
from fieldlink.sms import inbound

DB_NAME = "fieldlink_bench_inbound"
SENDERS = 500


def counting(engine: Engine) -> collections.Counter[str]:
    seen: collections.Counter[str] = collections.Counter()

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        words = statement.split()
        if words[0] in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
            seen[words[0] + (" SAVEPOINT" if words[0] != "SAVEPOINT" else "")] += 1
        else:
            seen[" ".join(words[:4])[:70]] += 1

    return seen


def measure(label: str, n: int, seen: collections.Counter[str], run: Callable[[], int]) -> None:
    seen.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    done = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{label}: {done:,} texts, {done / wall:,.0f} texts/s in one thread, "
        f"{1000 * cpu / max(done, 1):.2f} ms CPU and "
        f"{sum(seen.values()) / max(done, 1):.1f} statements per text"
    )
    for statement, count in seen.most_common(12):
        print(f"  {count / max(done, 1):5.2f}  {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keywords", type=int, default=1000, help="STOP/START texts")
    parser.add_argument("--texts", type=int, default=2000, help="ordinary texts to thread")
    args = parser.parse_args()
    admin = os.environ.get(
        "FIELDLINK_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"
    )
    url = fresh_database(admin, DB_NAME)
    seed(url, sent_messages=1)
    load_handlers()
    configure(Channels(email=LogEmailTransport(), sms=LogSmsTransport(), base_url="http://x"))
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    seen = counting(engine)

    def keywords() -> int:
        for i in range(args.keywords):
            form = {
                "To": NUMBER,
                "From": f"+1984555{i % SENDERS:04d}",
                "Body": "STOP" if (i // SENDERS) % 2 == 0 else "START",
                "MessageSid": f"SMkw{i:08d}",
            }
            with session_scope(factory) as session:
                inbound.reply_to_webhook(session, form, base_url="http://x", now=utcnow())
        return args.keywords

    def threading() -> int:
        worker = Worker(factory, name="bench", topics=[inbound.RECEIVE_TOPIC])
        taken = 0
        while step := worker.run_once():
            taken += step
        return taken

    measure("keyword, applied by the webhook", args.keywords, seen, keywords)
    with session_scope(factory) as session:
        now = utcnow()
        inbound.record_received(
            session,
            [
                inbound.received(
                    {
                        "To": NUMBER,
                        "From": f"+1984556{i % SENDERS:04d}",
                        "Body": "Running about 10 minutes late, gate code 1234",
                        "MessageSid": f"SMin{i:08d}",
                    },
                    now,
                )
                for i in range(args.texts)
            ],
        )
    measure("ordinary text, threaded by a worker", args.texts, seen, threading)
    engine.dispose()


if __name__ == "__main__":
    main()
