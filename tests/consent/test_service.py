"""Consent changes and their audit trail; the suppression list (database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.consent import service
from fieldlink.consent.models import ConsentEvent, Suppression
from fieldlink.consent.queries import customer_eligibility
from fieldlink.errors import Forbidden, NotFound, ValidationFailed
from tests.factories.customers import make_company, make_customer, make_method

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
PHONE = "+19195550142"


def _mobile(session: Session, company_id: int, **kw):  # type: ignore[no-untyped-def]
    customer = make_customer(session, company_id=company_id)
    return make_method(
        session, company_id=company_id, customer_id=customer.id, kind="phone", value=PHONE, **kw
    )


def test_keyword_opt_in_opts_in_every_mobile_with_that_number_and_keeps_the_wording(
    session: Session,
) -> None:
    company = make_company(session)
    first = _mobile(session, company.id)
    second = _mobile(session, company.id, marketing_updates=False)
    events = service.customer_opt_in_sms(
        session,
        company_id=company.id,
        phone=PHONE,
        source="keyword",
        wording="START",
        reference="SM123",
        at=NOW,
    )
    assert first.marketing_sms_status == second.marketing_sms_status == "opted_in"
    assert second.marketing_updates is True  # the customer asked for marketing texts
    status_events = [e for e in events if e.field == "marketing_sms_status"]
    assert {e.contact_method_id for e in status_events} == {first.id, second.id}
    assert all(e.wording == "START" and e.reference == "SM123" for e in events)
    assert first.marketing_sms_source == "keyword"


def test_a_repeat_opt_in_changes_nothing_and_records_nothing(session: Session) -> None:
    company = make_company(session)
    _mobile(session, company.id)
    kw = {"company_id": company.id, "phone": PHONE, "source": "web_form", "wording": "Yes!"}
    assert service.customer_opt_in_sms(session, at=NOW, **kw)
    assert service.customer_opt_in_sms(session, at=NOW, **kw) == []


def test_opt_in_never_touches_a_landline(session: Session) -> None:
    company = make_company(session)
    landline = _mobile(session, company.id, phone_type="landline")
    service.customer_opt_in_sms(
        session, company_id=company.id, phone=PHONE, source="keyword", wording="START", at=NOW
    )
    assert landline.marketing_sms_status == "none"


def test_office_cannot_set_marketing_sms_opted_in(session: Session) -> None:
    # DESIGN.md: "Only the customer can opt in"; TCPA consent is the number holder's act.
    company = make_company(session)
    method = _mobile(session, company.id)
    with pytest.raises(Forbidden) as err:
        service.office_set_marketing_sms_status(
            session, method=method, status="opted_in", actor="dispatcher", at=NOW
        )
    assert err.value.code == "office_cannot_opt_in"
    with pytest.raises(Forbidden) as err:
        service.customer_opt_in_sms(
            session, company_id=company.id, phone=PHONE, source="office", wording="", at=NOW
        )
    assert err.value.code == "office_cannot_opt_in"
    assert method.marketing_sms_status == "none"


def test_office_cannot_resubscribe_an_opted_out_number(session: Session) -> None:
    company = make_company(session)
    method = _mobile(session, company.id, marketing_sms_status="opted_out")
    for status in ("none", "opted_in"):
        with pytest.raises(Forbidden):
            service.office_set_marketing_sms_status(
                session, method=method, status=status, actor="dispatcher", at=NOW
            )
    assert method.marketing_sms_status == "opted_out"
    # ...but the customer can, by texting START (ServiceTitan: "unstop, start, ...").
    service.customer_opt_in_sms(
        session, company_id=company.id, phone=PHONE, source="keyword", wording="UNSTOP", at=NOW
    )
    assert method.marketing_sms_status == "opted_in"


def test_office_can_opt_a_number_out(session: Session) -> None:
    company = make_company(session)
    method = _mobile(session, company.id, marketing_sms_status="opted_in")
    events = service.office_set_marketing_sms_status(
        session, method=method, status="opted_out", actor="dispatcher", at=NOW
    )
    assert method.marketing_sms_status == "opted_out"
    assert events[0].source == "office" and events[0].actor == "dispatcher"


def test_stop_opts_the_number_out_once_and_a_repeat_records_nothing(session: Session) -> None:
    company = make_company(session)
    method = _mobile(session, company.id, marketing_sms_status="opted_in")
    kw = {"company_id": company.id, "phone": PHONE, "source": "keyword", "wording": "Stop."}
    events = service.customer_opt_out_sms(session, at=NOW, **kw)
    assert [(e.old_value, e.new_value) for e in events] == [("opted_in", "opted_out")]
    assert method.marketing_sms_status == "opted_out"
    assert service.customer_opt_out_sms(session, at=NOW, **kw) == []


def test_opt_in_flips_marketing_sms_eligibility(session: Session) -> None:
    company = make_company(session)
    method = _mobile(session, company.id)

    def marketing_sms() -> tuple[str, ...]:
        rows = customer_eligibility(session, company=company, customer_id=method.customer_id)
        (row,) = [r for r in rows if r.channel == "marketing_sms" and r.method_id == method.id]
        return row.decision.codes

    assert marketing_sms() == ("no_marketing_sms_opt_in",)
    service.customer_opt_in_sms(
        session, company_id=company.id, phone=PHONE, source="keyword", wording="YES", at=NOW
    )
    assert marketing_sms() == ()


def test_unsubscribe_suppresses_the_address_and_flags_every_customer_holding_it(
    session: Session,
) -> None:
    company = make_company(session)
    a = make_customer(session, company_id=company.id)
    b = make_customer(session, company_id=company.id)
    for c in (a, b):
        make_method(session, company_id=company.id, customer_id=c.id, value="pat@example.com")
    events = service.unsubscribe_email(
        session, company_id=company.id, email="Pat@Example.com", wording="one-click", at=NOW
    )
    assert a.do_not_send_promotional_emails and b.do_not_send_promotional_emails
    row = session.scalar(select(Suppression).where(Suppression.company_id == company.id))
    assert row is not None and (row.email, row.reason) == ("pat@example.com", "unsubscribed")
    assert {e.field for e in events} == {"suppression", "do_not_send_promotional_emails"}


def test_office_resubscribes_email_by_clearing_the_flag_but_bounces_stay_suppressed(
    session: Session,
) -> None:
    company = make_company(session)
    customer = make_customer(session, company_id=company.id)
    for value in ("pat@example.com", "pat@work.example"):
        make_method(session, company_id=company.id, customer_id=customer.id, value=value)
    service.unsubscribe_email(session, company_id=company.id, email="pat@example.com", at=NOW)
    service.add_suppression(
        session, company_id=company.id, email="pat@work.example", reason="bounce", at=NOW
    )
    events = service.office_resubscribe_email(
        session, customer=customer, actor="office@acme", at=NOW
    )
    assert customer.do_not_send_promotional_emails is False
    left = session.scalars(select(Suppression.email).where(Suppression.company_id == company.id))
    assert list(left) == ["pat@work.example"]
    assert all(e.source == "office" and e.actor == "office@acme" for e in events)


def test_suppressions_are_lower_case_and_adding_twice_keeps_the_first(session: Session) -> None:
    company = make_company(session)
    row, created = service.add_suppression(
        session, company_id=company.id, email=" Pat@Example.COM ", reason="complaint", at=NOW
    )
    assert created and row.email == "pat@example.com"
    again, created = service.add_suppression(
        session, company_id=company.id, email="pat@example.com", reason="manual", at=NOW
    )
    assert not created and again.id == row.id and again.reason == "complaint"
    with pytest.raises(ValidationFailed):
        service.add_suppression(
            session, company_id=company.id, email="not an email", reason="manual", at=NOW
        )
    with pytest.raises(ValidationFailed):
        service.add_suppression(
            session, company_id=company.id, email="a@b.example", reason="spite", at=NOW
        )


def test_removing_a_suppression_is_recorded_and_scoped_to_the_company(session: Session) -> None:
    company, rival = make_company(session), make_company(session)
    row, _ = service.add_suppression(
        session, company_id=company.id, email="a@b.example", reason="manual", at=NOW
    )
    with pytest.raises(NotFound):
        service.remove_suppression(
            session, company_id=rival.id, suppression_id=row.id, actor="x", at=NOW
        )
    event = service.remove_suppression(
        session, company_id=company.id, suppression_id=row.id, actor="office", at=NOW
    )
    assert (event.old_value, event.new_value) == ("manual", None)
    assert session.get(Suppression, row.id) is None
    history = session.scalars(
        select(ConsentEvent.new_value).where(ConsentEvent.subject == "a@b.example")
    )
    assert list(history) == ["manual", None]
