"""The provider hot path's small HTTP/1.1 client against raw sockets over real TCP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from fieldlink.channels.http11 import HttpError, KeepAliveClient


class RawServer:
    """Answers each request read from a connection with whatever ``reply`` returns."""

    def __init__(self, reply: Callable[[int, bytes], bytes | None]) -> None:
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.hang_up_after = 0  # close silently after answering this request (idle timeout)
        self.requests: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                while len(data) < length:
                    data += conn.recv(65536)
                body, data = data[:length], data[length:]
                self.requests.append(head + b"\r\n\r\n" + body)
                answer = self.reply(len(self.requests), body)
                if answer is None:
                    return  # hang up without answering
                conn.sendall(answer)
                if b"Connection: close" in answer or self.hang_up_after == len(self.requests):
                    return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[int, bytes], bytes | None]], RawServer]]:
    servers: list[RawServer] = []

    def start(reply: Callable[[int, bytes], bytes | None]) -> RawServer:
        servers.append(RawServer(reply))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def ok(body: bytes = b'{"sid":"SM1"}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def test_requests_share_one_kept_alive_connection_and_carry_the_body(serve) -> None:
    server = serve(lambda n, body: ok(b'{"n":%d}' % n))
    client = KeepAliveClient(server.url + "/api")
    replies = [
        client.request("POST", "/x", b"a=1&b=2", {"Authorization": "Basic abc"}) for _ in range(3)
    ]
    assert [r.body for r in replies] == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /api/x HTTP/1.1\r\n")
    assert b"Authorization: Basic abc\r\n" in first and b"Content-Length: 7\r\n" in first
    assert first.endswith(b"\r\n\r\na=1&b=2")


def test_chunked_bodies_and_interim_answers_are_read_whole(serve) -> None:
    chunked = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"si\r\n6;ext=1\r\nd":"SM\r\n3\r\n9"}\r\n0\r\nX-Trailer: y\r\n\r\n'
    )
    server = serve(lambda n, body: chunked if n == 1 else ok())
    client = KeepAliveClient(server.url)
    assert client.request("POST", "/x", b"").body == b'{"sid":"SM9"}'
    assert client.request("POST", "/x", b"").status == 201  # the connection is still in step
    assert server.connections == 1


def test_connection_close_and_a_server_hang_up_open_a_new_connection(serve) -> None:
    server = serve(lambda n, body: ok(extra=b"Connection: close\r\n") if n == 1 else ok())
    client = KeepAliveClient(server.url)
    assert client.request("POST", "/x", b"").status == 201
    assert client.request("POST", "/x", b"").status == 201
    assert server.connections == 2


def test_an_idle_connection_closed_by_the_server_is_not_reused(serve) -> None:
    server = serve(lambda n, body: ok())
    server.hang_up_after = 1  # as a server's idle timeout does, with no "Connection: close"
    client = KeepAliveClient(server.url)
    assert client.request("POST", "/x", b"").status == 201
    time.sleep(0.1)
    assert client.request("POST", "/x", b"").status == 201
    assert server.connections == 2


def test_no_answer_raises_and_is_never_resent(serve) -> None:
    server = serve(lambda n, body: None)
    client = KeepAliveClient(server.url)
    with pytest.raises(HttpError):
        client.request("POST", "/x", b"to=1")
    assert len(server.requests) == 1  # the caller reconciles; the client does not retry


def test_unreachable_and_bad_urls() -> None:
    with pytest.raises(HttpError):
        KeepAliveClient("http://127.0.0.1:1").request("POST", "/x", b"")
    with pytest.raises(ValueError):
        KeepAliveClient("ftp://example.com")


def test_a_proxy_in_the_environment_sends_texts_through_httpx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Operators behind an egress proxy set HTTPS_PROXY; the light client cannot use it."""
    from fieldlink.channels.sms import TwilioSmsTransport

    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    args = {"api_url": "https://api.twilio.com", "account_sid": "AC1", "auth_token": "t"}
    assert TwilioSmsTransport(**args).use_httpx is False
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert TwilioSmsTransport(**args).use_httpx is True
    monkeypatch.setenv("NO_PROXY", "api.twilio.com")
    assert TwilioSmsTransport(**args).use_httpx is False
