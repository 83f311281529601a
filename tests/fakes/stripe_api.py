"""A local fake of the parts of Stripe's API we use, over real HTTP, for the stripe adapter.

The official ``stripe`` library talks to it unchanged (``api_base`` points here): form-encoded
``POST /v1/payment_intents`` (confirm with ``payment_method`` or
``payment_method_data[card][token]``), ``POST /v1/customers``, ``POST
/v1/payment_methods/{id}/attach|detach`` and ``GET /v1/payment_methods?customer=``. It
checks the Bearer key, replays answers per ``Idempotency-Key`` as Stripe does (the same key
with other parameters is a 400 ``idempotency_error``), answers Stripe's test tokens with
Stripe's decline errors (402 ``card_error``), and can be told to fail the next N requests
with a 500. Only non-replayed PaymentIntents are appended to ``charges``.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

# Stripe's documented test cards: name -> (brand, last4, decline code, message)
TEST_CARDS: dict[str, tuple[str, str, str | None, str | None]] = {
    "visa": ("visa", "4242", None, None),
    "mastercard": ("mastercard", "4444", None, None),
    "chargeDeclined": ("visa", "0002", "generic_decline", "Your card was declined."),
    "chargeDeclinedInsufficientFunds": (
        "visa",
        "9995",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "chargeDeclinedExpiredCard": ("visa", "0069", "expired_card", "Your card has expired."),
}


@dataclass
class FakeStripe:
    secret_key: str = "sk_test_fake"
    charges: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: int = 0
    _idempotent: dict[str, tuple[dict[str, str], int, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- behaviour ------------------------------------------------------------------

    def _card_for(self, source: str) -> tuple[str, str, str | None, str | None] | None:
        for prefix in ("tok_", "pm_card_"):
            if source.startswith(prefix):
                return TEST_CARDS.get(source[len(prefix) :])
        method = self.methods.get(source)
        if method is not None:
            card = method["card"]
            return (card["brand"], card["last4"], method["_decline"], method["_message"])
        return None

    def _method_object(
        self, source: str, card: tuple[str, str, str | None, str | None]
    ) -> dict[str, Any]:
        return {
            "id": source if source in self.methods else f"pm_{secrets.token_hex(8)}",
            "object": "payment_method",
            "type": "card",
            "customer": None,
            "card": {"brand": card[0], "last4": card[1], "exp_month": 12, "exp_year": 2034},
        }

    def payment_intent(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        source = form.get("payment_method") or form.get("payment_method_data[card][token]", "")
        card = self._card_for(source)
        if card is None:
            return 400, _error(
                "invalid_request_error",
                "resource_missing",
                f"No such PaymentMethod: '{source}'",
                param="payment_method",
            )
        amount = int(form["amount"])
        pm = self._method_object(source, card)
        intent: dict[str, Any] = {
            "id": f"pi_{secrets.token_hex(12)}",
            "object": "payment_intent",
            "amount": amount,
            "currency": form.get("currency"),
            "customer": form.get("customer"),
            "description": form.get("description"),
            "payment_method": pm if "expand[0]" in form else pm["id"],
        }
        self.charges.append({**intent, "source": source, "declined": bool(card[2])})
        if card[2]:
            intent.update(status="requires_payment_method", amount_received=0)
            return 402, _error(
                "card_error",
                "card_declined",
                card[3] or "",
                decline_code=card[2],
                payment_intent=intent,
            )
        intent.update(status="succeeded", amount_received=amount)
        return 200, intent

    def attach(self, method_id: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        card = self._card_for(method_id)
        if card is None:
            return 404, _error("invalid_request_error", "resource_missing", "No such PaymentMethod")
        pm = self._method_object(method_id, card)
        pm["customer"] = form.get("customer")
        pm["_decline"], pm["_message"] = card[2], card[3]
        self.methods[pm["id"]] = pm
        return 200, _public(pm)

    def detach(self, method_id: str) -> tuple[int, dict[str, Any]]:
        pm = self.methods.get(method_id)
        if pm is None or pm["customer"] is None:
            return 400, _error(
                "invalid_request_error", "payment_method_unexpected_state", "not attached"
            )
        pm["customer"] = None
        return 200, _public(pm)

    def list_methods(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        data = [_public(m) for m in self.methods.values() if m["customer"] == query.get("customer")]
        return 200, {
            "object": "list",
            "data": data,
            "has_more": False,
            "url": "/v1/payment_methods",
        }

    # --- server ---------------------------------------------------------------------

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any], replayed: bool = False) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
                if replayed:
                    self.send_header("Idempotent-Replayed", "true")
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                url = urlparse(self.path)
                with fake.lock:
                    fake.requests.append((method, url.path))
                    if self.headers.get("Authorization") != f"Bearer {fake.secret_key}":
                        self._reply(401, _error("invalid_request_error", None, "Invalid API Key"))
                        return
                    if fake.fail_next > 0:
                        fake.fail_next -= 1
                        self._reply(500, _error("api_error", None, "Something went wrong"))
                        return
                    form = dict(parse_qsl(raw, keep_blank_values=True))
                    key = self.headers.get("Idempotency-Key")
                    if method == "POST" and key and key in fake._idempotent:
                        first_form, status, body = fake._idempotent[key]
                        if first_form != form:
                            self._reply(
                                400,
                                _error(
                                    "idempotency_error",
                                    None,
                                    "Keys for idempotent requests can only be used with the "
                                    "same parameters they were first used with.",
                                ),
                            )
                            return
                        self._reply(status, body, replayed=True)
                        return
                    status, body = fake.route(method, url.path, form, dict(parse_qsl(url.query)))
                    if method == "POST" and key:
                        fake._idempotent[key] = (form, status, body)
                self._reply(status, body)

            def do_POST(self) -> None:
                self._handle("POST")

            def do_GET(self) -> None:
                self._handle("GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def route(
        self, method: str, path: str, form: dict[str, str], query: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/payment_intents":
            return self.payment_intent(form)
        if method == "POST" and path == "/v1/customers":
            return 200, {"id": f"cus_{secrets.token_hex(7)}", "object": "customer", **form}
        if method == "GET" and path == "/v1/payment_methods":
            return self.list_methods(query)
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v1", "payment_methods"]:
            if parts[3] == "attach":
                return self.attach(parts[2], form)
            if parts[3] == "detach":
                return self.detach(parts[2])
        return 404, _error("invalid_request_error", None, f"Unrecognized request URL ({path})")

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _public(pm: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pm.items() if not k.startswith("_")}


def _error(kind: str, code: str | None, message: str, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message, **extra}
    if code:
        error["code"] = code
    return {"error": error}
