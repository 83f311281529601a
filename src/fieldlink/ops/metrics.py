"""Prometheus metrics: HTTP and webhook counts, provider latency and errors (in process),
and messages, outbox depth and consent changes read from the database at scrape time.

With several processes on one host (``fieldlink serve --workers N``, workers), set
``PROMETHEUS_MULTIPROC_DIR`` to one empty directory for all of them: ``/metrics`` then adds
up every process's counters. ``fieldlink serve --workers N`` sets it up when unset.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldlink.channels.base import Email, Sms, TransportError
from fieldlink.channels.registry import Channels
from fieldlink.db import utcnow
from fieldlink.ops.logs import request_id

HTTP_REQUESTS = Counter(
    "fieldlink_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "fieldlink_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WEBHOOKS = Counter("fieldlink_webhooks", "Provider webhooks received", ["webhook", "outcome"])
PROVIDER_LATENCY = Histogram(
    "fieldlink_provider_request_duration_seconds",
    "Time the SMS or email provider took to answer",
    ["channel", "operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PROVIDER_ERRORS = Counter(
    "fieldlink_provider_errors", "Provider calls that failed", ["channel", "operation", "code"]
)

_access = logging.getLogger("fieldlink.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class ObservabilityMiddleware:
    """Request id in and out (``X-Request-ID``), HTTP and webhook metrics, an access log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = scope_header(scope, b"x-request-id")
        rid = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            requests, latency, webhooks = _children(method, route, status)
            requests.inc()
            latency.observe(elapsed)
            if webhooks is not None:
                webhooks.inc()
            if _access.isEnabledFor(logging.INFO):  # the record is built only when logged
                _access.info(
                    "%s %s %s",
                    method,
                    scope["path"],
                    status,
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id.reset(token)


_Children = tuple[Any, Any, Any]
_CHILDREN: dict[tuple[str, str, int], _Children] = {}
_MAX_CHILDREN = 2048  # methods and routes are bounded in practice; never grow without end


def _children(method: str, route: str, status: int) -> _Children:
    """The metric children for one (method, route, status), bound once per process:
    ``labels(...)`` takes a lock and builds a key on every call."""
    key = (method, route, status)
    found = _CHILDREN.get(key)
    if found is None:
        webhooks = (
            WEBHOOKS.labels(route, _outcome(status)) if route.startswith("/webhooks/") else None
        )
        found = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_LATENCY.labels(method, route),
            webhooks,
        )
        if len(_CHILDREN) < _MAX_CHILDREN:
            _CHILDREN[key] = found
    return found


def _outcome(status: int) -> str:
    if status < 300:
        return "accepted"
    if status in (401, 403):
        return "refused_signature"
    return "refused" if status < 500 else "error"


