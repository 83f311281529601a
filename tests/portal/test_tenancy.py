"""A customer sees only their own account and sub-accounts: any other id answers 404."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import Tenant
from tests.portal.helpers import Seed, logged_in, make_login, post_form, seed


@pytest.fixture
def three(session: Session, tenant: Tenant, other_tenant: Tenant) -> tuple[Seed, Seed, Seed]:
    """Me; a neighbour of the same company; a customer of another company."""
    me = seed(session, tenant.company_id)
    neighbour = seed(session, tenant.company_id, prefix="n-")
    stranger = seed(session, other_tenant.company_id, prefix="x-")
    return me, neighbour, stranger


def _paths(code: str, other: Seed) -> list[str]:
    return [
        f"/portal/{code}/history/{other.old_job.id}",
        f"/portal/{code}/history/{other.sub_job.id}",
        f"/portal/{code}/invoices/{other.invoice.id}",
        f"/portal/{code}/invoices/{other.sale.id}",
    ]


@pytest.mark.parametrize("whose", ["neighbour", "stranger"])
def test_another_customers_ids_answer_404(
    client: TestClient, three: tuple[Seed, Seed, Seed], whose: str
) -> None:
    me, neighbour, stranger = three
    other = neighbour if whose == "neighbour" else stranger
    web = logged_in(client, me)
    for path in _paths(me.code, other):
        response = web.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.text
        assert other.customer.name not in response.text
    removal = post_form(
        web,
        f"/portal/{me.code}/payment-methods/{other.card.id}/remove",
        {},
        page=f"/portal/{me.code}/dashboard",
    )
    assert removal.status_code == 404


def test_lists_hold_only_my_rows(client: TestClient, three: tuple[Seed, Seed, Seed]) -> None:
    me, neighbour, stranger = three
    web = logged_in(client, me)
    for path in ("dashboard", "history", "sales", "payments", "payment-methods"):
        text = web.get(f"/portal/{me.code}/{path}").text
        for other in (neighbour, stranger):
            assert other.customer.name not in text, path
            assert other.invoice.number not in text, path
            assert other.sale.number not in text, path
    history = web.get(f"/portal/{me.code}/api/history").json()["items"]
    assert {i["job_id"] for i in history} == {me.old_job.id, me.recent_job.id, me.sub_job.id}


def test_filtering_by_another_customers_ids_finds_nothing(
    client: TestClient, three: tuple[Seed, Seed, Seed]
) -> None:
    me, neighbour, _ = three
    web = logged_in(client, me)
    by_customer = web.get(
        f"/portal/{me.code}/api/history", params={"customer_id": neighbour.customer.id}
    )
    assert by_customer.json()["items"] == []
    by_location = web.get(
        f"/portal/{me.code}/api/history", params={"location_id": neighbour.home.id}
    )
    assert by_location.json()["items"] == []


def test_service_request_for_another_customers_location_is_404(
    client: TestClient, three: tuple[Seed, Seed, Seed]
) -> None:
    me, neighbour, stranger = three
    web = logged_in(client, me)
    for other in (neighbour, stranger):
        response = post_form(
            web,
            f"/portal/{me.code}/service-request",
            {"location_id": other.home.id, "description": "fix it"},
        )
        assert response.status_code == 404
        response = post_form(
            web,
            f"/portal/{me.code}/service-request",
            {"customer_id": other.customer.id, "location_id": me.home.id, "description": "x"},
        )
        assert response.status_code == 404


def test_a_sub_customers_login_does_not_see_its_parent(
    session: Session, client: TestClient, three: tuple[Seed, Seed, Seed]
) -> None:
    me, _, _ = three
    sub_login = make_login(session, me.sub, "annex")
    session.commit()
    web = client
    from tests.portal.helpers import login

    assert login(web, me.code, sub_login.login_id).status_code == 303
    assert web.get(f"/portal/{me.code}/history/{me.old_job.id}").status_code == 404
    assert web.get(f"/portal/{me.code}/history/{me.sub_job.id}").status_code == 200
    assert me.invoice.number not in web.get(f"/portal/{me.code}/dashboard").text


def test_the_same_login_id_at_another_company_is_another_login(
    session: Session, client: TestClient, three: tuple[Seed, Seed, Seed]
) -> None:
    me, _, stranger = three
    from tests.portal.helpers import login

    # "x-oakstreet" exists only at the other company: not a login here.
    assert login(client, me.code, stranger.account.login_id).status_code == 401


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "99999999999999999999", "1.5", "%00"])
def test_bad_ids_on_portal_pages_are_friendly_4xx(
    client: TestClient, three: tuple[Seed, Seed, Seed], bad: str
) -> None:
    me, _, _ = three
    web = logged_in(client, me)
    for path in ("history", "invoices", "uploads"):
        response = web.get(f"/portal/{me.code}/{path}/{bad}")
        assert 400 <= response.status_code < 500, (path, bad, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
    junk = web.get(
        f"/portal/{me.code}/history",
        params={"customer_id": bad, "location_id": bad, "page": bad, "date_from": bad},
    )
    assert junk.status_code == 200


def test_draft_and_void_invoices_are_not_shown_to_the_customer(
    client: TestClient, session: Session, three: tuple[Seed, Seed, Seed]
) -> None:
    me, _, _ = three
    me.invoice.status = "draft"
    me.sale.status = "void"
    session.commit()
    web = logged_in(client, me)
    for invoice in (me.invoice, me.sale):
        assert web.get(f"/portal/{me.code}/invoices/{invoice.id}").status_code == 404
        assert web.get(f"/portal/{me.code}/invoices/{invoice.id}/pay").status_code == 404
    for path in ("dashboard", "history", "sales"):
        text = web.get(f"/portal/{me.code}/{path}").text
        assert me.invoice.number not in text and me.sale.number not in text, path
