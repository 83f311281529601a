"""Signed, expiring link tokens scoped to one object of one company (``/s/``, ``/i/`` …).

A token is ``base64url(kind:company:object:expires)`` + ``.`` + a truncated
HMAC-SHA256 of it under the server's secret key and the kind, so it can't be forged,
moved to another object or company, or used for another kind of page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

KINDS = {
    "s": "service_link",
    "e": "estimate",
    "i": "invoice",
    "r": "reschedule",
    "u": "unsubscribe",
    "o": "opt_in",
    "t": "tracking",
}
DEFAULT_TTL = timedelta(days=60)


@dataclass(frozen=True)
class LinkClaim:
    kind: str
    company_id: int
    object_id: int
    expires_at: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, kind: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"link:{kind}:{body}".encode(), hashlib.sha256).digest()
    return _b64(digest[:20])


def make_token(
    secret: str,
    *,
    kind: str,
    company_id: int,
    object_id: int,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown link kind {kind!r}")
    expires = int((now + ttl).timestamp())
    body = _b64(f"{kind}:{company_id}:{object_id}:{expires}".encode())
    return f"{body}.{_mac(secret, kind, body)}"


def read_token(secret: str, token: str, *, kind: str, now: datetime) -> LinkClaim | None:
    """The claim, or None for anything tampered, expired, malformed or of another kind."""
    body, _, mac = token.partition(".")
    if not body or not mac or len(token) > 200:
        return None
    if not hmac.compare_digest(_mac(secret, kind, body).encode(), mac.encode()):
        return None
    try:
        k, company, obj, expires = _unb64(body).decode().split(":")
        claim = LinkClaim(k, int(company), int(obj), int(expires))
    except ValueError:
        return None
    if claim.kind != kind or claim.expires_at < now.timestamp():
        return None
    return claim


def link_url(
    base_url: str,
    secret: str,
    *,
    kind: str,
    company_id: int,
    object_id: int,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
) -> str:
    token = make_token(
        secret, kind=kind, company_id=company_id, object_id=object_id, now=now, ttl=ttl
    )
    return f"{base_url}/{kind}/{token}"


@dataclass(frozen=True)
class LinkMaker:
    """Makes customer-facing URLs; built at the entry point from Settings."""

    base_url: str
    secret: str

    def url(self, kind: str, *, company_id: int, object_id: int, now: datetime) -> str:
        return link_url(
            self.base_url,
            self.secret,
            kind=kind,
            company_id=company_id,
            object_id=object_id,
            now=now,
        )