def scope_header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower-case bytes) in an ASGI scope."""
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class DatabaseCollector(Collector):
    """Numbers only the database knows, read at scrape time and cached for a few seconds
    (several scrapers, or a scrape storm, cost one set of queries)."""

    def __init__(self, factory: sessionmaker[Session], *, ttl: float = 5.0) -> None:
        self.factory = factory
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > self.ttl:
                self._cached = (time.monotonic(), self._read(utcnow()))
            yield from self._cached[1]

    def _read(self, now: datetime) -> list[Metric]:
        from fieldlink.consent.models import ConsentEvent
        from fieldlink.messaging.models import Message as Msg
        from fieldlink.outbox.models import OutboxJob

        up = GaugeMetricFamily("fieldlink_database_up", "1 when the database answered")
        try:
            with self.factory() as session:
                messages = GaugeMetricFamily(
                    "fieldlink_messages_last_24h",
                    "Messages created in the last 24 hours, by current status",
                    labels=["status", "channel", "touchpoint"],
                )
                for status, channel, touchpoint, n in session.execute(
                    select(Msg.status, Msg.channel, Msg.touchpoint, func.count())
                    .where(Msg.created_at >= now - timedelta(hours=24))
                    .group_by(Msg.status, Msg.channel, Msg.touchpoint)
                ):
                    messages.add_metric([status, channel, touchpoint], n)
                depth = GaugeMetricFamily(
                    "fieldlink_outbox_depth", "Outbox jobs not yet done", labels=["topic", "status"]
                )
                oldest = GaugeMetricFamily(
                    "fieldlink_outbox_oldest_due_age_seconds",
                    "How long the oldest due outbox job has waited (0 when none is waiting)",
                )
                first_due: datetime | None = None
                for topic, status, n, due in session.execute(
                    select(
                        OutboxJob.topic, OutboxJob.status, func.count(), func.min(OutboxJob.run_at)
                    )
                    .where(OutboxJob.status.in_(("pending", "running")))
                    .group_by(OutboxJob.topic, OutboxJob.status)
                ):
                    depth.add_metric([topic, status], n)
                    if status == "pending" and due is not None:
                        due = _aware(due)
                        first_due = due if first_due is None else min(first_due, due)
                age = (now - first_due).total_seconds() if first_due and first_due < now else 0.0
                oldest.add_metric([], age)
                consent = CounterMetricFamily(
                    "fieldlink_consent_changes",
                    "Consent changes on record (opt-ins, opt-outs, flags), by field and source",
                    labels=["field", "new_value", "source"],
                )
                for field, value, source, n in session.execute(
                    select(
                        ConsentEvent.field,
                        ConsentEvent.new_value,
                        ConsentEvent.source,
                        func.count(),
                    ).group_by(ConsentEvent.field, ConsentEvent.new_value, ConsentEvent.source)
                ):
                    consent.add_metric([field, value or "", source], n)
        except Exception:  # a scrape must say the database is down, not fail
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, messages, depth, oldest, consent]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def metrics_response(database: DatabaseCollector) -> Response:
    registry: Any
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    registry.register(database)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def prepare_multiprocess() -> str:
    """Point every process started from here at one metrics directory (made if unset)."""
    import tempfile

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="fieldlink-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def serve_metrics(port: int) -> None:
    """Serve this process's metrics (a worker's provider latency and errors) on ``port``."""
    from prometheus_client import start_http_server

    start_http_server(port)


def install_metrics(app: Any, factory: sessionmaker[Session]) -> None:
    database = DatabaseCollector(factory)

    async def metrics(_request: Request) -> Response:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(lambda: metrics_response(database))

    app.add_api_route(
        "/metrics", metrics, methods=["GET"], include_in_schema=False, response_class=Response
    )
    app.add_middleware(ObservabilityMiddleware)


# --- provider calls ---------------------------------------------------------------------


@contextmanager
def _timed(channel: str, operation: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    except TransportError as exc:
        PROVIDER_ERRORS.labels(channel, operation, exc.code).inc()
        raise
    except Exception:
        PROVIDER_ERRORS.labels(channel, operation, "exception").inc()
        raise
    finally:
        PROVIDER_LATENCY.labels(channel, operation).observe(time.perf_counter() - started)


class TimedSms:
    """An SMS transport that records latency and errors of every provider call."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def send(self, sms: Sms) -> str:
        with _timed("sms", "send"):
            return str(self.inner.send(sms))

    def find_sent(self, *, to: str, since: datetime, reference: str) -> str | None:
        with _timed("sms", "find_sent"):
            found = self.inner.find_sent(to=to, since=since, reference=reference)
            return None if found is None else str(found)

    def provision_number(self, area_code: str, **kwargs: Any) -> str:
        with _timed("sms", "provision_number"):
            return str(self.inner.provision_number(area_code, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class TimedEmail:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def send(self, email: Email) -> str:
        with _timed("email", "send"):
            return str(self.inner.send(email))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def instrument(channels: Channels) -> Channels:
    """The same channels, with provider latency and errors measured."""
    return Channels(
        email=TimedEmail(channels.email), sms=TimedSms(channels.sms), base_url=channels.base_url
    )
