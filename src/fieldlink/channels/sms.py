"""SMS transports: a Twilio-compatible HTTP API and a log sink.

Outbound texts are a form POST to ``{api}/2010-04-01/Accounts/{sid}/Messages.json`` with
basic auth, as Twilio's API takes them; the same shape works against the local fake.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.request
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from fieldlink.channels.base import Sms, TransportError
from fieldlink.channels.http11 import HttpError, KeepAliveClient

log = logging.getLogger("fieldlink.sms")

# Twilio error codes that no retry can fix, and the reason code we record for each.
PERMANENT_ERRORS = {
    21610: "opted_out_at_carrier",  # recipient replied STOP to the carrier: CTIA, never retry
    21211: "invalid_number",
    21614: "not_a_mobile_number",
    21408: "region_not_enabled",
    21612: "unreachable_number",
}


class TwilioSmsTransport:
    def __init__(
        self,
        *,
        api_url: str,
        account_sid: str,
        auth_token: str,
        client: httpx.Client | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.base = f"{api_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}"
        # Sends (the hot path, one per text) go over a light kept-alive connection per
        # thread; listing and provisioning, rare, over httpx. An injected client takes all.
        # A proxy set in the environment (HTTPS_PROXY, …) is honoured by httpx, not by the
        # light client: with one in force for the provider's host, httpx sends too.
        self.use_httpx = client is not None or _proxied(api_url)
        self.client = client or httpx.Client(timeout=timeout, auth=(account_sid, auth_token))
        self.fast = KeepAliveClient(api_url, timeout=timeout)
        self.messages_path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.headers = {
            "Authorization": f"Basic {token}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": "fieldlink",
        }

    def send(self, sms: Sms) -> str:
        form = {"To": sms.to, "From": sms.from_, "Body": sms.body}
        if sms.status_callback:
            form["StatusCallback"] = sms.status_callback
        if self.use_httpx:
            try:
                response = self.client.post(f"{self.base}/Messages.json", data=form)
            except httpx.HTTPError as exc:
                raise TransportError(f"SMS provider unreachable: {exc}", permanent=False) from exc
            return _sid_or_raise(response.status_code, response.content)
        try:
            reply = self.fast.request(
                "POST", self.messages_path, urlencode(form).encode(), self.headers
            )
        except HttpError as exc:
            # We cannot know whether the provider took it: the caller reconciles before resend.
            raise TransportError(f"SMS provider unreachable: {exc}", permanent=False) from exc
        return _sid_or_raise(reply.status, reply.body)

    def find_sent(self, *, to: str, since: datetime, reference: str) -> str | None:
        params = {"To": to, "DateSent>": since.strftime("%Y-%m-%d"), "PageSize": "200"}
        try:
            response = self.client.get(f"{self.base}/Messages.json", params=params)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise TransportError(f"cannot list provider messages: {exc}", permanent=False) from exc
        for item in _json(response).get("messages", []):
            if reference and reference in _query_values(str(item.get("status_callback") or "")):
                return str(item["sid"])
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
        """Twilio's two steps: search AvailablePhoneNumbers, buy via IncomingPhoneNumbers."""
        try:
            if friendly_name:
                owned = self.client.get(
                    f"{self.base}/IncomingPhoneNumbers.json", params={"FriendlyName": friendly_name}
                )
                owned.raise_for_status()
                for item in _json(owned).get("incoming_phone_numbers", []):
                    return str(item["phone_number"])
            found = self.client.get(
                f"{self.base}/AvailablePhoneNumbers/{country}/Local.json",
                params={"AreaCode": area_code, "SmsEnabled": "true", "PageSize": "1"},
            )
            found.raise_for_status()
        except httpx.HTTPError as exc:
            raise TransportError(f"cannot search provider numbers: {exc}", permanent=False) from exc
        available = _json(found).get("available_phone_numbers", [])
        if not available:
            raise TransportError(
                f"no number available in area code {area_code}",
                permanent=True,
                code="no_number_available",
            )
        form = {"PhoneNumber": str(available[0]["phone_number"])}
        for key, value in (
            ("FriendlyName", friendly_name),
            ("SmsUrl", sms_url),
            ("VoiceUrl", voice_url),
        ):
            if value:
                form[key] = value
        try:
            bought = self.client.post(f"{self.base}/IncomingPhoneNumbers.json", data=form)
        except httpx.HTTPError as exc:
            raise TransportError(f"SMS provider unreachable: {exc}", permanent=False) from exc
        body = _json(bought)
        if bought.status_code in (200, 201) and body.get("phone_number"):
            return str(body["phone_number"])
        raise TransportError(
            f"SMS provider answered {bought.status_code}: {body.get('message', '')}",
            permanent=400 <= bought.status_code < 500 and bought.status_code != 429,
        )


def _sid_or_raise(status: int, raw: bytes) -> str:
    """The message sid of an accepted text, or the TransportError its refusal means."""
    body = _json_bytes(raw)
    if status in (200, 201) and body.get("sid"):
        return str(body["sid"])
    code = body.get("code")
    if isinstance(code, int) and code in PERMANENT_ERRORS:
        raise TransportError(
            str(body.get("message", "rejected")), permanent=True, code=PERMANENT_ERRORS[code]
        )
    permanent = 400 <= status < 500 and status != 429
    text = raw[:200].decode("utf-8", "replace")
    raise TransportError(
        f"SMS provider answered {status}: {body.get('message', text)}",
        permanent=permanent,
        code=f"provider_{code}" if code else None,
    )


class LogSmsTransport:
    """The demo's sink: logs each text and keeps the last ones in memory."""

    def __init__(self, keep: int = 1000) -> None:
        self.sent: list[tuple[str, Sms]] = []
        self.numbers: dict[str, str] = {}
        self.keep = keep

    def send(self, sms: Sms) -> str:
        sid = f"SMlog{uuid.uuid4().hex}"
        self.sent = [*self.sent[-(self.keep - 1) :], (sid, sms)]
        log.info("sms to %s: %s", sms.to, sms.body)
        return sid

    def provision_number(
        self,
        area_code: str,
        *,
        country: str = "US",
        friendly_name: str | None = None,
        sms_url: str | None = None,
        voice_url: str | None = None,
    ) -> str:
        """Hands out a made-up number in the area code (555-01xx, reserved for fiction)."""
        if friendly_name and friendly_name in self.numbers:
            return self.numbers[friendly_name]
        number = f"+1{area_code}55501{len(self.numbers) % 100:02d}"
        self.numbers[friendly_name or number] = number
        log.info("provisioned %s for %s", number, friendly_name)
        return number

    def find_sent(self, *, to: str, since: datetime, reference: str) -> str | None:
        for sid, sms in reversed(self.sent):
            if sms.to == to and reference in _query_values(sms.status_callback or ""):
                return sid
        return None


def _proxied(url: str) -> bool:
    host = urlparse(url).hostname or ""
    scheme = urlparse(url).scheme
    proxies = urllib.request.getproxies()
    return bool(proxies.get(scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(host)


def _query_values(url: str) -> set[str]:
    """Every query-parameter value of ``url``: a reference must match one exactly."""
    return {v for values in parse_qs(urlparse(url).query).values() for v in values}


def _json_bytes(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
