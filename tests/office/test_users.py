"""The team page: adding a user emails a link to choose a password; deactivating signs out."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import User
from fieldlink.messaging.models import Message
from tests.conftest import Tenant
from tests.office.helpers import make_staff, new_client, post_form, sign_in
from tests.office.seed import ready_company


@pytest.fixture
def admin(client: TestClient, session: Session, tenant: Tenant) -> TestClient:
    ready_company(session, tenant.company_id)
    return sign_in(client, make_staff(session, tenant.company_id, "admin").email)


def test_a_new_technician_chooses_a_password_from_the_emailed_link_and_signs_in(
    admin: TestClient, session: Session, tenant: Tenant
) -> None:
    r = post_form(
        admin,
        "/office/settings/users",
        {
            "name": "Luis Ortega",
            "email": "Luis@Example.com",
            "phone": "(919) 555-0113",
            "role": "technician",
        },
    )
    assert r.status_code == 303 and "invited" in r.headers["location"]
    user = session.scalar(select(User).where(User.email == "luis@example.com"))
    assert user is not None and user.role == "technician" and user.phone == "+19195550113"
    invite = session.scalar(select(Message).where(Message.touchpoint == "staff_invite"))
    assert invite is not None and invite.to == "luis@example.com"
    link = re.search(r"http://testserver(/office/password-reset/\S+)", invite.body).group(1)  # type: ignore[union-attr]
    phone = new_client(admin)
    assert post_form(phone, link, {"password": "luis picks a passphrase"}).status_code == 303
    sign_in(phone, "luis@example.com", "luis picks a passphrase")
    assert phone.get("/office/today").status_code == 200
    assert "luis@example.com" in admin.get("/office/settings/users").text


def test_a_taken_or_bad_address_is_explained(
    admin: TestClient, session: Session, tenant: Tenant
) -> None:
    make_staff(session, tenant.company_id, "dispatcher", email="dana@example.com")
    taken = post_form(
        admin,
        "/office/settings/users",
        {"name": "Dana", "email": "dana@example.com", "role": "dispatcher"},
    )
    assert taken.status_code == 422 and "already exists" in taken.text
    bad = post_form(admin, "/office/settings/users", {"name": "X", "email": "nope", "role": "boss"})
    assert bad.status_code == 422 and 'id="ue-email"' in bad.text


def test_deactivating_a_user_signs_them_out(
    admin: TestClient, client: TestClient, session: Session, tenant: Tenant
) -> None:
    tech = make_staff(session, tenant.company_id, "technician")
    phone = sign_in(new_client(client), tech.email)
    r = post_form(admin, f"/office/settings/users/{tech.id}/deactivate", {})
    assert r.status_code == 303
    assert phone.get("/office/today", follow_redirects=False).status_code == 303


def test_dispatchers_cannot_manage_users_nor_touch_another_company(
    admin: TestClient, client: TestClient, session: Session, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = make_staff(session, other_tenant.company_id, "owner")
    assert post_form(admin, f"/office/settings/users/{theirs.id}/deactivate", {}).status_code == 404
    assert post_form(admin, f"/office/settings/users/{theirs.id}/invite", {}).status_code == 404
    session.refresh(theirs)
    assert theirs.active
    dispatcher = sign_in(
        new_client(client), make_staff(session, tenant.company_id, "dispatcher").email
    )
    assert dispatcher.get("/office/settings/users").status_code == 403
