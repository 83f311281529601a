"""Portal language: the customer's toggle (remembered on their login) or Accept-Language."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fieldlink.portal.models import PortalAccount
from tests.conftest import Tenant
from tests.portal.helpers import csrf_of, logged_in, seed, set_portal


def test_login_page_follows_accept_language(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    page = client.get(f"/portal/{s.code}/login", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert '<html lang="es">' in page.text
    assert "Iniciar sesión" in page.text and "Contraseña" in page.text


def test_the_customers_choice_is_remembered_on_their_login(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    web = logged_in(client, s)
    spanish = web.get(f"/portal/{s.code}/dashboard?lang=es")
    assert "Bienvenido, Oak Street Offices" in spanish.text
    assert "Pagos pendientes" in spanish.text
    # The toggle's choice holds on the next pages (cookie) ...
    assert "Historial de servicios" in web.get(f"/portal/{s.code}/history").text
    # ... and no GET changes the login: it is saved when the customer logs out (a POST).
    account = session.get(PortalAccount, s.account.id)
    assert account is not None
    session.refresh(account)
    assert account.language is None
    token = csrf_of(web.get(f"/portal/{s.code}/dashboard").text)
    web.post(f"/portal/{s.code}/logout", data={"csrf_token": token})
    session.refresh(account)
    assert account.language == "es"
    # Another device with an English browser opens in Spanish after login.
    other = TestClient(client.app)
    logged_in(other, s)
    page = other.get(f"/portal/{s.code}/history", headers={"Accept-Language": "en-US"})
    assert "Historial de servicios" in page.text
    # Picking English there (then logging in again) saves English.
    other.get(f"/portal/{s.code}/dashboard?lang=en")
    logged_in(other, s)
    session.refresh(account)
    assert account.language == "en"


def test_with_translation_off_there_is_no_switch_and_the_toggle_is_ignored(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    set_portal(session, s.company, translation=False)
    session.commit()
    web = logged_in(client, s)
    page = web.get(f"/portal/{s.code}/dashboard?lang=es")
    assert '<html lang="en">' in page.text
    assert "Español" not in page.text
    # The browser's own language is still respected.
    browser = web.get(f"/portal/{s.code}/dashboard", headers={"Accept-Language": "es"})
    assert '<html lang="es">' in browser.text


def test_error_pages_of_the_portal_are_translated(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    s = seed(session, tenant.company_id)
    web = logged_in(client, s)
    missing = web.get(f"/portal/{s.code}/history/999999", headers={"Accept-Language": "es"})
    assert missing.status_code == 404
    assert "Página no encontrada" in missing.text
