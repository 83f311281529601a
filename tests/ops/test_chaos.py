"""Chaos, small: worker processes drain texts while one is SIGKILLed about every two seconds
and restarted; the provider's own record shows every text exactly once (DESIGN.md principle 1).
The full run is ``python -m benchmarks.chaos`` (8 workers, 10,000 texts)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from benchmarks.chaos import check, drain_under_fire
from sqlalchemy import Engine

from fieldlink.db import make_engine
from fieldlink.migrate import upgrade
from tests.fakes.sms_provider import FakeSmsProvider
from tests.messaging.test_worker_processes import queue_texts

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_engine(fresh_database_url: str) -> Iterator[Engine]:
    if not fresh_database_url.startswith("postgres"):
        pytest.skip("several worker processes need PostgreSQL (SQLite takes one writer)")
    engine = make_engine(fresh_database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_killed_workers_lose_and_duplicate_nothing(
    pg_engine: Engine, fresh_database_url: str
) -> None:
    # The provider answers in 0.1 s, as a real one takes about that: the drain then lasts
    # several seconds on any machine (without it a fast one finished before the killer
    # struck twice), and a kill often lands between the provider's record and its answer.
    provider = FakeSmsProvider(latency=0.1).start()
    try:
        queue_texts(pg_engine, 200)
        env = {
            "FIELDLINK_SMS_PROVIDER": "twilio",
            "FIELDLINK_TWILIO_API_URL": provider.url,
            "FIELDLINK_TWILIO_ACCOUNT_SID": provider.account_sid,
            "FIELDLINK_TWILIO_AUTH_TOKEN": provider.auth_token,
            "FIELDLINK_BASE_URL": "https://engage.example",
            "FIELDLINK_WORKER_BATCH_SIZE": "2",  # many small batches: kills land mid-attempt
        }
        _, kills = drain_under_fire(
            fresh_database_url,
            env,
            workers=3,
            kill_every=2.0,
            visibility_timeout=2.0,
            timeout=300,
            rng=random.Random(3),
            log=lambda _line: None,
        )
        refs = [m["status_callback"].rsplit("m=", 1)[1] for m in provider.messages]
    finally:
        provider.stop()
    verdict = check(pg_engine, refs)
    assert kills >= 2, "the run ended before the killer struck twice; queue more texts"
    assert (verdict.lost, verdict.duplicated, verdict.unexpected) == (0, 0, 0), verdict.line()
    assert verdict.not_sent_in_db == 0 and verdict.queued == 200
