"""The delivery benchmark's asyncio SMS sink answers our real Twilio client as the fake does,
and keeps the per-message record the benchmark's lost/duplicated/unexpected check reads."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from benchmarks.sms_sink import Record, serve

from fieldlink.channels.base import Sms, TransportError
from fieldlink.channels.sms import TwilioSmsTransport


@pytest.fixture
def sink() -> Iterator[tuple[str, Record]]:
    loop = asyncio.new_event_loop()
    server, record = loop.run_until_complete(serve())
    host, port = server.sockets[0].getsockname()[:2]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://{host}:{port}", record
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    server.close()
    loop.close()


def _text(to: str, ref: str) -> Sms:
    return Sms(
        to=to,
        from_="+19195550100",
        body="Your tune-up is tomorrow, 1–3 pm & bring the dog",
        status_callback=f"https://fieldlink.example/webhooks/sms/status?m={ref}",
        reference=ref,
    )


def test_texts_get_provider_ids_and_are_counted_per_message(sink: tuple[str, Record]) -> None:
    url, record = sink
    sms = TwilioSmsTransport(api_url=url, account_sid="ACtest", auth_token="secret-token")
    ids = {sms.send(_text(f"+1919555{i:04d}", f"flm-{i}")) for i in range(50)}
    sms.send(_text("+19195550007", "flm-7"))  # a second copy of one message
    assert len(ids) == 50 and all(i.startswith("SM") for i in ids)
    assert record.by_ref["flm-7"][0] == 2
    assert sum(int(copies) for copies, _ in record.by_ref.values()) == 51  # type: ignore[call-overload]
    # The provider's own listing, as the benchmark check and reconciliation read it.
    since = datetime(2020, 1, 1, tzinfo=UTC)
    assert sms.find_sent(to="+19195550007", since=since, reference="flm-7") is not None
    assert sms.find_sent(to="+19195550008", since=since, reference="flm-7") is None


def test_requests_split_across_packets_and_pipelined(sink: tuple[str, Record]) -> None:
    url, record = sink
    port = int(url.rsplit(":", 1)[1])
    body = b"To=%2B19195550001&StatusCallback=https%3A%2F%2Fx%2F%3Fm%3Dflm-1"
    request = (
        b"POST /2010-04-01/Accounts/ACtest/Messages.json HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Basic QUN0ZXN0OnNlY3JldC10b2tlbg==\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request[:40])
        conn.sendall(request[40:-5])
        conn.sendall(request[-5:] + request)  # the rest, then a whole second one
        got = b""
        while got.count(b"HTTP/1.1 201") < 2:
            got += conn.recv(4096)
    assert record.by_ref["flm-1"] == [2, "+19195550001"]


def test_wrong_credentials_are_refused(sink: tuple[str, Record]) -> None:
    url, record = sink
    sms = TwilioSmsTransport(api_url=url, account_sid="ACtest", auth_token="wrong")
    with pytest.raises(TransportError):
        sms.send(_text("+19195550001", "flm-1"))
    assert record.by_ref == {}
