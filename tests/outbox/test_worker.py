"""The outbox worker in-process: runs handlers, retries with backoff, fails for good, reclaims."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.db import utcnow
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.publish import publish
from fieldlink.outbox.registry import (
    BatchContext,
    JobContext,
    PermanentError,
    batch_handler,
    handler,
)
from fieldlink.outbox.worker import Worker, WorkerConfig, backoff_delay

SEEN: list[dict[str, object]] = []
FLAKY: dict[int, int] = {}


@handler("test.echo")
def _echo(ctx: JobContext) -> None:
    SEEN.append(ctx.payload)


@handler("test.flaky")
def _flaky(ctx: JobContext) -> None:
    FLAKY[ctx.id] = FLAKY.get(ctx.id, 0) + 1
    if FLAKY[ctx.id] < int(str(ctx.payload["succeed_on"])):
        raise ConnectionError("provider timed out")


@handler("test.bad")
def _bad(ctx: JobContext) -> None:
    raise PermanentError("recipient does not exist")


@handler("test.writes")
def _writes(ctx: JobContext) -> None:
    publish(ctx.session, "test.echo", n=ctx.payload["n"])
    if ctx.payload.get("explode"):
        raise RuntimeError("after writing")


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def _reset() -> None:
    SEEN.clear()
    FLAKY.clear()


def worker(factory: sessionmaker[Session], clock: Clock, name: str = "w1") -> Worker:
    return Worker(
        factory,
        name=name,
        clock=clock,
        rng=random.Random(1),
        config=WorkerConfig(visibility_timeout=30, backoff_base=5, backoff_cap=600),
    )


def test_a_published_job_runs_once_and_is_marked_done(session, session_factory) -> None:
    job = publish(session, "test.echo", greeting="hi")
    session.commit()
    clock = Clock()
    w = worker(session_factory, clock)
    assert w.run_once() == 1
    assert w.run_once() == 0
    assert SEEN == [{"greeting": "hi"}]
    session.expire_all()
    done = session.get(OutboxJob, job.id)
    assert done.status == "done" and done.attempts == 1 and done.finished_at is not None


def test_nothing_runs_if_the_publishing_transaction_rolls_back(session, session_factory) -> None:
    publish(session, "test.echo", greeting="never")
    session.rollback()
    assert worker(session_factory, Clock()).run_once() == 0
    assert SEEN == []


def test_transient_failures_retry_with_growing_backoff_then_succeed(
    session, session_factory
) -> None:
    job = publish(session, "test.flaky", succeed_on=3)
    session.commit()
    clock = Clock()
    w = worker(session_factory, clock)
    delays = []
    for _ in range(2):
        assert w.run_once() == 1
        session.expire_all()
        row = session.get(OutboxJob, job.id)
        assert row.status == "pending" and "provider timed out" in row.last_error
        delays.append((row.run_at - clock.now).total_seconds())
        assert w.run_once() == 0  # not due yet
        clock.now = row.run_at
    assert w.run_once() == 1
    session.expire_all()
    assert session.get(OutboxJob, job.id).status == "done"
    assert 2.5 <= delays[0] <= 7.5 and 5 <= delays[1] <= 15


def test_a_job_that_keeps_failing_ends_failed_with_the_error(session, session_factory) -> None:
    job = publish(session, "test.flaky", succeed_on=99, max_attempts=3)
    session.commit()
    clock = Clock()
    w = worker(session_factory, clock)
    for _ in range(3):
        assert w.run_once() == 1
        clock.now += timedelta(hours=2)
    session.expire_all()
    row = session.get(OutboxJob, job.id)
    assert row.status == "failed" and row.attempts == 3
    assert "ConnectionError: provider timed out" in row.last_error
    assert w.run_once() == 0


def test_a_permanent_error_fails_at_once(session, session_factory) -> None:
    job = publish(session, "test.bad")
    session.commit()
    worker(session_factory, Clock()).run_once()
    session.expire_all()
    row = session.get(OutboxJob, job.id)
    assert row.status == "failed" and row.attempts == 1
    assert row.last_error == "recipient does not exist"


def test_an_unknown_topic_fails_with_a_reason_instead_of_looping(session, session_factory) -> None:
    job = publish(session, "test.nobody_handles_this")
    session.commit()
    worker(session_factory, Clock()).run_once()
    session.expire_all()
    assert "no handler" in session.get(OutboxJob, job.id).last_error


def test_handler_writes_commit_with_the_job_or_not_at_all(session, session_factory) -> None:
    ok = publish(session, "test.writes", n=1)
    boom = publish(session, "test.writes", n=2, explode=True)
    session.commit()
    worker(session_factory, Clock()).run_once()
    follow_ups = session.scalars(select(OutboxJob).where(OutboxJob.topic == "test.echo")).all()
    assert [j.payload["n"] for j in follow_ups] == [1]
    session.expire_all()
    assert session.get(OutboxJob, ok.id).status == "done"
    assert session.get(OutboxJob, boom.id).status == "pending"


def test_a_job_whose_worker_died_is_reclaimed_after_the_visibility_timeout(
    session, session_factory
) -> None:
    job = publish(session, "test.echo", n=7)
    session.commit()
    clock = Clock()
    dead = worker(session_factory, clock, name="dead")
    assert len(dead.claim()) == 1  # claimed, then the process "dies" without finishing
    alive = worker(session_factory, clock, name="alive")
    assert alive.run_once() == 0  # still locked
    clock.now += timedelta(seconds=31)
    assert alive.run_once() == 1
    session.expire_all()
    row = session.get(OutboxJob, job.id)
    assert row.status == "done" and row.attempts == 2 and row.locked_by == "alive"


def test_dedupe_key_publishes_once(session) -> None:
    assert publish(session, "test.echo", dedupe_key="k1", n=1) is not None
    assert publish(session, "test.echo", dedupe_key="k1", n=2) is None
    count = len(session.scalars(select(OutboxJob).where(OutboxJob.dedupe_key == "k1")).all())
    assert count == 1


def test_publish_many_skips_keys_already_queued_in_one_statement(session) -> None:
    from fieldlink.outbox.publish import publish_many

    now = utcnow()
    publish_many(session, "test.echo", [("m1", {"n": 1}), ("m2", {"n": 2})], now=now)
    publish_many(session, "test.echo", [("m2", {"n": 9}), ("m3", {"n": 3})], now=now)
    rows = session.scalars(
        select(OutboxJob).where(OutboxJob.topic == "test.echo").order_by(OutboxJob.dedupe_key)
    ).all()
    assert [(r.dedupe_key, r.payload, r.status) for r in rows] == [
        ("m1", {"n": 1}, "pending"),
        ("m2", {"n": 2}, "pending"),  # the first payload stays
        ("m3", {"n": 3}, "pending"),
    ]


def test_a_worker_given_topics_takes_only_those(session, session_factory) -> None:
    publish(session, "test.echo", n=1)
    publish(session, "test.bad", n=2)
    session.commit()
    clock = Clock()
    only_echo = Worker(session_factory, name="echo", clock=clock, topics=["test.echo"])
    assert only_echo.run_once() == 1
    assert only_echo.run_once() == 0  # test.bad is left for another worker
    assert SEEN == [{"n": 1}]
    session.expire_all()
    bad = session.scalars(select(OutboxJob).where(OutboxJob.topic == "test.bad")).one()
    assert bad.status == "pending" and bad.attempts == 0
    assert worker(session_factory, clock).run_once() == 1


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    rng = random.Random(7)
    samples = [backoff_delay(n, base=5, cap=300, rng=rng) for n in range(1, 12)]
    assert all(2.5 <= s <= 7.5 for s in samples[:1])
    assert samples[-1] <= 450  # the cap of 300 s times the largest jitter factor, 1.5
    spread = {round(backoff_delay(4, base=5, cap=300, rng=rng), 3) for _ in range(20)}
    assert len(spread) > 10  # jittered, not one fixed value


BATCHES: list[list[int]] = []


@batch_handler("test.batch")
def _batch(b: BatchContext) -> None:
    BATCHES.append([job.payload["n"] for job in b.jobs])
    for job in b.jobs:
        if job.payload["n"] == 2:
            b.retry(job.id, "try again")
        if job.payload["n"] == 3:
            b.fail(job.id, "never")
        if job.payload["n"] == 4 and job.attempts == 1:
            publish(b.session, "test.echo", n=4)


@batch_handler("test.batch_boom")
def _batch_boom(b: BatchContext) -> None:
    publish(b.session, "test.echo", n=99)
    raise RuntimeError("bug in batch")


def test_a_batch_handler_takes_the_claimed_jobs_together_and_settles_each(
    session, session_factory
) -> None:
    BATCHES.clear()
    jobs = [publish(session, "test.batch", n=n) for n in (1, 2, 3, 4)]
    session.commit()
    clock = Clock()
    worker(session_factory, clock).run_once()
    assert BATCHES == [[1, 2, 3, 4]]
    session.expire_all()
    status = {j.payload["n"]: session.get(OutboxJob, j.id).status for j in jobs}
    assert status == {1: "done", 2: "pending", 3: "failed", 4: "done"}
    assert session.get(OutboxJob, jobs[1].id).last_error == "try again"
    echoed = session.scalars(select(OutboxJob).where(OutboxJob.topic == "test.echo")).all()
    assert [j.payload["n"] for j in echoed] == [4]  # the handler's writes committed with it


def test_a_batch_handler_that_raises_keeps_nothing_and_retries_every_job(
    session, session_factory
) -> None:
    jobs = [publish(session, "test.batch_boom", n=n) for n in (1, 2)]
    session.commit()
    worker(session_factory, Clock()).run_once()
    session.expire_all()
    assert {session.get(OutboxJob, j.id).status for j in jobs} == {"pending"}
    assert "bug in batch" in session.get(OutboxJob, jobs[0].id).last_error
    assert session.scalar(select(OutboxJob).where(OutboxJob.topic == "test.echo")) is None
