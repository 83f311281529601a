"""A small HTTP/1.1 client for the provider hot path: one kept-alive connection per thread.

A text costs one form POST. ``httpx`` spends about 1.4 ms of CPU on it on this machine
(and slows as requests in flight grow); ``http.client`` about 0.4 ms, most of it parsing
headers with the ``email`` package. This client writes the request in one ``sendall`` and
reads the status line, the few headers it needs and the body (``Content-Length`` or
chunked). It never resends: a request that fails after it may have left raises, and the
caller reconciles with the provider before any retry (DESIGN.md principle 1). A kept-alive
connection the server has closed is noticed before it is reused, not after.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit


class HttpError(Exception):
    """The request failed at the connection level; the server may or may not have acted."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


class KeepAliveClient:
    """``post(path, body, headers)`` over a connection per calling thread, reused."""

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        default_port = self.port == (443 if self.tls else 80)
        self.host_header = self.host if default_port else f"{self.host}:{self.port}"
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()
        self._tls_context = ssl.create_default_context() if self.tls else None

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls_context is not None:
            sock = self._tls_context.wrap_socket(sock, server_hostname=self.host)
        return sock

    def _connection(self) -> tuple[socket.socket, bytearray]:
        held = getattr(self._local, "conn", None)
        if held is not None:
            sock, buffer = held
            # An idle kept-alive connection that is readable has been closed by the server
            # (or holds garbage): drop it rather than send a request into it.
            readable = _readable(sock)
            if not readable and not buffer:
                return sock, buffer
            self.close()
        sock = self._connect()
        self._local.conn = (sock, bytearray())
        return self._local.conn  # type: ignore[no-any-return]

    def close(self) -> None:
        held = getattr(self._local, "conn", None)
        self._local.conn = None
        if held is not None:
            with contextlib.suppress(OSError):
                held[0].close()

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        head = [f"{method} {self.prefix}{path} HTTP/1.1", f"Host: {self.host_header}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        try:
            sock, buffer = self._connection()
            sock.sendall(raw)
            reply, keep = _read_response(sock, buffer, head_only=method == "HEAD")
        except (OSError, ValueError) as exc:
            self.close()
            raise HttpError(str(exc) or type(exc).__name__) from exc
        if not keep:
            self.close()
        return reply


def _readable(sock: socket.socket) -> bool:
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _fill(sock: socket.socket, buffer: bytearray) -> None:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("connection closed by the server")
    buffer += chunk


def _read_line(sock: socket.socket, buffer: bytearray) -> bytes:
    while True:
        end = buffer.find(b"\r\n")
        if end >= 0:
            line = bytes(buffer[:end])
            del buffer[: end + 2]
            return line
        if len(buffer) > 65536:
            raise ValueError("header line too long")
        _fill(sock, buffer)


def _read_exactly(sock: socket.socket, buffer: bytearray, n: int) -> bytes:
    while len(buffer) < n:
        _fill(sock, buffer)
    data = bytes(buffer[:n])
    del buffer[:n]
    return data


def _read_response(
    sock: socket.socket, buffer: bytearray, *, head_only: bool = False
) -> tuple[Reply, bool]:
    while True:
        status_line = _read_line(sock, buffer)
        version, _, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
        status = int(rest[:3])
        length: int | None = None
        chunked = False
        keep = version == b"HTTP/1.1"
        while True:
            line = _read_line(sock, buffer)
            if not line:
                break
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value.strip())
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif key == b"connection":
                token = value.strip().lower()
                keep = token == b"keep-alive" or (keep and token != b"close")
        if 100 <= status < 200:
            continue  # an interim answer (100 Continue): the real one follows
        break
    if head_only or status in (204, 304):
        return Reply(status, b""), keep
    if chunked:
        parts = []
        while True:
            size = int(_read_line(sock, buffer).split(b";")[0].strip(), 16)
            if size == 0:
                while _read_line(sock, buffer):  # trailers, up to the blank line
                    pass
                break
            parts.append(_read_exactly(sock, buffer, size))
            _read_line(sock, buffer)
        return Reply(status, b"".join(parts)), keep
    if length is not None:
        return Reply(status, _read_exactly(sock, buffer, length)), keep
    # No length: the body runs to the end of the connection.
    while True:
        try:
            _fill(sock, buffer)
        except ConnectionError:
            break
    body = bytes(buffer)
    buffer.clear()
    return Reply(status, body), False
