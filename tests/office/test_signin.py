"""Staff sign-in: sessions, throttling, roles, sign-out and password reset by email."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldlink.app import create_app
from fieldlink.config import Settings
from fieldlink.messaging.models import Message
from fieldlink.office import auth
from fieldlink.office.models import StaffSession
from tests.conftest import Tenant
from tests.office.helpers import PASSWORD, csrf_of, make_staff, new_client, post_form, sign_in


def test_sign_in_sets_an_httponly_samesite_cookie_and_stores_only_a_hash(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    form = client.get("/office/login")
    r = client.post(
        "/office/login",
        data={"email": owner.email.upper(), "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/office/"
    cookie = r.headers["set-cookie"]
    assert "fl_staff=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    raw = re.search(r"fl_staff=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
    stored = session.scalars(select(StaffSession.token_hash)).all()
    assert stored == [auth.token_hash(raw)] and raw not in stored
    assert client.get("/office/appointments").status_code == 200


def test_the_cookie_is_secure_and_host_prefixed_when_the_site_is_https(
    settings: Settings,
    session_factory,
    session: Session,
    tenant: Tenant,  # type: ignore[no-untyped-def]
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    https = create_app(
        settings.model_copy(update={"base_url": "https://office.example"}), factory=session_factory
    )
    browser = TestClient(https, base_url="https://office.example", raise_server_exceptions=False)
    form = browser.get("/office/login")
    r = browser.post(
        "/office/login",
        data={"email": owner.email, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "__Host-fl_staff=" in r.headers["set-cookie"] and "Secure" in r.headers["set-cookie"]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    wrong = post_form(client, "/office/login", {"email": owner.email, "password": "nope-nope-nope"})
    unknown = post_form(client, "/office/login", {"email": "ghost@example.com", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match" in wrong.text and "do not match" in unknown.text
    assert "fl_staff" not in wrong.headers.get("set-cookie", "")


def test_five_failures_lock_the_address_even_for_the_right_password(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    # OWASP Authentication Cheat Sheet: lock out after repeated failures to stop guessing.
    owner = make_staff(session, tenant.company_id, "owner")
    for _ in range(auth.MAX_FAILURES_PER_EMAIL):
        assert (
            post_form(
                client, "/office/login", {"email": owner.email, "password": "guess-guess"}
            ).status_code
            == 401
        )
    locked = post_form(client, "/office/login", {"email": owner.email, "password": PASSWORD})
    assert locked.status_code == 429 and "15 minutes" in locked.text


def test_the_session_id_is_rotated_at_sign_in(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    sign_in(client, owner.email)
    first = client.cookies.get("fl_staff")
    sign_in(client, owner.email)
    second = client.cookies.get("fl_staff")
    assert first != second
    hashes = set(session.scalars(select(StaffSession.token_hash)))
    assert auth.token_hash(first) not in hashes and auth.token_hash(second) in hashes  # type: ignore[arg-type]


def test_sign_out_ends_the_session_on_the_server(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    sign_in(client, owner.email)
    raw = client.cookies.get("fl_staff")
    assert post_form(client, "/office/logout", {}).status_code == 303
    replay = new_client(client)
    replay.cookies.set("fl_staff", raw)  # type: ignore[arg-type]
    r = replay.get("/office/appointments", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/office/login?next=")


def test_a_form_without_the_csrf_token_is_refused(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    client.get("/office/login")
    r = client.post("/office/login", data={"email": owner.email, "password": PASSWORD})
    assert r.status_code == 403
    assert session.scalar(select(func.count(StaffSession.id))) == 0


def test_next_never_leaves_the_office(client: TestClient, session: Session, tenant: Tenant) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    for target, expected in (
        ("https://evil.example/", "/office/"),
        ("//evil.example", "/office/"),
        ("/office/messages?status=suppressed", "/office/messages?status=suppressed"),
    ):
        r = post_form(
            client, "/office/login", {"email": owner.email, "password": PASSWORD, "next": target}
        )
        assert r.headers["location"] == expected


def test_a_technician_lands_on_their_day_and_cannot_open_office_pages(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    tech = make_staff(session, tenant.company_id, "technician")
    r = post_form(client, "/office/login", {"email": tech.email, "password": PASSWORD})
    assert r.headers["location"] == "/office/today"
    for path in ("/office/appointments", "/office/messages", "/office/settings"):
        assert client.get(path).status_code == 403, path


def test_a_dispatcher_cannot_open_settings(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    dispatcher = make_staff(session, tenant.company_id, "dispatcher")
    sign_in(client, dispatcher.email)
    assert client.get("/office/appointments").status_code == 200
    assert client.get("/office/settings").status_code == 403


def test_a_deactivated_user_is_signed_out(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    sign_in(client, owner.email)
    owner.active = False
    session.commit()
    assert client.get("/office/appointments", follow_redirects=False).status_code == 303


def test_the_same_address_at_two_companies_asks_for_the_company_code(
    client: TestClient, session: Session, tenant: Tenant, other_tenant: Tenant
) -> None:
    make_staff(session, tenant.company_id, "owner", email="pat@example.com")
    make_staff(session, other_tenant.company_id, "owner", email="pat@example.com")
    r = post_form(client, "/office/login", {"email": "pat@example.com", "password": PASSWORD})
    assert r.status_code == 422 and 'name="company_code"' in r.text
    r = post_form(
        client,
        "/office/login",
        {"email": "pat@example.com", "password": PASSWORD, "company_code": other_tenant.code},
    )
    assert r.status_code == 303
    row = session.scalar(select(StaffSession).order_by(StaffSession.id.desc()))
    assert row is not None and row.company_id == other_tenant.company_id


def test_password_reset_emails_a_single_use_link_through_the_outbox(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    sign_in(client, owner.email)
    old = client.cookies.get("fl_staff")
    browser = new_client(client)
    r = post_form(browser, "/office/password-reset", {"email": owner.email})
    assert r.headers["location"] == "/office/password-reset?sent=1"
    message = session.scalar(select(Message).where(Message.touchpoint == "staff_password_reset"))
    assert message is not None and message.to == owner.email and message.user_id == owner.id
    link = re.search(r"http://testserver(/office/password-reset/\S+)", message.body).group(1)  # type: ignore[union-attr]
    assert browser.get(link).status_code == 200
    assert post_form(browser, link, {"password": "short"}).status_code == 422
    done = post_form(browser, link, {"password": "a brand new passphrase"})
    assert done.status_code == 303 and done.headers["location"] == "/office/login?reset=1"
    assert browser.get(link).status_code == 404  # used once
    # Changing the password signs every other browser out.
    stale = new_client(client)
    stale.cookies.set("fl_staff", old)  # type: ignore[arg-type]
    assert stale.get("/office/appointments", follow_redirects=False).status_code == 303
    sign_in(new_client(client), owner.email, "a brand new passphrase")


def test_password_reset_answers_the_same_for_an_unknown_address(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    r = post_form(client, "/office/password-reset", {"email": "nobody@example.com"})
    assert r.status_code == 303 and r.headers["location"] == "/office/password-reset?sent=1"
    assert session.scalar(select(func.count(Message.id))) == 0
