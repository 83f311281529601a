"""``Idempotency-Key`` on every POST of the ``/v1`` API, done once for all routes.

How a keyed POST runs:

1. :class:`IdempotencyMiddleware` reads the body and fingerprints the request (method, path,
   query and the body, JSON canonicalised so key order and spacing don't matter).
2. Authentication (``web.deps.get_tenant``, which every ``/v1`` route uses) calls
   :func:`claim` with the request's own database session: a stored answer for the key is
   replayed, a different request under the key is a 409, else a claim row is inserted *in
   the request's transaction*. The claim therefore commits exactly when the write does, and
   a failed request (4xx raised, 5xx) leaves no claim, so the client may retry.
3. After the commit, and before the client sees anything, the middleware stores the
   answer (status, content type, body) on the claim row.

Two requests racing with one key: the second's ``INSERT … ON CONFLICT DO NOTHING`` waits
for the first transaction (PostgreSQL; SQLite has one writer anyway), then finds the row
and answers with the replay if the first answer is stored, or 409
``idempotency_key_in_progress``. A claim still without its answer after
:data:`ANSWER_GRACE` was cut off between its commit and the stored answer (the process
died): the work is done, and the key answers ``409 idempotency_key_answer_lost``, never
carrying it out again. Keys are scoped to the API key's company and forgotten
after :data:`KEY_TTL` (``fieldlink purge`` deletes them; an expired key is reusable).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldlink.db import dialect_insert, utcnow
from fieldlink.errors import Conflict
from fieldlink.ops.metrics import scope_header
from fieldlink.ops.models import IdempotencyRecord
from fieldlink.web.errors import problem

KEY_TTL = timedelta(hours=24)
# A claim row is visible only once its request's work has committed; its answer is stored a
# moment later. Still without one after this long, the process died in between: the work was
# done and its answer is gone (``idempotency_key_answer_lost``), rather than "in progress".
ANSWER_GRACE = timedelta(seconds=30)
HEADER = "idempotency-key"
KEY_PATTERN = r"^[\x21-\x7E]{1,200}$"  # visible ASCII, as Stripe and the IETF draft allow
_KEY_RE = re.compile(KEY_PATTERN)
MAX_BODY = 1024 * 1024  # a keyed request body is held in memory to fingerprint it
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass
class KeyedRequest:
    """What the middleware learnt about a keyed request, shared with :func:`claim`."""

    key: str
    fingerprint: str
    method: str
    path: str
    record_id: int | None = None
    owner: str | None = None


class IdempotentReplay(Exception):
    """Raised from :func:`claim` to answer with a stored response instead of running."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.status_code = record.status_code or 200
        self.content_type = record.content_type
        self.body = record.response_body or b""


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """A digest of what the request asks for; equal JSON bodies hash equal."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim(request: Request, session: Session, *, company_id: int, now: datetime) -> None:
    """Claim the request's idempotency key for ``company_id`` in the request's transaction.

    Raises :class:`IdempotentReplay` when the key already has its answer, ``Conflict`` when
    the key was used for another request or its first request is still running.
    """
    keyed: KeyedRequest | None = request.scope.get("state", {}).get("idempotency")
    if keyed is None or keyed.record_id is not None:
        return
    scope_ = (IdempotencyRecord.company_id == company_id, IdempotencyRecord.key == keyed.key)
    # An expired key is forgotten, so the client may use it again.
    session.execute(
        delete(IdempotencyRecord).where(*scope_, IdempotencyRecord.created_at < now - KEY_TTL)
    )
    existing = session.scalar(select(IdempotencyRecord).where(*scope_))
    if existing is not None:
        _answer_for(existing, keyed, now)
    owner = uuid.uuid4().hex
    values = {
        "company_id": company_id,
        "key": keyed.key,
        "fingerprint": keyed.fingerprint,
        "method": keyed.method,
        "path": keyed.path[:2000],
        "owner": owner,
        "created_at": now,
    }
    stmt = (
        dialect_insert(session.get_bind().dialect.name, IdempotencyRecord)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["company_id", "key"])
        .returning(IdempotencyRecord.id)
    )
    record_id = session.scalar(stmt)
    if record_id is None:
        # Lost a race: the other request committed its claim while we waited on it.
        winner = session.scalar(
            select(IdempotencyRecord).where(*scope_).execution_options(populate_existing=True)
        )
        if winner is not None:
            _answer_for(winner, keyed, now)
        raise Conflict(
            "a request with this Idempotency-Key is in progress; retry shortly",
            code="idempotency_key_in_progress",
        )
    keyed.record_id = record_id
    keyed.owner = owner


def _answer_for(record: IdempotencyRecord, keyed: KeyedRequest, now: datetime) -> None:
    if record.fingerprint != keyed.fingerprint:
        raise Conflict(
            "this Idempotency-Key was used for a different request; use a new key",
            code="idempotency_key_reused",
        )
    if record.status_code is None and record.created_at < now - ANSWER_GRACE:
        raise Conflict(
            "the request with this Idempotency-Key was carried out, but the server stopped "
            "before its answer was kept; it will not be carried out again: read the result "
            "(e.g. with GET) instead of retrying",
            code="idempotency_key_answer_lost",
        )
    if record.status_code is None:
        raise Conflict(
            "a request with this Idempotency-Key is in progress; retry shortly",
            code="idempotency_key_in_progress",
        )
    raise IdempotentReplay(record)


def store_answer(
    factory: sessionmaker[Session],
    keyed: KeyedRequest,
    *,
    status_code: int,
    content_type: str | None,
    body: bytes,
    now: datetime,
) -> None:
    """Record the answer on the claim row; a claim rolled back with its request matches
    nothing (the owner token guards against a reused row id on SQLite)."""
    with factory() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.id == keyed.record_id,
                IdempotencyRecord.status_code.is_(None),
                IdempotencyRecord.owner == keyed.owner,
            )
            .values(
                status_code=status_code,
                content_type=content_type,
                response_body=body,
                completed_at=now,
            )
        )
        session.commit()


class IdempotencyMiddleware:
    """Fingerprints keyed ``POST /v1/…`` requests and stores their answers (see module)."""

    def __init__(self, app: ASGIApp, *, factory: sessionmaker[Session]) -> None:
        self.app = app
        self.factory = factory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith("/v1/")
        ):
            await self.app(scope, receive, send)
            return
        raw_key = scope_header(scope, HEADER.encode())
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        if not _KEY_RE.match(raw_key):
            await _send(scope, receive, send, _bad_key())
            return
        body, complete = await _read_body(receive)
        if not complete:
            await _send(
                scope,
                receive,
                send,
                problem(413, f"request body over {MAX_BODY} bytes", code="payload_too_large"),
            )
            return
        keyed = KeyedRequest(
            key=raw_key,
            fingerprint=fingerprint("POST", scope["path"], scope.get("query_string", b""), body),
            method="POST",
            path=scope["path"],
        )
        scope.setdefault("state", {})["idempotency"] = keyed
        await self.app(scope, _replaying(body, receive), self._storing(keyed, send))

    def _storing(self, keyed: KeyedRequest, send: Send) -> Send:
        start: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start
            if keyed.record_id is None:  # nothing claimed: a plain pass-through
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            status = int(start["status"])
            if status < 500:
                await anyio.to_thread.run_sync(
                    lambda: store_answer(
                        self.factory,
                        keyed,
                        status_code=status,
                        content_type=_header_of(start, "content-type"),
                        body=b"".join(chunks),
                        now=utcnow(),
                    )
                )
            await send(start)
            await send({"type": "http.response.body", "body": b"".join(chunks)})

        return wrapped


def install(app: FastAPI, factory: sessionmaker[Session]) -> None:
    """Add the middleware, the replay handler and the header to every ``/v1`` POST's docs."""
    app.add_middleware(IdempotencyMiddleware, factory=factory)

    @app.exception_handler(IdempotentReplay)
    async def _replay(_request: Request, exc: IdempotentReplay) -> Response:
        return Response(
            content=exc.body,
            status_code=exc.status_code,
            media_type=exc.content_type,
            headers={REPLAYED_HEADER: "true"},
        )


def document_header(spec: dict[str, Any]) -> dict[str, Any]:
    parameter = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": (
            "Repeat a write safely: the same key and body within 24 hours return the first "
            "answer (header `Idempotent-Replayed: true`); another body is a 409."
        ),
        "schema": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 200},
    }
    for path, operations in spec.get("paths", {}).items():
        operation = operations.get("post")
        if not path.startswith("/v1/") or operation is None:
            continue
        params = operation.setdefault("parameters", [])
        params[:] = [
            p
            for p in params
            if not (p.get("in") == "header" and p.get("name", "").lower() == HEADER)
        ]
        params.append(parameter)
    return spec


def _header_of(message: Message, name: str) -> str | None:
    target = name.encode()
    for key, value in message.get("headers", []):
        if key.lower() == target:
            return str(value.decode("latin-1"))
    return None


def _bad_key() -> Response:
    message = "must be 1 to 200 visible ASCII characters"
    return problem(
        422,
        f"Idempotency-Key: {message}",
        code="validation_failed",
        errors=[{"field": "Idempotency-Key", "message": message}],
    )


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
    await response(scope, receive, send)
