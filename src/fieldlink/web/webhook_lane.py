"""The lean lane for the SMS provider's two busiest webhooks.

``POST /webhooks/sms/status`` (delivery receipts) and ``POST /webhooks/sms/inbound``
(inbound texts) are answered here, in front of the router and the idempotency middleware
but behind the observability middleware (request id, metrics, access log still count
them). Same checks as the routes in ``messaging/webhooks.py`` and ``sms/webhooks.py``,
which stay as the documented API and answer any other content type: the body is read up
to 64 KiB (413 past it), the ``X-Twilio-Signature`` over FIELDLINK_BASE_URL + path (+
query) and the form is checked before anything is read or written (403), then the work
runs through :class:`~fieldlink.web.group_commit.GroupCommit`, so the 200 goes out only
after the webhook's transaction has committed. An inbound text that is not a keyword is
only recorded there (``sms/inbound.py``); a worker threads and routes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from fieldlink.channels.signatures import twilio_signature_valid
from fieldlink.config import Settings
from fieldlink.db import session_scope, utcnow
from fieldlink.errors import FieldlinkError, Forbidden, PayloadTooLarge
from fieldlink.messaging.receipts import SmsReceipt, settle_sms_receipts
from fieldlink.ops.metrics import scope_header
from fieldlink.web.errors import problem
from fieldlink.web.group_commit import GroupCommit

MAX_FORM_BYTES = 64 * 1024
STATUS_PATH = "/webhooks/sms/status"
INBOUND_PATH = "/webhooks/sms/inbound"
_FORM = b"application/x-www-form-urlencoded"
_TWIML_START = '<?xml version="1.0" encoding="UTF-8"?><Response>'
EMPTY_TWIML = _TWIML_START + "</Response>"

T = TypeVar("T")
Handler = Callable[["WebhookLane", dict[str, str], dict[str, str]], Awaitable[str]]


class WebhookLane:
    """ASGI middleware answering the two SMS webhooks itself (see module docstring)."""

    def __init__(
        self, app: ASGIApp, *, settings: Settings, committer: GroupCommit, routes: dict[str, Any]
    ) -> None:
        self.app = app
        self.settings = settings
        self.committer = committer
        self.routes = routes  # path -> the router's route, for metrics labels
        self.handlers: dict[str, Handler] = {
            STATUS_PATH: WebhookLane._status,
            INBOUND_PATH: WebhookLane._inbound,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.handlers.get(scope["path"]) if scope["type"] == "http" else None
        if handler is None or scope["method"] != "POST" or not _is_form(scope):
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.routes:
            scope["route"] = self.routes[scope["path"]]
        try:
            body = await _bounded_body(scope, receive)
            if body is None:
                return  # the client went away before sending it all: nothing to answer
            query = scope.get("query_string", b"").decode("latin-1")
            form = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
            url = self.settings.base_url + scope["path"] + (f"?{query}" if query else "")
            token = self.settings.twilio_auth_token.get_secret_value()
            if not twilio_signature_valid(
                token, url, form, scope_header(scope, b"x-twilio-signature")
            ):
                raise Forbidden("invalid webhook signature", code="invalid_signature")
            twiml = await handler(self, form, dict(parse_qsl(query, keep_blank_values=True)))
        except FieldlinkError as error:
            await problem(error.status, error.detail, code=error.code, title=error.title)(
                scope, receive, send
            )
            return
        payload = twiml.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(payload)).encode()),
                    (b"content-type", b"application/xml"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _status(self, form: dict[str, str], query: dict[str, str]) -> str:
        reference, provider_id = query.get("m"), form.get("MessageSid")
        receipt = SmsReceipt(
            reference=reference,
            provider_id=provider_id,
            provider_status=form.get("MessageStatus", ""),
            error_code=form.get("ErrorCode") or None,
            now=utcnow(),
        )
        # A burst of receipts is applied together (one statement on PostgreSQL).
        await self.committer.run_bulk(
            settle_sms_receipts, receipt, order=("sms.status", reference or "", provider_id or "")
        )
        return EMPTY_TWIML

    async def _inbound(self, form: dict[str, str], query: dict[str, str]) -> str:
        from fieldlink.sms import inbound

        sid = inbound.message_sid(form)
        if not sid:
            return EMPTY_TWIML  # not a message: nothing to do, no database work
        base_url, now = self.settings.base_url, utcnow()
        if not inbound.answers_at_once(form.get("Body", "")):
            # Recorded for the worker, in a group commit: a burst is one insert and one
            # commit, and the 200 still goes out only once this text is durable.
            await self.committer.run_bulk(
                inbound.record_received, inbound.received(form, now), order=("sms.inbound", sid)
            )
            return EMPTY_TWIML

        def work(session: Session) -> str | None:
            return inbound.reply_to_webhook(session, form, base_url=base_url, now=now)

        # A keyword: its own transaction in the thread pool, not a group commit. It is
        # about twenty statements, and one thread running them for every keyword in turn
        # would queue the texts behind each other's database round trips.
        reply = await anyio.to_thread.run_sync(_in_transaction, self.committer.factory, work)
        if reply is None:
            return EMPTY_TWIML
        return f"{_TWIML_START}<Message>{escape(reply)}</Message></Response>"


def _in_transaction(factory: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with session_scope(factory) as session:
        return work(session)


def _is_form(scope: Scope) -> bool:
    content_type = scope_header(scope, b"content-type") or ""
    return content_type.split(";", 1)[0].strip().lower().encode() == _FORM


async def _bounded_body(scope: Scope, receive: Receive) -> bytes | None:
    """The body, read only up to the limit: refused (413) by its Content-Length or as soon
    as it streams past the limit, never held whole."""
    declared = scope_header(scope, b"content-length") or ""
    too_large = PayloadTooLarge(
        f"webhook body over {MAX_FORM_BYTES} bytes", code="webhook_too_large"
    )
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def install_webhook_lane(app: Any, settings: Settings, committer: GroupCommit) -> None:
    """Put the lane in front of the router (call before the observability middleware)."""
    routes = {
        route.path: route
        for route in app.routes
        if getattr(route, "path", None) in (STATUS_PATH, INBOUND_PATH)
    }
    app.add_middleware(WebhookLane, settings=settings, committer=committer, routes=routes)
