"""Bad, foreign or absurd ids in office URLs answer a friendly 404 page, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.db import utcnow
from fieldlink.office import auth
from fieldlink.office.models import StaffSession
from tests.conftest import Tenant
from tests.office.helpers import make_staff, post_form, sign_in

GET_PATHS = (
    "/office/customers/{}",
    "/office/messages/{}",
    "/office/inbox/{}",
    "/office/inbox/{}/texts",
    "/office/today/{}",
    "/office/brand/{}/logo",
)
POST_PATHS = (
    "/office/customers/{}/methods/1/opt-in-request",
    "/office/inbox/{}/reply",
    "/office/today/{}/en-route",
    "/office/today/{}/status",
    "/office/settings/status-codes/{}",
)


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "99999999999", "1.5", "1e3"])
def test_bad_ids_answer_404_pages(
    client: TestClient, session: Session, tenant: Tenant, bad: str
) -> None:
    sign_in(client, make_staff(session, tenant.company_id, "owner").email)
    for path in GET_PATHS:
        r = client.get(path.format(bad))
        assert r.status_code == 404, (path, r.status_code)
        assert "text/html" in r.headers["content-type"]
    for path in POST_PATHS:
        r = post_form(client, path.format(bad), {})
        assert r.status_code == 404, (path, r.status_code)


def test_an_idle_session_expires_and_is_deleted(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    owner = make_staff(session, tenant.company_id, "owner")
    raw = auth.start_session(session, user=owner, now=utcnow())
    session.commit()
    assert auth.session_user(session, raw=raw, now=utcnow() + timedelta(hours=11)) is not None
    later = utcnow() + auth.SESSION_IDLE + timedelta(hours=11, minutes=1)
    assert auth.session_user(session, raw=raw, now=later) is None
    assert session.scalar(select(StaffSession.id)) is None
