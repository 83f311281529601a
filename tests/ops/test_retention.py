"""Retention: `fieldlink purge` drops old message bodies and finished outbox rows, keeps
the message log and every open job."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.db import make_engine, make_sessionmaker, utcnow
from fieldlink.messaging.models import Message
from fieldlink.ops.models import IdempotencyRecord
from fieldlink.ops.retention import purge
from fieldlink.outbox.models import OutboxJob
from tests.conftest import Tenant
from tests.test_cli import run


def _message(session: Session, company_id: int, age_days: int, body: str) -> Message:
    m = Message(
        company_id=company_id,
        touchpoint="service_reminder",
        channel="sms",
        to="+19195550100",
        status="delivered",
        body=body,
        created_at=utcnow() - timedelta(days=age_days),
    )
    session.add(m)
    return m


def _job(session: Session, status: str, finished_days_ago: int | None) -> OutboxJob:
    now = utcnow()
    job = OutboxJob(
        topic="messaging.send",
        payload={},
        status=status,
        finished_at=None if finished_days_ago is None else now - timedelta(days=finished_days_ago),
        created_at=now - timedelta(days=30),
        run_at=now - timedelta(days=30),
    )
    session.add(job)
    return job


def test_purge_drops_old_bodies_and_finished_jobs_only(session: Session, tenant: Tenant) -> None:
    old = _message(session, tenant.company_id, 400, "Your tune-up is tomorrow")
    recent = _message(session, tenant.company_id, 10, "Tom is on the way")
    done_old = _job(session, "done", 8)
    failed_old = _job(session, "failed", 30)
    done_recent = _job(session, "done", 1)
    pending_old = _job(session, "pending", None)
    session.add(
        IdempotencyRecord(
            company_id=tenant.company_id,
            key="old",
            fingerprint="x",
            method="POST",
            path="/v1/customers",
            owner="o",
            created_at=utcnow() - timedelta(hours=25),
        )
    )
    session.flush()
    counted = purge(
        session, now=utcnow(), message_retention_days=365, outbox_retention_days=7, dry_run=True
    )
    assert (counted.message_bodies, counted.outbox_rows, counted.idempotency_keys) == (1, 2, 1)
    assert old.body  # a dry run changes nothing
    done = purge(session, now=utcnow(), message_retention_days=365, outbox_retention_days=7)
    assert (done.message_bodies, done.outbox_rows, done.idempotency_keys) == (1, 2, 1)
    session.expire_all()
    assert session.get(Message, old.id).body == ""  # type: ignore[union-attr]
    assert session.get(Message, old.id).status == "delivered"  # type: ignore[union-attr]
    assert session.get(Message, recent.id).body == "Tom is on the way"  # type: ignore[union-attr]
    left = set(session.scalars(select(OutboxJob.id)))
    assert done_old.id not in left and failed_old.id not in left
    assert {done_recent.id, pending_old.id} <= left


def test_fieldlink_purge_runs_from_the_command_line(fresh_database_url: str) -> None:
    run(["db", "upgrade"], fresh_database_url)
    run(["company", "create", "--name", "Acme", "--code", "acme"], fresh_database_url)
    engine = make_engine(fresh_database_url)
    with make_sessionmaker(engine)() as s:
        _job(s, "done", 30)
        s.commit()
    engine.dispose()
    out = run(["purge", "--json"], fresh_database_url)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["outbox_rows"] == 1
    again = run(["purge"], fresh_database_url)
    assert "purged: 0 message bodies" in again.stdout
