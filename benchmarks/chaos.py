"""Chaos: worker processes drain texts while a killer SIGKILLs one every ~2 s and restarts it.

    .venv/bin/python -m benchmarks.chaos                          # 10,000 texts, 8 workers
    .venv/bin/python -m benchmarks.chaos --messages 2000 --workers 4 --kill-every 1

Messages are seeded and queued with benchmarks/delivery.py's code (real ``queue_message``);
real ``fieldlink worker`` processes deliver to the Twilio-compatible fake provider (its own
process), with a short visibility timeout so a killed worker's claim is taken over soon.
Then a checker in the style of Jepsen's queue checker compares the provider's own record
with the outbox: ``lost`` (queued, never reached the provider), ``duplicated`` (reached it
more than once), ``unexpected`` (at the provider, never queued). The target is 0 / 0 / 0:
a row caught mid-attempt is reconciled with the provider before any resend (DESIGN.md 1).
``FIELDLINK_BENCH_DATABASE_URL`` is the admin URL (default postgresql://postgres@127.0.0.1/postgres).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from benchmarks.delivery import (
    enqueue,
    fresh_database,
    provider_references,
    seed_recipients,
    start_sinks,
)
from fieldlink.db import make_engine
from fieldlink.messaging.models import Message

DB_NAME = "fieldlink_bench_chaos"


@dataclass(frozen=True)
class Verdict:
    """Jepsen-style queue check: every queued message reaches the provider exactly once."""

    queued: int
    delivered: int
    lost: int
    duplicated: int
    unexpected: int
    not_sent_in_db: int

    @property
    def valid(self) -> bool:
        return self.lost == self.duplicated == self.unexpected == self.not_sent_in_db == 0

    def line(self) -> str:
        return (
            f"queued {self.queued:,}, delivered {self.delivered:,}: lost {self.lost}, "
            f"duplicated {self.duplicated}, unexpected {self.unexpected} "
            f"(rows not 'sent' in the database: {self.not_sent_in_db}) -> "
            + ("VALID" if self.valid else "INVALID")
        )


def check(engine: Engine, references: Iterable[str]) -> Verdict:
    """Compare the provider's record (references, repeats included) with the outbox."""
    with engine.connect() as conn:
        rows = conn.execute(select(Message.id, Message.status)).all()
    expected = {f"flm-{message_id}" for message_id, _ in rows}
    seen = Counter(references)
    return Verdict(
        queued=len(expected),
        delivered=len(set(seen) & expected),
        lost=len(expected - set(seen)),
        duplicated=sum(n - 1 for n in seen.values() if n > 1),
        unexpected=len(set(seen) - expected),
        not_sent_in_db=sum(1 for _, status in rows if status != "sent"),
    )


def unsettled(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.status.in_(("queued", "sending")))
            )
            or 0
        )


def worker_command(threads: int) -> list[str]:
    return [sys.executable, "-m", "fieldlink", "worker", "--concurrency", str(threads)]


def drain_under_fire(
    url: str,
    env: dict[str, str],
    *,
    workers: int,
    threads: int = 1,
    kill_every: float = 2.0,
    visibility_timeout: float = 3.0,
    timeout: float = 900.0,
    rng: random.Random | None = None,
    log: Callable[[str], None] = print,
) -> tuple[float, int]:
    """Run ``workers`` worker processes until nothing is queued or sending, SIGKILLing a
    random one about every ``kill_every`` seconds and starting a new one in its place.
    Returns (seconds, kills)."""
    rng = rng or random.Random(7)
    engine = make_engine(url)
    worker_env = {
        **os.environ,
        **env,
        "FIELDLINK_DATABASE_URL": url,
        "FIELDLINK_WORKER_VISIBILITY_TIMEOUT": str(visibility_timeout),
        "FIELDLINK_LOG_LEVEL": "WARNING",
    }

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(worker_command(threads), env=worker_env)

    procs = [spawn() for _ in range(workers)]
    born = [time.perf_counter()] * workers
    kills = 0
    start = time.perf_counter()
    next_kill = start + kill_every * rng.uniform(0.5, 1.5)
    try:
        while unsettled(engine) > 0:
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"messages still unsettled after {timeout:.0f} s")
            now = time.perf_counter()
            # Only a worker that has had time to start (imports take seconds on a busy
            # machine) is worth killing: killing newborns would only stall the drain.
            grown = [i for i, t in enumerate(born) if now - t >= kill_every]
            if now >= next_kill and grown:
                victim = rng.choice(grown)
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait(timeout=30)
                procs[victim] = spawn()
                born[victim] = time.perf_counter()
                kills += 1
                next_kill = time.perf_counter() + kill_every * rng.uniform(0.5, 1.5)
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        engine.dispose()
    log(f"drained under fire: {kills} SIGKILLs in {elapsed:.1f} s")
    return elapsed, kills


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="worker threads per process")
    parser.add_argument("--kill-every", type=float, default=2.0, help="seconds between kills")
    parser.add_argument("--visibility-timeout", type=float, default=3.0)
    parser.add_argument("--database", default=DB_NAME, help="scratch database (dropped first)")
    args = parser.parse_args()
    admin = os.environ.get(
        "FIELDLINK_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"
    )
    url = fresh_database(admin, args.database)
    company_id = seed_recipients(url, args.messages, "sms")
    count, enqueue_s = enqueue(url, company_id, "sms")
    print(f"queued {count:,} texts in {enqueue_s:.1f} s", flush=True)
    sink, env = start_sinks("sms")
    try:
        elapsed, kills = drain_under_fire(
            url,
            env,
            workers=args.workers,
            threads=args.threads,
            kill_every=args.kill_every,
            visibility_timeout=args.visibility_timeout,
        )
        engine = make_engine(url)
        verdict = check(engine, provider_references(env))
        engine.dispose()
        print(
            f"{args.workers} workers, SIGKILL every ~{args.kill_every:g} s: {kills} kills, "
            f"{count:,} texts in {elapsed:.1f} s = {count / elapsed:,.0f} messages/s"
        )
        print(f"check: {verdict.line()}")
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    sys.exit(0 if verdict.valid else 1)


if __name__ == "__main__":
    main()
