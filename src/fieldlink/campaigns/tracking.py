"""Links in campaign messages: unsubscribe (``/u/``), opt-in confirmation (``/o/``), open
pixel (``/t/o/``) and click redirect (``/t/c/``) — all signed, so none can be forged,
pointed at another message, or (for clicks) turned into an open redirect."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from fieldlink.links.tokens import LinkMaker, make_token

_HREF = re.compile(r'href="(https?://[^"]+)"')


@dataclass(frozen=True)
class CampaignLinks:
    links: LinkMaker

    def unsubscribe(self, *, company_id: int, message_id: int, now: datetime) -> str:
        return self.links.url("u", company_id=company_id, object_id=message_id, now=now)

    def opt_in(self, *, company_id: int, method_id: int, now: datetime) -> str:
        return self.links.url("o", company_id=company_id, object_id=method_id, now=now)

    def _token(self, *, company_id: int, message_id: int, now: datetime) -> str:
        return make_token(
            self.links.secret, kind="t", company_id=company_id, object_id=message_id, now=now
        )

    def pixel(self, *, company_id: int, message_id: int, now: datetime) -> str:
        token = self._token(company_id=company_id, message_id=message_id, now=now)
        return f"{self.links.base_url}/t/o/{token}"

    def click(self, *, company_id: int, message_id: int, url: str, now: datetime) -> str:
        token = self._token(company_id=company_id, message_id=message_id, now=now)
        sig = click_signature(self.links.secret, token, url)
        return f"{self.links.base_url}/t/c/{token}?url={quote(url, safe='')}&sig={sig}"

    def track_html(
        self, html: str, *, company_id: int, message_id: int, keep: str, now: datetime
    ) -> str:
        """Route every link but ``keep`` (the unsubscribe link) through the click redirect
        and add the open pixel."""

        def swap(match: re.Match[str]) -> str:
            url = match.group(1).replace("&amp;", "&")
            if url == keep:
                return match.group(0)
            tracked = self.click(company_id=company_id, message_id=message_id, url=url, now=now)
            return f'href="{tracked.replace("&", "&amp;")}"'

        pixel = self.pixel(company_id=company_id, message_id=message_id, now=now)
        img = f'<img src="{pixel}" width="1" height="1" alt="" style="display:block">'
        return _HREF.sub(swap, html).replace("</body>", f"{img}</body>")


def click_signature(secret: str, token: str, url: str) -> str:
    digest = hmac.new(secret.encode(), f"click:{token}:{url}".encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def valid_click(secret: str, token: str, url: str, sig: str) -> bool:
    return hmac.compare_digest(click_signature(secret, token, url), sig)
