"""Opening customer links in tests: tokens like the messages carry, and form fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fieldlink.links.tokens import make_token

SECRET = "test-secret"  # the `settings` fixture's secret key


def token(kind: str, company_id: int, object_id: int, *, age: timedelta = timedelta()) -> str:
    return make_token(
        SECRET,
        kind=kind,
        company_id=company_id,
        object_id=object_id,
        now=datetime.now(UTC) - age,
    )


def url(kind: str, company_id: int, object_id: int) -> str:
    return f"/{kind}/{token(kind, company_id, object_id)}"


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def form_of(html: str, *names: str) -> dict[str, str]:
    """The CSRF token and the named hidden fields of the page's form."""
    return {n: hidden(html, n) for n in ("csrf_token", *names)}
