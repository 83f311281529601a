"""Settings (owners and admins) and the template editor with live preview."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import settings_of
from fieldlink.db import utcnow
from fieldlink.jobs.models import Appointment, StatusCode
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging import touchpoints
from fieldlink.messaging.models import Message, TemplateOverride
from fieldlink.outbox.models import OutboxJob
from tests.conftest import Tenant
from tests.factories.customers import make_contact, make_method
from tests.office.helpers import make_staff, new_client, post_form, sign_in
from tests.office.seed import make_visit, ready_company


@pytest.fixture
def admin(client: TestClient, session: Session, tenant: Tenant) -> TestClient:
    ready_company(session, tenant.company_id)
    return sign_in(client, make_staff(session, tenant.company_id, "admin").email)


def _company(session: Session, tenant: Tenant) -> Company:
    company = session.get(Company, tenant.company_id)
    assert company is not None
    session.refresh(company)
    return company


def test_the_company_profile_and_brand_are_saved_and_bad_values_explained(
    admin: TestClient, session: Session, tenant: Tenant
) -> None:
    assert admin.get("/office/settings").status_code == 200
    form = {
        "name": "Acme Heating & Air",
        "website": "https://acme.example",
        "color": "#c2410c",
        "remit_to": "120 Trade St",
        "sender_email": "Service@Acme.example",
        "sender_name": "Acme",
        "business_phone": "(919) 555-0100",
    }
    r = post_form(admin, "/office/settings/company", form)
    assert r.status_code == 303
    company = _company(session, tenant)
    assert company.brand_color == "#c2410c" and company.sender_email == "service@acme.example"
    assert company.business_phone == "+19195550100"
    bad = post_form(
        admin, "/office/settings/company", {**form, "color": "orange", "website": "acme"}
    )
    assert bad.status_code == 422 and 'id="e-color"' in bad.text and 'id="e-website"' in bad.text
    assert _company(session, tenant).website == "https://acme.example"


def test_marketing_settings_quiet_hours_and_portal_toggles(
    admin: TestClient, session: Session, tenant: Tenant
) -> None:
    r = post_form(
        admin,
        "/office/settings/marketing",
        {
            "double_opt_in": "on",
            "technician_identity": "company_only",
            "quiet_start": "09:00",
            "quiet_end": "20:00",
            "portal_show_credit": "on",
        },
    )
    assert r.status_code == 303
    s = settings_of(_company(session, tenant))
    assert s.double_opt_in and not s.marketing_suite and s.technician_identity == "company_only"
    assert s.quiet_hours.start == "09:00" and s.portal.show_credit and not s.portal.can_create_job
    bad = post_form(
        admin,
        "/office/settings/marketing",
        {"technician_identity": "name_and_photo", "quiet_start": "25:00", "quiet_end": "20:00"},
    )
    assert bad.status_code == 422 and "HH:MM" in bad.text


def test_an_sms_number_is_requested_with_an_area_code_through_the_outbox(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    owner = sign_in(client, make_staff(session, tenant.company_id, "owner").email)
    bad = post_form(owner, "/office/settings/sms-number", {"area_code": "91"})
    assert bad.status_code == 422 and "three digits" in bad.text
    r = post_form(owner, "/office/settings/sms-number", {"area_code": "919"})
    assert r.status_code == 303 and "number_requested" in r.headers["location"]
    assert session.scalar(select(OutboxJob).where(OutboxJob.topic == "sms.provision_number"))


def test_a_status_code_notification_is_saved_and_must_name_a_channel(
    admin: TestClient, session: Session, tenant: Tenant
) -> None:
    code = session.scalar(
        select(StatusCode).where(
            StatusCode.company_id == tenant.company_id, StatusCode.meaning == "working"
        )
    )
    assert code is not None
    r = post_form(
        admin,
        f"/office/settings/status-codes/{code.id}",
        {
            "enabled": "on",
            "channels": ["sms"],
            "contact_roles": ["owner"],
            "once_per_appointment": "on",
        },
    )
    assert r.status_code == 303
    session.refresh(code)
    assert code.notification_enabled and code.notification_channels == ["sms"]
    bad = post_form(
        admin,
        f"/office/settings/status-codes/{code.id}",
        {"enabled": "on", "contact_roles": ["owner"]},
    )
    assert bad.status_code == 422 and "at least one channel" in bad.text


def test_another_companys_status_code_answers_404(
    admin: TestClient, session: Session, other_tenant: Tenant
) -> None:
    theirs = session.scalar(
        select(StatusCode.id).where(StatusCode.company_id == other_tenant.company_id)
    )
    r = post_form(admin, f"/office/settings/status-codes/{theirs}", {"enabled": "on"})
    assert r.status_code == 404


def test_template_editor_previews_counts_segments_saves_and_resets(
    admin: TestClient, session: Session, tenant: Tenant
) -> None:
    listing = admin.get("/office/settings/templates")
    assert listing.status_code == 200 and "Service reminder" in listing.text
    assert "Password reset" not in listing.text
    editor = admin.get("/office/settings/templates/service_reminder/sms")
    assert editor.status_code == 200 and "SMS segments:" in editor.text
    preview = post_form(
        admin,
        "/office/settings/templates/service_reminder/sms/preview",
        {"body": "Hi {{ contact.first_name }}, see you {{ appointment.date }}.", "language": "en"},
    )
    assert preview.status_code == 200 and "Hi Maria, see you Tuesday, March 3." in preview.text
    assert "SMS segments: 1 (GSM-7)" in preview.text and "<html" not in preview.text
    broken = post_form(
        admin,
        "/office/settings/templates/service_reminder/sms",
        {"body": "Hi {{ custmer.name }}", "language": "en"},
    )
    assert broken.status_code == 422 and "custmer" in broken.text
    assert session.scalar(select(TemplateOverride.id)) is None
    saved = post_form(
        admin,
        "/office/settings/templates/service_reminder/sms",
        {"body": "{{ company.name }}: see you {{ appointment.date }}!", "language": "en"},
    )
    assert saved.status_code == 303
    row = session.scalar(select(TemplateOverride))
    assert row is not None and row.body.endswith("!") and row.company_id == tenant.company_id
    reset = post_form(
        admin, "/office/settings/templates/service_reminder/sms/reset", {"language": "en"}
    )
    assert reset.status_code == 303
    assert session.scalar(select(TemplateOverride.id)) is None
    assert admin.get("/office/settings/templates/nope/sms").status_code == 404


def test_only_owners_and_admins_open_settings_and_templates(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    for role in ("dispatcher", "technician"):
        browser = sign_in(new_client(client), make_staff(session, tenant.company_id, role).email)
        assert browser.get("/office/settings").status_code == 403
        assert browser.get("/office/settings/templates/service_reminder/sms").status_code == 403
        r = post_form(browser, "/office/settings/marketing", {"double_opt_in": "on"})
        assert r.status_code == 403


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_logo_upload_becomes_the_brand_logo_at_a_public_url(
    admin: TestClient, session: Session, tenant: Tenant, client: TestClient
) -> None:
    token = admin.get("/office/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = admin.post(
        "/office/settings/logo",
        data={"csrf_token": token},
        files={"logo": ("logo.png", PNG, "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    company = _company(session, tenant)
    assert company.logo_url and f"/office/brand/{tenant.company_id}/logo?v=" in company.logo_url
    anonymous = new_client(client).get(company.logo_url.removeprefix("http://testserver"))
    assert anonymous.status_code == 200 and anonymous.content == PNG
    assert anonymous.headers["content-type"] == "image/png"
    # An SVG (script on our origin when opened) or a renamed text file is refused by its bytes.
    for name, body in (("x.svg", b"<svg onload=alert(1)>"), ("x.png", b"hello")):
        bad = admin.post(
            "/office/settings/logo",
            data={"csrf_token": token},
            files={"logo": (name, body, "image/png")},
        )
        assert bad.status_code == 422 and "PNG, JPEG or WebP" in bad.text
    big = admin.post(
        "/office/settings/logo",
        data={"csrf_token": token},
        files={"logo": ("big.png", PNG + b"\x00" * 600_000, "image/png")},
    )
    assert big.status_code == 422 and "512 KB" in big.text


def test_a_notification_switched_off_by_text_is_logged_not_sent_with_the_reason(
    admin: TestClient, session: Session, tenant: Tenant
) -> None:
    form: dict[str, str] = {}
    for tp in (
        "appointment_confirmation",
        "service_reminder",
        "en_route",
        "service_link",
        "estimate",
        "invoice",
        "review_request",
    ):
        form.update({f"{tp}_enabled": "on", f"{tp}_sms": "on", f"{tp}_email": "on"})
    del form["service_reminder_sms"]  # reminders by email only
    assert post_form(admin, "/office/settings/notifications", form).status_code == 303
    s = settings_of(_company(session, tenant))
    assert s.notifications["service_reminder"].channels == ["email"]
    day = date(2031, 3, 4)
    make_visit(session, tenant.company_id, day=day, name="Ann")
    r = post_form(
        admin,
        "/office/appointments/reminders",
        {
            "date_from": day.isoformat(),
            "date_to": day.isoformat(),
            "scope": "filter",
            "contact_roles": ["owner"],
            "channels": ["sms", "email"],
        },
    )
    assert "1 queued" in r.text and "notification_disabled" in r.text
    by_channel = {m.channel: m for m in session.scalars(select(Message))}
    assert by_channel["email"].status == "queued"
    assert by_channel["sms"].status == "suppressed"
    assert by_channel["sms"].reasons[0]["code"] == "notification_disabled"


def test_the_confirmation_goes_to_the_contact_roles_chosen_in_settings(
    admin: TestClient, session: Session, tenant: Tenant
) -> None:
    form = {
        "appointment_confirmation_enabled": "on",
        "appointment_confirmation_email": "on",
        "appointment_confirmation_roles": ["site"],
    }
    assert post_form(admin, "/office/settings/notifications", form).status_code == 303
    v = make_visit(session, tenant.company_id, day=date(2031, 3, 4), name="Owner Person")
    site = make_contact(
        session,
        company_id=tenant.company_id,
        customer_id=v.customer_id,
        name="Site Sam",
        role="site",
        primary=False,
    )
    make_method(
        session,
        company_id=tenant.company_id,
        customer_id=v.customer_id,
        contact_id=site.id,
        value="sam@example.com",
    )
    session.commit()
    appointment = session.get(Appointment, v.appointment_id)
    assert appointment is not None
    result = touchpoints.confirm(
        session,
        company=_company(session, tenant),
        appointment=appointment,
        links=LinkMaker(base_url="http://testserver", secret="s"),
        now=utcnow(),
    )
    sent = session.scalars(select(Message).where(Message.id.in_(result.message_ids))).all()
    assert [m.to for m in sent] == ["sam@example.com"]  # email only, to the site contact
