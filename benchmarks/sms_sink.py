"""A cheap Twilio-shaped SMS sink for the delivery benchmark: raw asyncio, HTTP/1.1 kept alive.

    .venv/bin/python -m benchmarks.sms_sink          # prints its URL, serves until killed

It answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form, basic auth) with a
provider id, as the real API and ``tests/fakes/sms_provider.py`` do, but in one event loop
with a hand-rolled request parser: the Python fake (a thread per connection, headers parsed
by ``email``) costs about half a millisecond of CPU per text, as much as half the worker's,
which on a 2-core box measures the fake rather than fieldlink. The sink keeps only what the
benchmark checks: per message reference (the ``m=`` of ``StatusCallback``) how many times it
was sent, and to which number. ``GET …/Messages.json[?To=]`` lists them in the fake's shape
(one entry per copy received), so ``find_sent`` reconciliation and the benchmark's
lost/duplicated/unexpected check work unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from urllib.parse import parse_qs, unquote_plus, urlparse

_HEAD_END = b"\r\n\r\n"


class Record:
    """What the sink received: reference → [copies, to]."""

    def __init__(self, account_sid: str = "ACtest", auth_token: str = "secret-token") -> None:
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode())
        self.auth = b"basic " + token.lower()
        self.by_ref: dict[str, list[object]] = {}
        self.next_sid = 0

    def take(self, body: bytes) -> tuple[int, bytes]:
        """Record one create-message form body; the status and JSON answer."""
        to = ref = ""
        for part in body.split(b"&"):
            if part.startswith(b"StatusCallback="):
                callback = unquote_plus(part[15:].decode())
                ref = callback.rsplit("m=", 1)[1] if "m=" in callback else ""
            elif part.startswith(b"To="):
                to = unquote_plus(part[3:].decode())
        if not to:
            return 400, b'{"code": 21604, "message": "A \'To\' phone number is required."}'
        seen = self.by_ref.get(ref)
        if seen is None:
            self.by_ref[ref] = [1, to]
        else:
            seen[0] = int(seen[0]) + 1  # type: ignore[call-overload]
        self.next_sid += 1
        return 201, b'{"sid": "SMsink%032d", "status": "queued"}' % self.next_sid

    def listing(self, to: str | None) -> bytes:
        messages = [
            {"sid": f"SMsink-{ref}-{i}", "to": dest, "status_callback": f"?m={ref}"}
            for ref, (copies, dest) in self.by_ref.items()
            if to is None or dest == to
            for i in range(int(copies))  # type: ignore[call-overload]
        ]
        return json.dumps({"messages": messages}).encode()


class SinkProtocol(asyncio.Protocol):
    def __init__(self, record: Record) -> None:
        self.record = record
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = []
        while True:
            end = self.buffer.find(_HEAD_END)
            if end < 0:
                break
            head = self.buffer[:end]
            lower = head.lower()
            length = 0
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 17)
                length = int(lower[at + 17 : stop if stop >= 0 else None])
            if len(self.buffer) < end + 4 + length:
                break  # the body is not all here yet; a truncated one is never acted on
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            out.append(self._answer(head, lower, body))
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    def _answer(self, head: bytes, lower: bytes, body: bytes) -> bytes:
        method, _, rest = head.partition(b" ")
        target = rest.split(b" ", 1)[0].decode()
        if self.record.auth not in lower:
            status, raw = 401, b'{"code": 20003, "message": "Authenticate"}'
        elif method == b"POST" and target.endswith("/Messages.json"):
            status, raw = self.record.take(body)
        elif method == b"GET" and urlparse(target).path.endswith("/Messages.json"):
            query = {k: v[0] for k, v in parse_qs(urlparse(target).query).items()}
            status, raw = 200, self.record.listing(query.get("To"))
        else:
            status, raw = 404, b'{"code": 20404, "message": "Not found"}'
        reason = {200: b"OK", 201: b"Created"}.get(status, b"Error")
        return (
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (status, reason, len(raw))
            + raw
        )


async def serve(host: str = "127.0.0.1", port: int = 0) -> tuple[asyncio.Server, Record]:
    record = Record()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkProtocol(record), host, port, backlog=256)
    return server, record


async def _main() -> None:
    server, _ = await serve()
    host, port = server.sockets[0].getsockname()[:2]
    print(f"http://{host}:{port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        sys.exit(0)
