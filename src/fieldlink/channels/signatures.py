"""Webhook signatures: Twilio's X-Twilio-Signature and our HMAC-SHA256 for email events."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Base64(HMAC-SHA1(token, url + every POST param name+value, sorted by name))."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_signature_valid(
    auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    if not signature or not auth_token:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def hmac_sha256(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hmac_sha256_valid(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature or not secret:
        return False
    given = signature.removeprefix("sha256=").encode("utf-8", "replace")
    return hmac.compare_digest(hmac_sha256(secret, body).encode(), given)
