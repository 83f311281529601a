"""CSRF protection for every page form: a signed double-submit token.

The browser holds a random value in an HttpOnly, SameSite=Lax cookie; forms carry an HMAC of
it under the server secret (hidden field ``csrf_token``, or the ``X-CSRF-Token`` header for
HTMX). Another site can neither read the cookie nor forge the MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from fieldlink.config import Settings
from fieldlink.pages.errors import PageError
from fieldlink.pages.i18n import N_

COOKIE = "fl_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _mac(request: Request, raw: str) -> str:
    key = _settings(request).secret_key.get_secret_value().encode()
    return hmac.new(key, f"csrf:{raw}".encode(), hashlib.sha256).hexdigest()


def token(request: Request) -> str:
    """The token to put in this page's forms (a cookie value is made on first use)."""
    raw = request.cookies.get(COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if not raw:
        raw = secrets.token_urlsafe(24)
        request.state.new_csrf_cookie = raw
    return _mac(request, raw)


def set_cookie(request: Request, response: Response) -> None:
    """Send the cookie made by :func:`token` (called by ``render``)."""
    raw = getattr(request.state, "new_csrf_cookie", None)
    if raw:
        response.set_cookie(
            COOKIE,
            raw,
            httponly=True,
            samesite="lax",
            secure=_settings(request).base_url.startswith("https://"),
            path="/",
        )


async def verify(request: Request) -> None:
    """Refuse a state-changing request whose token does not match its cookie (403 page)."""
    raw = request.cookies.get(COOKIE)
    submitted = request.headers.get(HEADER)
    if submitted is None:
        form = await request.form()
        value = form.get(FIELD)
        submitted = value if isinstance(value, str) else None
    if not raw or not submitted or not hmac.compare_digest(_mac(request, raw), submitted):
        raise PageError(
            403,
            N_("This form has expired. Please go back, reload the page and try again."),
            title=N_("Please try again"),
        )
