"""Transports: the edge where messages leave fieldlink. They know no domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class TransportError(Exception):
    """A send that did not happen. ``permanent`` means retrying can never help.

    ``code`` is a stable reason (e.g. ``opted_out_at_carrier``) the caller records.
    """

    def __init__(self, message: str, *, permanent: bool, code: str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code or ("rejected" if permanent else "transient_error")


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    from_email: str
    from_name: str | None = None
    html: str | None = None
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reference: str | None = None  # our message id, carried in a header for bounce matching


@dataclass(frozen=True)
class Sms:
    to: str
    from_: str
    body: str
    status_callback: str | None = None
    reference: str | None = None  # our message id, carried in the status-callback URL


class EmailTransport(Protocol):
    def send(self, email: Email) -> str:
        """Hand the email over; return the provider's id or raise TransportError."""
        ...


class SmsTransport(Protocol):
    def send(self, sms: Sms) -> str:
        """Hand the text over; return the provider's id or raise TransportError."""
        ...

    def find_sent(self, *, to: str, since: datetime, reference: str) -> str | None:
        """The provider id of a text to ``to`` since ``since`` carrying ``reference``, if any.

        Used before resending a message whose attempt was cut off by a crash (DESIGN.md
        principle 1): if the provider has it, it was sent and must not be sent again.
        """
        ...

    def provision_number(
        self,
        area_code: str,
        *,
        country: str = "US",
        friendly_name: str | None = None,
        sms_url: str | None = None,
        voice_url: str | None = None,
    ) -> str:
        """Buy a local number in ``area_code`` and point its webhooks at the URLs; return
        it in E.164, or raise TransportError (``no_number_available`` when none is left).

        A number already bought under ``friendly_name`` is returned instead of buying a
        second: a retry after a crash must not pay twice.
        """
        ...
