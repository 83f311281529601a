"""A worker process for the multi-process tests: ``python worker_proc.py URL VT SLEEP BATCH``.

Its handler records each run in the ``effects`` table inside the job's own transaction, so
the tests can count how many times each job's effect was committed.
"""

from __future__ import annotations

import logging
import sys
import time

from sqlalchemy import text

from fieldlink.db import make_engine, make_sessionmaker
from fieldlink.outbox.registry import JobContext, handler
from fieldlink.outbox.worker import WorkerConfig, run_workers

SLEEP = float(sys.argv[3])


@handler("test.record")
def _record(ctx: JobContext) -> None:
    if SLEEP:
        time.sleep(SLEEP)
    ctx.session.execute(
        text("INSERT INTO effects (job_id, worker) VALUES (:j, :w)"),
        {"j": ctx.id, "w": ctx.worker},
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    factory = make_sessionmaker(make_engine(sys.argv[1]))
    config = WorkerConfig(
        visibility_timeout=float(sys.argv[2]), poll_interval=0.05, batch_size=int(sys.argv[4])
    )
    print("ready", flush=True)
    run_workers(factory, concurrency=1, config=config)
