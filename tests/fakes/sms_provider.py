"""A local, Twilio-compatible SMS provider over real HTTP, for tests and benchmarks.

It takes ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form, basic auth), records every
message, and lists them with ``GET …/Messages.json?To=``. It hands out numbers as Twilio
does: ``GET …/AvailablePhoneNumbers/US/Local.json?AreaCode=`` searches, ``POST
…/IncomingPhoneNumbers.json`` buys, ``GET …/IncomingPhoneNumbers.json?FriendlyName=`` lists.
Failures can be scripted: a number that answers a Twilio error code, or the next N
requests answering 500.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class FakeSmsProvider:
    account_sid: str = "ACtest"
    auth_token: str = "secret-token"
    messages: list[dict[str, Any]] = field(default_factory=list)
    error_for_number: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    fail_next: int = 0
    owned_numbers: list[dict[str, Any]] = field(default_factory=list)
    exhausted_area_codes: set[str] = field(default_factory=set)
    # Seconds between recording a text and answering (a real API takes 100-300 ms): a
    # client that dies meanwhile has sent a text it never heard about.
    latency: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeSmsProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as the real API: a new TCP connection per text would measure the
            # fake's accept loop instead of our client.
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes: without TCP_NODELAY the body waits
            # for the client's delayed ACK (~40 ms a request), as the peers' sink found.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _authorised(self) -> bool:
                expected = base64.b64encode(
                    f"{provider.account_sid}:{provider.auth_token}".encode()
                ).decode()
                return self.headers.get("Authorization") == f"Basic {expected}"

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                # Read the body first: on a kept-alive connection an unread body would be
                # taken for the next request.
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if len(raw) < length:
                    # The client died mid-request (a killed worker): an HTTP server never
                    # acts on a truncated body, and neither does the real API.
                    self.close_connection = True
                    return None
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                if not self._authorised():
                    return self._reply(401, {"code": 20003, "message": "Authenticate"})
                if urlparse(self.path).path.endswith("/IncomingPhoneNumbers.json"):
                    return self._buy(form)
                with provider.lock:
                    if provider.fail_next > 0:
                        provider.fail_next -= 1
                        return self._reply(500, {"code": 20500, "message": "Internal error"})
                    if form.get("To") in provider.error_for_number:
                        status, code, message = provider.error_for_number[form["To"]]
                        return self._reply(status, {"code": code, "message": message})
                    sid = "SM" + uuid.uuid4().hex
                    provider.messages.append(
                        {
                            "sid": sid,
                            "to": form.get("To"),
                            "from": form.get("From"),
                            "body": form.get("Body"),
                            "status": "queued",
                            "status_callback": form.get("StatusCallback"),
                            "date_created": datetime.now(UTC).isoformat(),
                        }
                    )
                if provider.latency:
                    time.sleep(provider.latency)
                return self._reply(201, {"sid": sid, "status": "queued", "to": form.get("To")})

            def _buy(self, form: dict[str, str]) -> None:
                with provider.lock:
                    number = form.get("PhoneNumber", "")
                    if any(n["phone_number"] == number for n in provider.owned_numbers):
                        return self._reply(400, {"code": 21422, "message": "not available"})
                    bought = {
                        "sid": "PN" + uuid.uuid4().hex,
                        "phone_number": number,
                        "friendly_name": form.get("FriendlyName", number),
                        "sms_url": form.get("SmsUrl"),
                        "voice_url": form.get("VoiceUrl"),
                    }
                    provider.owned_numbers.append(bought)
                return self._reply(201, bought)

            def _numbers(self, path: str, query: dict[str, str]) -> None:
                with provider.lock:
                    if path.endswith("/IncomingPhoneNumbers.json"):
                        name = query.get("FriendlyName")
                        owned = [
                            n
                            for n in provider.owned_numbers
                            if name is None or n["friendly_name"] == name
                        ]
                        return self._reply(200, {"incoming_phone_numbers": owned})
                    area = query.get("AreaCode", "919")
                    taken = {n["phone_number"] for n in provider.owned_numbers}
                    free = [
                        f"+1{area}55501{i:02d}"
                        for i in range(100)
                        if f"+1{area}55501{i:02d}" not in taken
                    ]
                    if area in provider.exhausted_area_codes:
                        free = []
                    listed = [{"phone_number": n} for n in free[: int(query.get("PageSize", 20))]]
                return self._reply(200, {"available_phone_numbers": listed})

            def do_GET(self) -> None:
                if not self._authorised():
                    return self._reply(401, {"code": 20003, "message": "Authenticate"})
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                path = urlparse(self.path).path
                if "PhoneNumbers" in path:
                    return self._numbers(path, query)
                with provider.lock:
                    found = [
                        m for m in provider.messages if "To" not in query or m["to"] == query["To"]
                    ]
                return self._reply(200, {"messages": found})

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256  # the default 5 resets connections under load

            def handle_error(self, request: Any, client_address: Any) -> None:
                # A client killed mid-request (chaos tests) resets its connection: expected.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
