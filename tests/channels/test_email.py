"""The SMTP transport against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from fieldlink.channels.base import Email, TransportError
from fieldlink.channels.email import SmtpTransport


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def make(to: str = "maria@example.com") -> Email:
    return Email(
        to=to,
        subject="Your appointment is confirmed",
        text="See you Tuesday 8-10.",
        html="<p>See you Tuesday 8-10.</p>",
        from_email="service@acme.example",
        from_name="Acme Heating & Air",
        reference="m-42",
        headers={"List-Unsubscribe": "<https://engage.example/u/abc>"},
    )


def test_an_email_arrives_with_sender_identity_headers_and_both_bodies(smtp) -> None:
    inbox, port = smtp
    provider_id = SmtpTransport(f"smtp://127.0.0.1:{port}").send(make())
    [got] = inbox.messages
    assert got["To"] == "maria@example.com"
    assert got["From"] == "Acme Heating & Air <service@acme.example>"
    assert got["Subject"] == "Your appointment is confirmed"
    assert got["X-Fieldlink-Message"] == "m-42"
    assert got["List-Unsubscribe"] == "<https://engage.example/u/abc>"
    assert got["Message-ID"] == provider_id
    kinds = [part.get_content_type() for part in got.walk()]
    assert "text/plain" in kinds and "text/html" in kinds


def test_one_connection_carries_several_emails(smtp) -> None:
    inbox, port = smtp
    t = SmtpTransport(f"smtp://127.0.0.1:{port}")
    for i in range(3):
        t.send(make(f"c{i}@example.com"))
    assert [m["To"] for m in inbox.messages] == [f"c{i}@example.com" for i in range(3)]


def test_a_refused_mailbox_is_permanent(smtp) -> None:
    inbox, port = smtp
    inbox.refuse.add("gone@example.com")
    with pytest.raises(TransportError) as caught:
        SmtpTransport(f"smtp://127.0.0.1:{port}").send(make("gone@example.com"))
    assert caught.value.permanent and caught.value.code == "recipient_refused"


def test_no_server_is_transient() -> None:
    with pytest.raises(TransportError) as caught:
        SmtpTransport("smtp://127.0.0.1:1", timeout=2).send(make())
    assert not caught.value.permanent


def test_a_malformed_smtp_url_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="smtp://"):
        SmtpTransport("http://mail.example")
