"""Outbox handlers are declared with ``@handler("domain.verb")``; topics map to one function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


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


Handler = Callable[[JobContext], None]
_HANDLERS: dict[str, Handler] = {}


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


def get_handler(topic: str) -> Handler | None:
    return _HANDLERS.get(topic)


def topics() -> list[str]:
    return sorted(_HANDLERS)
