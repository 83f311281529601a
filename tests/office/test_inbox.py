"""The SMS inbox: threads by view, replies from the company number, likely opt-outs,
technicians limited to their own threads, another company's thread a 404."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.customers.models import ContactMethod
from fieldlink.db import utcnow
from fieldlink.messaging.models import Message
from fieldlink.sms import inbound
from fieldlink.sms.models import Conversation
from tests.conftest import Tenant
from tests.office.helpers import make_staff, new_client, post_form, sign_in
from tests.office.seed import make_visit, ready_company

DAY = date(2031, 3, 4)
_sid = itertools.count(1)


def text_in(session: Session, company_id: int, sender: str, body: str) -> Conversation:
    company = session.get(Company, company_id)
    assert company is not None
    result = inbound.receive_text(
        session,
        company=company,
        sender=sender,
        body=body,
        sid=f"SM{next(_sid):032d}",
        base_url="http://testserver",
        now=utcnow(),
    )
    session.commit()
    conversation = session.get(Conversation, result.text.conversation_id)
    assert conversation is not None
    return conversation


@pytest.fixture
def owner(session: Session, tenant: Tenant) -> User:
    ready_company(session, tenant.company_id)
    return make_staff(session, tenant.company_id, "owner")


@pytest.fixture
def office(client: TestClient, owner: User) -> TestClient:
    return sign_in(client, owner.email)


def test_an_inbound_text_shows_in_the_inbox_and_the_thread_fragment(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    v = make_visit(session, tenant.company_id, day=DAY, name="Gina Gate")
    phone = session.get(ContactMethod, v.mobile_id).value  # type: ignore[union-attr]
    conversation = text_in(session, tenant.company_id, phone, "The gate code is 1234")
    inbox = office.get("/office/inbox")
    assert (
        inbox.status_code == 200
        and "Gina Gate" in inbox.text
        and 'hx-trigger="every 5s"' in inbox.text
    )
    mine = office.get("/office/inbox/threads", params={"view": "mine"})
    assert "Gina Gate" in mine.text and "<html" not in mine.text  # a fragment for htmx
    unknown = text_in(session, tenant.company_id, "+19195550999", "who is this?")
    only_unknown = office.get("/office/inbox/threads", params={"view": "unknown"})
    assert "+19195550999" in only_unknown.text and "Gina Gate" not in only_unknown.text
    texts = office.get(f"/office/inbox/{conversation.id}/texts")
    assert "The gate code is 1234" in texts.text
    assert office.get(f"/office/inbox/{unknown.id}").status_code == 200


def test_a_reply_goes_out_from_the_company_number_once_per_form(
    office: TestClient, session: Session, tenant: Tenant, owner: User
) -> None:
    conversation = text_in(session, tenant.company_id, "+19195550777", "Are you coming today?")
    page = office.get(f"/office/inbox/{conversation.id}")
    nonce = page.text.split('name="nonce" value="')[1].split('"')[0]
    form = {"body": "Yes, around 2 PM.", "nonce": nonce}
    first = post_form(office, f"/office/inbox/{conversation.id}/reply", form)
    again = post_form(office, f"/office/inbox/{conversation.id}/reply", form)
    assert first.status_code == again.status_code == 303
    replies = session.scalars(
        select(Message).where(Message.touchpoint == "conversation_reply")
    ).all()
    assert len(replies) == 1 and replies[0].status == "queued"
    assert replies[0].to == "+19195550777" and replies[0].body == "Yes, around 2 PM."
    assert "Yes, around 2 PM." in office.get(f"/office/inbox/{conversation.id}/texts").text


def test_a_likely_opt_out_is_confirmed_in_one_click(
    office: TestClient, session: Session, tenant: Tenant
) -> None:
    # TCPA (FCC 2024 revocation rule): any reasonable way of saying stop revokes consent.
    conversation = text_in(session, tenant.company_id, "+19195550778", "please stop texting me")
    page = office.get(f"/office/inbox/{conversation.id}")
    assert "Confirm opt-out" in page.text
    text_id = page.text.split("/texts/")[1].split("/confirm-opt-out")[0]
    r = post_form(office, f"/office/inbox/{conversation.id}/texts/{text_id}/confirm-opt-out", {})
    assert r.status_code == 303
    session.refresh(conversation)
    assert conversation.keyword_status == "opted_out"
    assert "Opt-out recorded" in office.get(f"/office/inbox/{conversation.id}").text


def test_a_technician_sees_only_threads_routed_to_them(
    client: TestClient, session: Session, tenant: Tenant, owner: User
) -> None:
    routed_to_owner = text_in(session, tenant.company_id, "+19195550779", "Hello office")
    tech = make_staff(session, tenant.company_id, "technician")
    browser = sign_in(new_client(client), tech.email)
    inbox = browser.get("/office/inbox", params={"view": "all"})
    assert inbox.status_code == 200 and "+19195550779" not in inbox.text
    assert browser.get(f"/office/inbox/{routed_to_owner.id}").status_code == 404


def test_another_companys_thread_answers_404(
    office: TestClient, session: Session, tenant: Tenant, other_tenant: Tenant
) -> None:
    ready_company(session, other_tenant.company_id)
    make_staff(session, other_tenant.company_id, "owner")
    theirs = text_in(session, other_tenant.company_id, "+19195550780", "rival text")
    assert office.get(f"/office/inbox/{theirs.id}").status_code == 404
    assert office.get(f"/office/inbox/{theirs.id}/texts").status_code == 404
    r = post_form(office, f"/office/inbox/{theirs.id}/reply", {"body": "hi", "nonce": "x"})
    assert r.status_code == 404
