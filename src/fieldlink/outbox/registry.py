"""Outbox handlers are declared with ``@handler("domain.verb")``; topics map to one function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fieldlink.db import utcnow


class PermanentError(Exception):
    """The job can never succeed (bad data, a provider's final 'no'): fail it now."""


class RetryLater(Exception):
    """Transient trouble; try again after ``delay`` seconds (None: the usual backoff)."""

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass
class JobContext:
    """What a handler gets: the job, and the session its effects commit in.

    ``checkpoint()`` commits what the handler did so far (e.g. "attempt recorded") before
    it calls a provider, so a crash after the call leaves evidence to reconcile with.
    """

    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    session: Session
    now: datetime
    worker: str
    _checkpoint: Callable[[], None] = field(repr=False, default=lambda: None)

    def checkpoint(self) -> None:
        self._checkpoint()


@dataclass
class BatchContext:
    """A claimed batch of one topic, handled in one go (fewer round trips and commits).

    Jobs the handler does not mark with :meth:`retry` or :meth:`fail` are done when it
    returns; ``checkpoint()`` commits what the handler did so far, as for one job. A
    handler may settle done jobs itself in its last statement (``outbox`` row ``done``,
    guarded by ``locked_by = worker``, finished at ``clock()``) and list them in
    ``settled``: the worker then skips them.
    """

    jobs: list[JobContext]
    session: Session
    now: datetime
    worker: str
    outcomes: dict[int, tuple[str, str, float | None]] = field(default_factory=dict)
    settled: set[int] = field(default_factory=set)
    clock: Callable[[], datetime] = field(repr=False, default=utcnow)
    _checkpoint: Callable[[], None] = field(repr=False, default=lambda: None)
    _may_start: Callable[[], bool] = field(repr=False, default=lambda: True)

    def checkpoint(self) -> None:
        self._checkpoint()

    def may_start(self) -> bool:
        """False once the worker's claim is too close to running out to begin a side
        effect another worker could repeat after taking the rows over."""
        return self._may_start()

    def retry(self, job_id: int, error: str, delay: float | None = None) -> None:
        self.outcomes[job_id] = ("retry", error, delay)

    def fail(self, job_id: int, error: str) -> None:
        self.outcomes[job_id] = ("failed", error, None)


Handler = Callable[[JobContext], None]
BatchHandler = Callable[[BatchContext], None]
_HANDLERS: dict[str, Handler] = {}
_BATCH_HANDLERS: dict[str, BatchHandler] = {}


def handler(topic: str) -> Callable[[Handler], Handler]:
    if "." not in topic:
        raise ValueError("topics are 'domain.verb'")

    def register(fn: Handler) -> Handler:
        existing = _HANDLERS.get(topic)
        if existing is not None and existing is not fn:
            raise ValueError(f"topic {topic!r} already has a handler")
        _HANDLERS[topic] = fn
        return fn

    return register


def batch_handler(topic: str) -> Callable[[BatchHandler], BatchHandler]:
    """Declare a handler that takes every claimed job of ``topic`` at once."""
    if "." not in topic:
        raise ValueError("topics are 'domain.verb'")

    def register(fn: BatchHandler) -> BatchHandler:
        _BATCH_HANDLERS[topic] = fn
        return fn

    return register


def get_handler(topic: str) -> Handler | None:
    return _HANDLERS.get(topic)


def get_batch_handler(topic: str) -> BatchHandler | None:
    return _BATCH_HANDLERS.get(topic)


def topics() -> list[str]:
    return sorted({*_HANDLERS, *_BATCH_HANDLERS})
