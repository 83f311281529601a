"""The outbox worker: claim due jobs, run their handlers, retry with backoff, never lose one.

Claiming is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` on
PostgreSQL, so any number of workers share the queue without taking a row twice. SQLite
serialises writers, so the same UPDATE is safe there too (one worker is what we support).
A claim bumps ``attempts`` and sets ``locked_until``: a worker that dies mid-job leaves the
row ``running`` and another worker takes it again once the lock expires.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.db import any_of, utcnow
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.registry import (
    BatchContext,
    JobContext,
    PermanentError,
    RetryLater,
    get_batch_handler,
    get_handler,
)

log = logging.getLogger("fieldlink.worker")
Claimed = tuple[int, str, dict[str, Any], int, int]  # id, topic, payload, attempts, max


@dataclass(frozen=True)
class WorkerConfig:
    batch_size: int = 20
    visibility_timeout: float = 60.0
    poll_interval: float = 0.5
    backoff_base: float = 5.0
    backoff_cap: float = 3600.0


def backoff_delay(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, times a factor in [0.5, 1.5).

    Jitter spreads retries of a provider outage so they don't return as one thundering herd.
    """
    exp = min(cap, base * (2 ** max(0, attempts - 1)))
    return float(exp * (0.5 + rng.random()))


class Worker:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        name: str | None = None,
        config: WorkerConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        topics: Collection[str] | None = None,
    ) -> None:
        self.factory = factory
        # Only these topics, when given (a worker dedicated to, say, inbound texts).
        self.topics = sorted(topics) if topics is not None else None
        # Unique per Worker, not per thread id: run_workers builds every thread's Worker in
        # the main thread, and the `locked_by` guards must tell those threads apart.
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_until: datetime | None = None
        self.config = config or WorkerConfig()
        self.clock = clock
        self.rng = rng or random.Random()
        self.stopping = threading.Event()

    # -- claiming ---------------------------------------------------------------------
    def claim(self, limit: int | None = None) -> list[Claimed]:
        """Take up to ``limit`` due jobs in one short transaction."""
        now = self.clock()
        t = cast(Table, OutboxJob.__table__)
        due = or_(
            and_(t.c.status == "pending", t.c.run_at <= now),
            and_(t.c.status == "running", t.c.locked_until < now),
        )
        with self.factory() as session:
            pick = select(t.c.id).where(due).order_by(t.c.run_at, t.c.id)
            if self.topics is not None:
                pick = pick.where(t.c.topic.in_(self.topics))
            pick = pick.limit(limit or self.config.batch_size)
            if session.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            stmt = (
                update(t)
                .where(t.c.id.in_(pick.scalar_subquery()))
                .values(
                    status="running",
                    attempts=t.c.attempts + 1,
                    locked_until=now + timedelta(seconds=self.config.visibility_timeout),
                    locked_by=self.name,
                )
                .returning(t.c.id, t.c.topic, t.c.payload, t.c.attempts, t.c.max_attempts)
            )
            rows = [(r[0], r[1], r[2], r[3], r[4]) for r in session.execute(stmt).all()]
            session.commit()
        self.lease_until = now + timedelta(seconds=self.config.visibility_timeout)
        rows.sort(key=lambda r: r[0])
        return rows

    # -- running ----------------------------------------------------------------------
    def run_once(self) -> int:
        """Claim one batch and run it; returns how many jobs were taken."""
        claimed = self.claim()
        batches: dict[str, list[Claimed]] = {}
        for job in claimed:
            if get_batch_handler(job[1]) is not None and job[3] <= job[4]:
                batches.setdefault(job[1], []).append(job)
                continue
            if self.stopping.is_set():
                # Not started: hand the row straight back instead of waiting for the lock.
                self._release(job[0])
                continue
            self._run(*job)
        for topic, jobs in batches.items():
            if self.stopping.is_set():
                for job in jobs:
                    self._release(job[0])
                continue
            self._run_batch(topic, jobs)
        return len(claimed)

    def run(self) -> None:
        """Loop until ``stop()``; finishes the job in hand before returning."""
        log.info("worker %s started", self.name)
        while not self.stopping.is_set():
            try:
                taken = self.run_once()
            except Exception:  # a database blip must not kill the worker
                log.exception("worker %s: claim failed", self.name)
                taken = 0
            if taken == 0:
                self.stopping.wait(self.config.poll_interval)
        log.info("worker %s stopped", self.name)

    def stop(self) -> None:
        self.stopping.set()

    def _run(
        self, job_id: int, topic: str, payload: dict[str, Any], attempts: int, max_attempts: int
    ) -> None:
        fn = get_handler(topic)
        with self.factory() as session:
            ctx = JobContext(
                id=job_id,
                topic=topic,
                payload=payload,
                attempts=attempts,
                max_attempts=max_attempts,
                session=session,
                now=self.clock(),
                worker=self.name,
                _checkpoint=session.commit,
            )
            try:
                if attempts > max_attempts:
                    raise PermanentError(f"gave up after {max_attempts} attempts")
                if fn is None:
                    raise PermanentError(f"no handler for topic {topic!r}")
                fn(ctx)
                self._finish(session, job_id, "done", None)
                session.commit()
                return
            except PermanentError as exc:
                error, delay, final = f"{exc}", None, True
            except RetryLater as exc:
                error, delay, final = f"{exc}", exc.delay, attempts >= max_attempts
            except Exception as exc:
                error = "".join(traceback.format_exception_only(exc)).strip()
                delay, final = None, attempts >= max_attempts
                log.warning("job %s (%s) attempt %s failed: %s", job_id, topic, attempts, error)
            session.rollback()
        with self.factory() as session:
            self._settle(session, job_id, attempts, error, delay, final)
            session.commit()

    def _run_batch(self, topic: str, jobs: list[Claimed]) -> None:
        """Run every claimed job of a topic through its batch handler, then record all
        outcomes in one transaction. A handler that raises retries the whole batch."""
        fn = get_batch_handler(topic)
        assert fn is not None
        with self.factory() as session:
            now = self.clock()
            batch = BatchContext(
                jobs=[
                    JobContext(
                        id=j[0],
                        topic=topic,
                        payload=j[2],
                        attempts=j[3],
                        max_attempts=j[4],
                        session=session,
                        now=now,
                        worker=self.name,
                        _checkpoint=session.commit,
                    )
                    for j in jobs
                ],
                session=session,
                now=now,
                worker=self.name,
                _checkpoint=session.commit,
                _may_start=self._may_start,
                clock=self.clock,
            )
            try:
                fn(batch)
            except Exception as exc:
                session.rollback()
                error = "".join(traceback.format_exception_only(exc)).strip()
                log.warning("batch of %s %s jobs failed: %s", len(jobs), topic, error)
                batch.outcomes = {j[0]: ("retry", error, None) for j in jobs}
                batch.settled.clear()  # rolled back with the rest
            done = [j[0] for j in jobs if j[0] not in batch.outcomes and j[0] not in batch.settled]
            if done:
                t = cast(Table, OutboxJob.__table__)  # Core: no ORM session sync to evaluate
                session.execute(
                    update(t)
                    .where(any_of(session, t.c.id, done), t.c.locked_by == self.name)
                    .values(
                        status="done", finished_at=self.clock(), locked_until=None, last_error=None
                    )
                )
            by_id = {j[0]: j for j in jobs}
            for job_id, (kind, error, delay) in batch.outcomes.items():
                attempts, max_attempts = by_id[job_id][3], by_id[job_id][4]
                final = kind == "failed" or attempts >= max_attempts
                self._settle(session, job_id, attempts, error, delay, final)
            session.commit()

    def _may_start(self) -> bool:
        """Whether a side effect (a provider call) may still begin under this claim.

        Once the lease runs out another worker may take the rows, find them ``sending``,
        ask the provider, find nothing yet and send: a request begun late by this worker
        would then be a second copy. So nothing starts in the last third of the lease
        (20 s of the default 60 s, more than a provider request's 15 s timeout)."""
        if self.lease_until is None:
            return True
        margin = timedelta(seconds=self.config.visibility_timeout / 3)
        return self.clock() < self.lease_until - margin

    def _settle(
        self,
        session: Session,
        job_id: int,
        attempts: int,
        error: str,
        delay: float | None,
        final: bool,
    ) -> None:
        """Record a failed attempt: failed for good, or pending again after a backoff."""
        if final:
            self._finish(session, job_id, "failed", error)
            return
        wait = (
            delay
            if delay is not None
            else backoff_delay(
                attempts, base=self.config.backoff_base, cap=self.config.backoff_cap, rng=self.rng
            )
        )
        session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == job_id, OutboxJob.locked_by == self.name)
            .values(
                status="pending",
                run_at=self.clock() + timedelta(seconds=wait),
                locked_until=None,
                locked_by=None,
                last_error=error[:4000],
            )
        )

    def _finish(self, session: Session, job_id: int, status: str, error: str | None) -> None:
        # Guarded by locked_by: if our lock expired and another worker took the row, the
        # newer claim owns the outcome.
        session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == job_id, OutboxJob.locked_by == self.name)
            .values(
                status=status,
                finished_at=self.clock(),
                locked_until=None,
                last_error=error[:4000] if error else None,
            )
        )

    def _release(self, job_id: int) -> None:
        with self.factory() as session:
            session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == job_id, OutboxJob.locked_by == self.name)
                .values(
                    status="pending",
                    attempts=OutboxJob.attempts - 1,
                    locked_until=None,
                    locked_by=None,
                )
            )
            session.commit()


def run_workers(
    factory: sessionmaker[Session],
    *,
    concurrency: int = 1,
    config: WorkerConfig | None = None,
    install_signals: bool = True,
) -> None:
    """Run ``concurrency`` worker threads until SIGTERM/SIGINT, then finish and exit."""
    workers = [Worker(factory, config=config) for _ in range(max(1, concurrency))]

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        log.info("stopping: finishing jobs in hand")
        for w in workers:
            w.stop()

    if install_signals:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    threads = [
        threading.Thread(target=w.run, name=f"worker-{i}", daemon=True)
        for i, w in enumerate(workers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(timeout=0.5)
