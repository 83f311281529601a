"""Group commit: concurrent webhooks share one transaction and one commit.

Each server process has one database thread. A request hands it a unit of work (a function
of a session) and awaits the answer; the thread takes every unit waiting, runs them in one
transaction in a stable order, commits once, and only then answers each request. So a 2xx
still means *this* webhook is durably committed (it answers after the commit of the batch
it joined), but a burst of N webhooks costs one BEGIN/COMMIT and one WAL flush instead of N,
and no thread-pool hop per request.

When any unit of a batch fails (a 4xx raised by the work, a deadlock, a dropped
connection), the batch is rolled back and each unit is run again in its own transaction:
the failure reaches only the request that caused it, exactly as without batching. Units
must therefore only touch the database (they may run twice; the first run left nothing).

On PostgreSQL the thread keeps one connection of its own between batches instead of taking
one from the pool (and pre-pinging it) for every batch. A batch that fails drops it; a lone
unit that failed because that connection had died is run once more on a fresh one.

A unit may instead be an *item* of a bulk function (:meth:`GroupCommit.run_bulk`): the
items of one batch that share that function (adjacent once sorted) are applied by one call,
``apply(session, items)`` returning one result per item, so a burst can be one statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
Bulk = Callable[[Session, list[Any]], list[Any]]
log = logging.getLogger("fieldlink.web")

MAX_BATCH = 64
IDLE_SECONDS = 5.0  # the thread ends after this long with nothing to do; restarted on demand


@dataclass(order=True)
class _Unit(Generic[T]):
    order: tuple[Any, ...]
    work: Callable[[Session], T] = field(compare=False)
    loop: asyncio.AbstractEventLoop = field(compare=False)
    future: asyncio.Future[T] = field(compare=False)
    context: contextvars.Context = field(compare=False)  # the request's (request id in logs)
    bulk: Bulk | None = field(default=None, compare=False)  # work is then the item


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the request went away meanwhile (client disconnect)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _answer(unit: _Unit[Any], result: Any, error: BaseException | None) -> None:
    # RuntimeError: that request's event loop has closed (server shut down)
    with contextlib.suppress(RuntimeError):
        unit.loop.call_soon_threadsafe(_resolve, unit.future, result, error)


class GroupCommit:
    """Runs units of work for one process in shared transactions (see module docstring)."""

    def __init__(self, factory: sessionmaker[Session], *, max_batch: int = MAX_BATCH) -> None:
        self.factory = factory
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Unit[Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None  # the thread's own (PostgreSQL)
        self.batches = 0  # transactions committed (for tests and benchmarks)

    async def run(self, work: Callable[[Session], T], *, order: tuple[Any, ...] = ()) -> T:
        """Run ``work(session)`` in the next batch; returns once that batch has committed.

        ``order`` sorts the units of a batch, so that two processes' batches take row
        locks in the same order (e.g. message id) instead of deadlocking.
        """
        return await self._submit(_Unit(order, work, *self._waiter(), contextvars.copy_context()))

    async def run_bulk(
        self,
        apply: Callable[[Session, list[I]], list[T]],
        item: I,
        *,
        order: tuple[Any, ...] = (),
    ) -> T:
        """Like :meth:`run`, but the batch's items for the same ``apply`` are applied by one
        call ``apply(session, items)``, which returns one result per item, in order."""
        work: Any = item  # a bulk unit carries its item where a plain unit has its work
        return await self._submit(
            _Unit(order, work, *self._waiter(), contextvars.copy_context(), bulk=apply)
        )

    @staticmethod
    def _waiter() -> tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]:
        loop = asyncio.get_running_loop()
        return loop, loop.create_future()

    async def _submit(self, unit: _Unit[T]) -> T:
        self._queue.put(unit)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="fieldlink-group-commit", daemon=True
                )
                self._thread.start()
        return await unit.future

    def _serve(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        self._release()
                        return
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch.sort()
            self._commit(batch)

    def _session(self) -> Session:
        bind = self.factory.kw.get("bind")
        if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
            return self.factory()
        if self._connection is None or self._connection.closed or self._connection.invalidated:
            self._connection = bind.connect()  # pre-pinged by the pool once, then kept
        return self.factory(bind=self._connection)

    def _release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def _commit(self, batch: list[_Unit[Any]], *, again: bool = False) -> None:
        results: list[Any] = []
        try:
            with self._session() as session:
                try:
                    start = 0
                    while start < len(batch):
                        unit = batch[start]
                        if unit.bulk is None:
                            results.append(unit.context.run(unit.work, session))
                            start += 1
                            continue
                        end = start + 1
                        while end < len(batch) and batch[end].bulk is unit.bulk:
                            end += 1
                        items = [u.work for u in batch[start:end]]
                        results.extend(unit.context.run(unit.bulk, session, items))
                        start = end
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except Exception as exc:
            held = self._connection is not None
            self._release()  # a fresh connection for what comes next
            if len(batch) > 1:
                for unit in batch:  # each on its own: only the culprit sees the error
                    self._commit([unit])
                return
            if held and not again and isinstance(exc, DBAPIError) and exc.connection_invalidated:
                self._commit(batch, again=True)  # the kept connection had died meanwhile
                return
            _answer(batch[0], None, exc)
            return
        self.batches += 1
        for unit, result in zip(batch, results, strict=True):
            _answer(unit, result, None)
