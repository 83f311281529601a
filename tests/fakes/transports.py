"""In-memory transports for tests that don't need a network peer (STYLE rule 6)."""

from __future__ import annotations

import itertools
from datetime import datetime
from urllib.parse import parse_qs, urlparse

from fieldlink.channels.base import Email, Sms, TransportError

_ids = itertools.count(1)


class FakeEmailTransport:
    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.fail_with: TransportError | None = None

    def send(self, email: Email) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(email)
        return f"<fake-{next(_ids)}@mail>"


class FakeSmsTransport:
    """Records texts. ``fail_with`` raises before sending; ``lose_reply`` sends, then
    raises a timeout, as a provider that took the text but whose answer never came back."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Sms]] = []
        self.fail_with: TransportError | None = None
        self.lose_reply = False
        self.lookups = 0
        self.numbers: dict[str, str] = {}

    def send(self, sms: Sms) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        sid = f"SMfake{next(_ids)}"
        self.sent.append((sid, sms))
        if self.lose_reply:
            self.lose_reply = False
            raise TransportError("read timed out", permanent=False)
        return sid

    def find_sent(self, *, to: str, since: datetime, reference: str) -> str | None:
        self.lookups += 1
        for sid, sms in self.sent:
            query = parse_qs(urlparse(sms.status_callback or "").query)
            if sms.to == to and reference in query.get("m", []):
                return sid
        return None

    def provision_number(
        self,
        area_code: str,
        *,
        country: str = "US",
        friendly_name: str | None = None,
        sms_url: str | None = None,
        voice_url: str | None = None,
    ) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        if friendly_name and friendly_name in self.numbers:
            return self.numbers[friendly_name]
        number = f"+1{area_code}55501{len(self.numbers):02d}"
        self.numbers[friendly_name or number] = number
        return number
