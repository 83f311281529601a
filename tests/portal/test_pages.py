"""Every portal page, and every portal toggle on and off (page, link and direct call)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from fieldlink.jobs.models import Job
from tests.conftest import Tenant
from tests.portal.helpers import Seed, logged_in, seed, set_portal


@pytest.fixture
def s(session: Session, tenant: Tenant) -> Seed:
    return seed(session, tenant.company_id)


@pytest.fixture
def web(client: TestClient, s: Seed) -> TestClient:
    return logged_in(client, s)


def test_dashboard_shows_account_payments_due_locations_cards_and_sub_customers(
    web: TestClient, s: Seed
) -> None:
    page = web.get(f"/portal/{s.code}/dashboard")
    assert page.status_code == 200
    text = page.text
    assert "Oak Street Offices" in text
    assert "INV-2" in text and "$289.00" in text  # payment due
    assert "INV-1" not in text.split("Payments due")[1].split("</section>")[0]  # paid
    assert "120 Oak St" in text and "9 Elm Ave" in text
    assert "Visa ending in 4242" in text
    assert "Oak Street Annex" in text
    assert f'href="/portal/{s.code}/invoices/{s.invoice.id}/pay"' in text


def test_history_has_the_full_history_of_every_location_not_only_recent(
    web: TestClient, s: Seed
) -> None:
    page = web.get(f"/portal/{s.code}/history")
    assert page.status_code == 200
    # Two years old, a sub-customer's, and last week's: all there, newest first.
    assert page.text.index("AC tune-up") < page.text.index("Duct cleaning")
    assert page.text.index("Duct cleaning") < page.text.index("Furnace repair")
    by_location = web.get(f"/portal/{s.code}/history", params={"location_id": s.home.id})
    assert "Furnace repair" in by_location.text and "AC tune-up" not in by_location.text


@pytest.mark.parametrize(
    ("params", "shown", "hidden"),
    [
        ({"q": "furnace"}, ["Furnace repair"], ["AC tune-up", "Duct cleaning"]),
        ({"q": "PO-NEW"}, ["AC tune-up"], ["Furnace repair"]),
        ({"status": "open"}, [], ["AC tune-up", "Furnace repair"]),
        ({"date_to": "2025-12-31"}, ["Furnace repair"], ["AC tune-up"]),
        ({"date_from": "2026-01-01"}, ["AC tune-up"], ["Furnace repair"]),
        ({"date_from": "not-a-date"}, ["AC tune-up", "Furnace repair"], []),
    ],
)
def test_history_filters(
    web: TestClient, s: Seed, params: dict[str, str], shown: list[str], hidden: list[str]
) -> None:
    page = web.get(f"/portal/{s.code}/history", params=params)
    assert page.status_code == 200
    table = page.text.split("<h1>", 1)[1].split("</form>", 1)[1]
    for text in shown:
        assert text in table
    for text in hidden:
        assert text not in table


def test_history_filter_by_sub_customer(web: TestClient, s: Seed) -> None:
    page = web.get(f"/portal/{s.code}/history", params={"customer_id": s.sub.id})
    table = page.text.split("</form>", 1)[1]
    assert "Duct cleaning" in table and "AC tune-up" not in table


def test_job_page_invoice_page_sales_and_payments(web: TestClient, s: Seed) -> None:
    job = web.get(f"/portal/{s.code}/history/{s.old_job.id}")
    assert job.status_code == 200
    assert "Furnace repair" in job.text and "PO-OLD" in job.text and "16x25" in job.text
    invoice = web.get(f"/portal/{s.code}/invoices/{s.invoice.id}")
    assert invoice.status_code == 200
    assert "$289.00" in invoice.text and "PO Box 12" in invoice.text
    sales = web.get(f"/portal/{s.code}/sales")
    assert sales.status_code == 200
    assert "SALE-1" in sales.text and "INV-2" not in sales.text
    payments = web.get(f"/portal/{s.code}/payments")
    assert payments.status_code == 200
    assert "INV-1" in payments.text and "$150.00" in payments.text and "Visa 4242" in payments.text
    methods = web.get(f"/portal/{s.code}/payment-methods")
    assert methods.status_code == 200 and "Visa ending in 4242" in methods.text
    subs = web.get(f"/portal/{s.code}/sub-customers")
    assert subs.status_code == 200 and "Oak Street Annex" in subs.text


def test_payment_history_date_filter(web: TestClient, s: Seed, session: Session) -> None:
    recent = web.get(f"/portal/{s.code}/payments", params={"date_from": "2026-01-01"})
    assert "No payments found" in recent.text
    assert 'id="payment-filter"' in recent.text
    set_portal(session, s.company, payment_history_date_filter=False)
    session.commit()
    unfiltered = web.get(f"/portal/{s.code}/payments", params={"date_from": "2026-01-01"})
    assert 'id="payment-filter"' not in unfiltered.text
    assert "INV-1" in unfiltered.text  # the parameter is ignored when the filter is off
    api = web.get(f"/portal/{s.code}/api/payments", params={"date_from": "2026-01-01"})
    assert len(api.json()["items"]) == 1


def test_remove_a_card(web: TestClient, s: Seed) -> None:
    from tests.portal.helpers import post_form

    response = post_form(
        web,
        f"/portal/{s.code}/payment-methods/{s.card.id}/remove",
        {},
        page=f"/portal/{s.code}/payment-methods",
    )
    assert response.status_code == 303
    page = web.get(response.headers["location"])
    assert "The card was removed" in page.text and "Visa ending in 4242" not in page.text


# Each feature toggle: (toggle, page that disappears, JSON that disappears, nav label).
FEATURES = [
    ("can_create_job", "service-request", None, "Request service"),
    ("service_history", "history", "api/history", "Service history"),
    ("sales_history", "sales", "api/sales", "Sales history"),
    ("payment_history", "payments", "api/payments", "Payment history"),
    ("payment_methods", "payment-methods", "api/payment-methods", "Payment methods"),
    ("allow_uploads", "uploads", "api/uploads", "Uploads"),
    ("show_sub_customers", "sub-customers", None, "Sub-customers"),
]


@pytest.mark.parametrize(("toggle", "path", "json_path", "label"), FEATURES)
@pytest.mark.parametrize("on", [True, False])
def test_feature_toggle_shows_or_refuses_the_feature(
    web: TestClient,
    s: Seed,
    session: Session,
    toggle: str,
    path: str,
    json_path: str | None,
    label: str,
    on: bool,
) -> None:
    set_portal(session, s.company, **{toggle: on})
    session.commit()
    page = web.get(f"/portal/{s.code}/{path}")
    assert page.status_code == (200 if on else 404)
    dashboard = web.get(f"/portal/{s.code}/dashboard").text
    assert (f'href="/portal/{s.code}/{path}"' in dashboard.split("</nav>")[1]) is on, label
    if json_path:
        assert web.get(f"/portal/{s.code}/{json_path}").status_code == (200 if on else 404)


def test_switched_off_features_refuse_their_sub_pages_and_posts(
    web: TestClient, s: Seed, session: Session
) -> None:
    from tests.portal.helpers import post_form

    set_portal(
        session,
        s.company,
        service_history=False,
        sales_history=False,
        payment_methods=False,
        can_create_job=False,
        allow_uploads=False,
    )
    session.commit()
    base = f"/portal/{s.code}"
    assert web.get(f"{base}/history/{s.old_job.id}").status_code == 404
    assert web.get(f"{base}/invoices/{s.invoice.id}").status_code == 404  # a service invoice
    assert web.get(f"{base}/invoices/{s.sale.id}").status_code == 404  # a sale
    removal = post_form(
        web, f"{base}/payment-methods/{s.card.id}/remove", {}, page=f"{base}/dashboard"
    )
    assert removal.status_code == 404
    request = post_form(
        web,
        f"{base}/service-request",
        {"location_id": s.home.id, "description": "x"},
        page=f"{base}/dashboard",
    )
    assert request.status_code == 404


def test_portal_switched_off_is_not_there(web: TestClient, s: Seed, session: Session) -> None:
    set_portal(session, s.company, enabled=False)
    session.commit()
    assert web.get(f"/portal/{s.code}/login").status_code == 404
    assert web.get(f"/portal/{s.code}/dashboard").status_code == 404


@pytest.mark.parametrize("on", [True, False])
def test_show_credit(web: TestClient, s: Seed, session: Session, on: bool) -> None:
    s.customer.credit = 42  # type: ignore[assignment]
    set_portal(session, s.company, show_credit=on)
    session.commit()
    assert ('id="credit"' in web.get(f"/portal/{s.code}/dashboard").text) is on
    assert ("credit" in web.get(f"/portal/{s.code}/api/account").json()) is on


@pytest.mark.parametrize("on", [True, False])
def test_show_sub_customers_also_limits_what_is_visible(
    web: TestClient, s: Seed, session: Session, on: bool
) -> None:
    set_portal(session, s.company, show_sub_customers=on)
    session.commit()
    assert ("Oak Street Annex" in web.get(f"/portal/{s.code}/dashboard").text) is on
    assert ("Duct cleaning" in web.get(f"/portal/{s.code}/history").text) is on
    status = web.get(f"/portal/{s.code}/history/{s.sub_job.id}").status_code
    assert status == (200 if on else 404)


@pytest.mark.parametrize(
    ("toggle", "marker"),
    [("show_service_address", "120 Oak St"), ("show_pickup_address", "1 Depot Rd")],
)
@pytest.mark.parametrize("on", [True, False])
def test_address_toggles(
    web: TestClient, s: Seed, session: Session, toggle: str, marker: str, on: bool
) -> None:
    set_portal(session, s.company, **{toggle: on})
    session.commit()
    assert (marker in web.get(f"/portal/{s.code}/dashboard").text) is on


@pytest.mark.parametrize(
    ("toggle", "marker"),
    [
        ("show_schedule_date", 'name="preferred_date"'),
        ("show_schedule_type", 'name="schedule_type"'),
        ("job_type_selector", 'name="job_type"'),
        ("new_address_field", 'name="new_address"'),
        ("show_sub_customers", 'name="sub_customer"'),
    ],
)
@pytest.mark.parametrize("on", [True, False])
def test_service_request_form_toggles(
    web: TestClient, s: Seed, session: Session, toggle: str, marker: str, on: bool
) -> None:
    set_portal(session, s.company, **{toggle: on})
    session.commit()
    assert (marker in web.get(f"/portal/{s.code}/service-request").text) is on


@pytest.mark.parametrize("on", [True, False])
def test_sub_customer_checked_by_default(
    web: TestClient, s: Seed, session: Session, on: bool
) -> None:
    set_portal(session, s.company, sub_customer_checked=on)
    session.commit()
    form = web.get(f"/portal/{s.code}/service-request").text
    assert ('name="sub_customer" value="1" checked' in form) is on


@pytest.mark.parametrize("on", [True, False])
def test_completed_job_forms(web: TestClient, s: Seed, session: Session, on: bool) -> None:
    set_portal(session, s.company, completed_job_forms=on)
    session.commit()
    page = web.get(f"/portal/{s.code}/history/{s.old_job.id}").text
    assert ('id="completed-form"' in page) is on


@pytest.mark.parametrize("on", [True, False])
def test_translation_toggle_offers_the_language_switch(
    web: TestClient, s: Seed, session: Session, on: bool
) -> None:
    set_portal(session, s.company, translation=on)
    session.commit()
    page = web.get(f"/portal/{s.code}/dashboard?lang=es")
    assert ('hreflang="es"' in page.text or 'aria-current="true">Español' in page.text) is on
    assert ('<html lang="es">' in page.text) is on


def test_custom_job_type_label(web: TestClient, s: Seed, session: Session) -> None:
    set_portal(session, s.company, job_type_label="Service type", job_types=["Repair", "Tune-up"])
    session.commit()
    form = web.get(f"/portal/{s.code}/service-request").text
    assert "Service type" in form and "<option>Tune-up</option>" in form
    assert "Service type" in web.get(f"/portal/{s.code}/history").text


@pytest.mark.parametrize("hidden", [[], ["Gate code"]])
def test_custom_job_fields_show_or_hide(
    web: TestClient, s: Seed, session: Session, hidden: list[str]
) -> None:
    set_portal(session, s.company, hidden_custom_fields=hidden)
    session.commit()
    for path in ("history", f"history/{s.old_job.id}"):
        text = web.get(f"/portal/{s.code}/{path}").text
        assert "16x25" in text
        assert ("4321" in text) is not bool(hidden)
    item = next(
        i
        for i in web.get(f"/portal/{s.code}/api/history").json()["items"]
        if i["job_id"] == s.old_job.id
    )
    assert ("Gate code" in item["custom_fields"]) is not bool(hidden)


@pytest.mark.parametrize(
    ("column", "header", "page"),
    [
        ("po_number", "PO number", "history"),
        ("location", '<th scope="col">Location', "history"),
        ("balance", "Balance", "sales"),
        ("method", "Method", "payments"),
        ("amount", "Amount", "payments"),
    ],
)
@pytest.mark.parametrize("hide", [True, False])
def test_list_columns_show_or_hide(
    web: TestClient, s: Seed, session: Session, column: str, header: str, page: str, hide: bool
) -> None:
    set_portal(session, s.company, hidden_columns=[column] if hide else [])
    session.commit()
    table = web.get(f"/portal/{s.code}/{page}").text.split("<table", 1)[1]
    assert (header in table) is not hide


def test_history_page_queries_do_not_grow_with_its_rows(
    web: TestClient, s: Seed, session: Session, connection: Connection
) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(connection, "before_cursor_execute", count)
    web.get(f"/portal/{s.code}/history")
    few = len(statements)
    for n in range(22):
        session.add(
            Job(
                company_id=s.company.id,
                customer_id=s.customer.id,
                location_id=s.home.id,
                job_type=f"Visit {n}",
                custom_fields={},
            )
        )
    session.commit()
    statements.clear()
    page = web.get(f"/portal/{s.code}/history")
    event.remove(connection, "before_cursor_execute", count)
    assert page.text.count("View job") == 25
    assert len(statements) <= few
