"""Real worker processes on a real database: several at once, killed, and stopped politely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from fieldlink.db import make_engine, make_sessionmaker, session_scope
from fieldlink.migrate import upgrade
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.publish import publish

SCRIPT = Path(__file__).with_name("worker_proc.py")


@pytest.fixture
def db(fresh_database_url: str) -> Iterator[tuple[str, Engine]]:
    engine = make_engine(fresh_database_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE effects (job_id INTEGER NOT NULL, worker VARCHAR(100))"))
    yield fresh_database_url, engine
    engine.dispose()


def enqueue(engine: Engine, n: int) -> None:
    with session_scope(make_sessionmaker(engine)) as session:
        for i in range(n):
            publish(session, "test.record", i=i)


def start(url: str, *, vt: float = 30, sleep: float = 0, batch: int = 10) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), url, str(vt), str(sleep), str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def open_jobs(engine: Engine) -> int:
    with engine.connect() as conn:
        return (
            conn.scalar(
                select(func.count()).select_from(OutboxJob).where(OutboxJob.status != "done")
            )
            or 0
        )


def wait_until_drained(engine: Engine, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while open_jobs(engine) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_jobs(engine) == 0, "queue did not drain"


def effects(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(text("SELECT job_id, worker FROM effects"))]


def stop_all(procs: list[subprocess.Popen[str]]) -> list[int]:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    return [p.wait(timeout=20) for p in procs]


def test_parallel_workers_run_every_job_exactly_once(db: tuple[str, Engine]) -> None:
    url, engine = db
    postgres = engine.dialect.name == "postgresql"
    n_workers = 4 if postgres else 1  # SQLite serialises writers: one worker is supported
    enqueue(engine, 400)
    procs = [start(url, batch=5) for _ in range(n_workers)]
    try:
        wait_until_drained(engine)
    finally:
        codes = stop_all(procs)
    assert codes == [0] * n_workers  # SIGTERM is a clean exit
    done = effects(engine)
    job_ids = [j for j, _ in done]
    assert len(job_ids) == 400 and len(set(job_ids)) == 400
    if postgres:
        assert len({w for _, w in done}) > 1, "the queue was shared between processes"


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    db: tuple[str, Engine],
) -> None:
    url, engine = db
    enqueue(engine, 40)
    victim = start(url, vt=2, sleep=0.05, batch=10)
    deadline = time.monotonic() + 30
    while len(effects(engine)) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)  # no chance to finish or release its claimed rows
    victim.wait(timeout=10)
    with engine.connect() as conn:
        stranded = (
            conn.scalar(
                select(func.count()).select_from(OutboxJob).where(OutboxJob.status == "running")
            )
            or 0
        )
    assert stranded > 0, "the kill should have left claimed rows behind"
    rescuer = start(url, vt=2)
    try:
        wait_until_drained(engine)
    finally:
        stop_all([rescuer])
    job_ids = [j for j, _ in effects(engine)]
    assert sorted(job_ids) == sorted(set(job_ids)) and len(job_ids) == 40
    with engine.connect() as conn:
        retried = (
            conn.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.attempts == 2))
            or 0
        )
    assert retried >= 1  # the stranded rows were taken again after the visibility timeout


def test_sigterm_finishes_the_job_in_hand_and_releases_the_rest(db: tuple[str, Engine]) -> None:
    url, engine = db
    enqueue(engine, 20)
    proc = start(url, vt=300, sleep=0.3, batch=20)
    deadline = time.monotonic() + 30
    while not effects(engine) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stop_all([proc]) == [0]
    with engine.connect() as conn:
        running = (
            conn.scalar(
                select(func.count()).select_from(OutboxJob).where(OutboxJob.status == "running")
            )
            or 0
        )
        done = (
            conn.scalar(
                select(func.count()).select_from(OutboxJob).where(OutboxJob.status == "done")
            )
            or 0
        )
    # Nothing is left locked for 300 s: unstarted rows went straight back to pending.
    assert running == 0
    assert done == len(effects(engine)) and 0 < done < 20
