"""Staff users and a signed-in browser-like client for office page tests."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from fieldlink.accounts.models import User
from fieldlink.office.passwords import hash_password

PASSWORD = "correct horse battery"
_HASH: dict[str, str] = {}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_staff(
    session: Session,
    company_id: int,
    role: str = "owner",
    *,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
) -> User:
    # One argon2 hash per run: each costs ~19 MiB and tens of milliseconds.
    if PASSWORD not in _HASH:
        _HASH[PASSWORD] = hash_password(PASSWORD)
    user = User(
        company_id=company_id,
        name=name or f"{role.title()} Person",
        email=email or f"{role}.{company_id}@example.com",
        role=role,
        phone=phone,
        certifications=[],
        password_hash=_HASH[PASSWORD],
    )
    session.add(user)
    session.commit()
    return user


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


def new_client(client: TestClient) -> TestClient:
    """A client with its own cookie jar (another browser)."""
    return TestClient(client.app, raise_server_exceptions=False)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    """Sign ``client`` in through the real login form; returns it for chaining."""
    form = client.get("/office/login")
    r = client.post(
        "/office/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def token(client: TestClient) -> str:
    """The client's CSRF token (any page renders it; the sign-in page needs no session)."""
    return csrf_of(client.get("/office/login").text)


def post_form(client: TestClient, url: str, data: dict[str, Any]) -> Response:
    """POST a form with the client's CSRF token, without following the redirect."""
    return client.post(url, data={**data, "csrf_token": token(client)}, follow_redirects=False)
