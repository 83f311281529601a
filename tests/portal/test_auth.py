"""Portal login: argon2id, throttling and lockout, CSRF, session cookie, logout, fixation."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldlink.db import utcnow
from fieldlink.portal import auth
from fieldlink.portal.context import COOKIE
from fieldlink.portal.models import PortalAccount, PortalSession
from tests.conftest import Tenant
from tests.portal.helpers import PASSWORD, csrf_of, logged_in, login, seed


def test_password_is_stored_as_argon2id_with_the_owasp_minimum_cost(
    session: Session, tenant: Tenant
) -> None:
    s = seed(session, tenant.company_id)
    stored = s.account.password_hash
    assert stored.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in stored
    assert PASSWORD not in stored


def test_login_opens_the_dashboard_with_a_secure_session_cookie(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    response = login(client, s.code, "OakStreet ")  # case and spaces forgiven
    assert response.status_code == 303
    assert response.headers["location"] == f"/portal/{s.code}/dashboard"
    [cookie] = [c for c in response.headers.get_list("set-cookie") if COOKIE in c]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    dashboard = client.get(f"/portal/{s.code}/dashboard")
    assert dashboard.status_code == 200
    assert "Welcome, Oak Street Offices" in dashboard.text


def test_on_https_the_cookie_is_a_secure_host_prefixed_cookie(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"base_url": "https://engage.example"}
    )
    https = TestClient(client.app, base_url="https://testserver")
    response = login(https, s.code, "oakstreet")
    assert response.status_code == 303
    [cookie] = [c for c in response.headers.get_list("set-cookie") if "fl_portal" in c]
    assert cookie.startswith("__Host-fl_portal=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie


def test_pages_need_a_login(session: Session, tenant: Tenant, client: TestClient) -> None:
    s = seed(session, tenant.company_id)
    for path in ("dashboard", "history", "payments", "uploads", f"history/{s.old_job.id}"):
        response = client.get(f"/portal/{s.code}/{path}", follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/portal/{s.code}/login"
    assert client.get(f"/portal/{s.code}/api/history").status_code == 401


def test_wrong_password_and_unknown_login_answer_the_same(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    wrong = login(client, s.code, "oakstreet", "not the password")
    unknown = login(client, s.code, "nobody-here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "The login ID or password is not right" in wrong.text
    assert "The login ID or password is not right" in unknown.text
    assert client.get(f"/portal/{s.code}/dashboard", follow_redirects=False).status_code == 303


def test_five_failures_lock_the_login_even_against_the_right_password(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    for _ in range(auth.LOCK_AFTER - 1):
        assert login(client, s.code, "oakstreet", "wrong password!").status_code == 401
    locked = login(client, s.code, "oakstreet", "wrong password!")
    assert locked.status_code == 429
    assert "locked for 15 minutes" in locked.text
    right = login(client, s.code, "oakstreet", PASSWORD)
    assert right.status_code == 429
    assert "locked" in right.text
    # After the lock expires the right password works again.
    account = session.get(PortalAccount, s.account.id)
    assert account is not None
    session.refresh(account)
    account.locked_until = utcnow() - timedelta(seconds=1)
    session.commit()
    assert login(client, s.code, "oakstreet", PASSWORD).status_code == 303


def test_an_unknown_login_id_also_locks_so_ids_cannot_be_probed(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    answers = [login(client, s.code, "ghost", "guess number x").status_code for _ in range(5)]
    assert answers == [401, 401, 401, 401, 429]


def test_many_failures_from_one_address_are_throttled_across_login_ids(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    for n in range(auth.IP_MAX_FAILURES):
        login(client, s.code, f"spray-{n}", "guess")
    throttled = login(client, s.code, "oakstreet", PASSWORD)
    assert throttled.status_code == 429
    assert "Too many attempts from your network" in throttled.text


def test_login_without_csrf_token_is_refused(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    client.get(f"/portal/{s.code}/login")
    response = client.post(
        f"/portal/{s.code}/login",
        data={"login_id": "oakstreet", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 403
    assert session.scalar(select(func.count()).select_from(PortalSession)) == 0


def test_logout_ends_the_session_on_the_server(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    logged_in(client, s)
    token = client.cookies.get(COOKIE)
    assert token
    page = client.get(f"/portal/{s.code}/dashboard")
    out = client.post(
        f"/portal/{s.code}/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert "You have logged out" in client.get(out.headers["location"]).text
    # The old cookie value, replayed, no longer opens anything.
    replay = TestClient(client.app, cookies={COOKIE: token})
    assert replay.get(f"/portal/{s.code}/dashboard", follow_redirects=False).status_code == 303


def test_logout_needs_the_csrf_token(session: Session, tenant: Tenant, client: TestClient) -> None:
    s = seed(session, tenant.company_id)
    logged_in(client, s)
    assert client.post(f"/portal/{s.code}/logout", data={}).status_code == 403
    assert client.get(f"/portal/{s.code}/dashboard").status_code == 200


def test_session_id_is_rotated_at_login_so_a_planted_id_is_useless(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    planted = "attacker-chosen-session-value"
    client.cookies.set(COOKIE, planted, domain="testserver.local")
    logged_in(client, s)
    assert client.cookies.get(COOKIE) not in (None, planted)
    attacker = TestClient(client.app, cookies={COOKIE: planted})
    assert attacker.get(f"/portal/{s.code}/dashboard", follow_redirects=False).status_code == 303
    # Logging in again replaces the previous session rather than keeping both.
    first = client.cookies.get(COOKIE)
    logged_in(client, s)
    assert client.cookies.get(COOKIE) != first
    assert (
        session.scalar(
            select(func.count())
            .select_from(PortalSession)
            .where(PortalSession.account_id == s.account.id)
        )
        == 1
    )


def test_a_session_expires_after_being_idle(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    logged_in(client, s)
    row = session.scalar(select(PortalSession))
    assert row is not None
    row.last_seen_at = utcnow() - auth.SESSION_IDLE - timedelta(minutes=1)
    session.commit()
    assert client.get(f"/portal/{s.code}/dashboard", follow_redirects=False).status_code == 303


def test_a_session_of_one_company_does_not_open_another_companys_portal(
    session: Session, tenant: Tenant, other_tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    seed(session, other_tenant.company_id, prefix="r-")
    logged_in(client, s)
    other = client.get(f"/portal/{other_tenant.code}/dashboard", follow_redirects=False)
    assert other.status_code == 303
    assert other.headers["location"] == f"/portal/{other_tenant.code}/login"


def test_unknown_company_code_is_a_friendly_404(client: TestClient) -> None:
    response = client.get("/portal/no-such-company/login")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_the_portal_entry_takes_the_company_id(tenant: Tenant, client: TestClient) -> None:
    entry = client.get("/portal/")
    assert entry.status_code == 200 and 'name="company_code"' in entry.text
    found = client.get("/portal/", params={"company_code": " ACME "}, follow_redirects=False)
    assert found.status_code == 303
    assert found.headers["location"] == f"/portal/{tenant.code}/login"
    unknown = client.get("/portal/", params={"company_code": "nope"})
    assert unknown.status_code == 404 and "don't know that company ID" in unknown.text
