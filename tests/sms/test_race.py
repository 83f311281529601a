"""An inbound text racing a job status change, on a real database with real commits.

The routing reads the customer's live appointments ``FOR SHARE``; a dispatch status change
holds its appointment ``FOR UPDATE`` until it commits. So a text the worker routes while
"Complete" is being recorded waits for it and routes on the committed outcome — never to a
technician whose visit has just ended, and never on a half-seen state. The webhook itself
only records the text, so it answers without waiting for the status change.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import User
from fieldlink.accounts.service import create_company
from fieldlink.app import create_app
from fieldlink.config import Settings
from fieldlink.db import make_engine, make_sessionmaker, session_scope
from fieldlink.jobs.dispatch import record_dispatch_status
from fieldlink.jobs.models import Appointment, AppointmentTechnician, Job, StatusCode
from fieldlink.migrate import upgrade
from fieldlink.sms.models import Conversation, ConversationAssignee
from tests.factories.customers import make_customer, make_location, make_method
from tests.sms.conftest import MARIA, NUMBER, receive, signed

pytestmark = pytest.mark.skipif(
    "postgresql" not in os.environ.get("FIELDLINK_TEST_DATABASE_URL", ""),
    reason="needs PostgreSQL row locks; SQLite runs one writer at a time",
)


@pytest.fixture
def db(fresh_database_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def waits_for(action: Callable[[], object], holder: Session, why: str) -> object:
    """Run ``action`` in a thread, check it is still waiting on ``holder``'s locks after
    half a second, then commit ``holder`` and return what ``action`` returned."""
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(value=action()))
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), why
    holder.commit()
    holder.close()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return result["value"]


def _code(session: Session, company_id: int, meaning: str) -> int:
    code_id = session.scalar(
        select(StatusCode.id).where(
            StatusCode.company_id == company_id, StatusCode.meaning == meaning
        )
    )
    assert code_id is not None
    return code_id


def test_a_text_racing_complete_waits_and_routes_on_the_committed_outcome(
    db: Engine, settings: Settings
) -> None:
    factory = make_sessionmaker(db)
    start = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    with session_scope(factory) as s:
        company = create_company(s, name="Acme", company_code="acme", sms_number=NUMBER)
        admin = User(company_id=company.id, name="Ada", email="a@x.example", role="admin")
        tech = User(company_id=company.id, name="Tom", email="t@x.example", role="technician")
        s.add_all([admin, tech])
        customer = make_customer(s, company_id=company.id)
        location = make_location(s, company_id=company.id, customer_id=customer.id)
        make_method(s, company_id=company.id, customer_id=customer.id, kind="phone", value=MARIA)
        job = Job(company_id=company.id, customer_id=customer.id, location_id=location.id)
        s.add(job)
        s.flush()
        appointment = Appointment(
            company_id=company.id,
            job_id=job.id,
            window_start=start,
            window_end=start + timedelta(hours=2),
        )
        s.add(appointment)
        s.flush()
        s.add(
            AppointmentTechnician(
                appointment_id=appointment.id, user_id=tech.id, company_id=company.id
            )
        )
        s.flush()
        record_dispatch_status(
            s,
            appointment=appointment,
            technician_id=tech.id,
            status_code_id=_code(s, company.id, "traveling"),
            source="technician",
            now=start,
        )
        ids = (company.id, appointment.id, admin.id, tech.id)
    company_id, appointment_id, admin_id, tech_id = ids

    # The technician's "Complete" is recorded but not yet committed...
    completing = factory()
    appt = completing.get(Appointment, appointment_id)
    assert appt is not None
    record_dispatch_status(
        completing,
        appointment=appt,
        technician_id=tech_id,
        status_code_id=_code(completing, company_id, "complete"),
        source="technician",
        now=start + timedelta(hours=1),
    )
    # ...when the customer's text arrives: the webhook records it and answers at once...
    app = create_app(settings, factory=factory)
    client = TestClient(app, raise_server_exceptions=False)
    form = {"From": MARIA, "To": NUMBER, "Body": "thanks!", "MessageSid": "SMrace"}
    assert signed(client, "/webhooks/sms/inbound", form).status_code == 200
    # ...and the worker routing it waits for the status change in flight.
    taken = waits_for(
        lambda: receive(factory), completing, "routing must wait for the status change in flight"
    )
    assert taken == 1
    with factory() as s:
        conversation = s.scalar(select(Conversation).where(Conversation.company_id == company_id))
        assert conversation is not None
        assert s.get(Appointment, appointment_id).status == "completed"  # type: ignore[union-attr]
        assert conversation.assigned_user_id == admin_id  # the office, not the technician
        assert conversation.route_reason == "lowest_owner_admin"


def test_two_texts_of_one_thread_are_threaded_one_after_the_other(
    db: Engine, settings: Settings
) -> None:
    # Found by benchmarks/webhooks.py: two keywords from one number at once each replaced
    # the thread's assignees, and the second insert of the same assignee failed (a 500).
    # The thread's row is locked while a text is threaded, so the second waits its turn.
    factory = make_sessionmaker(db)
    with session_scope(factory) as s:
        company = create_company(s, name="Acme", company_code="acme", sms_number=NUMBER)
        s.add(User(company_id=company.id, name="Ada", email="a@x.example", role="admin"))
        company_id = company.id
    app = create_app(settings, factory=factory)
    client = TestClient(app, raise_server_exceptions=False)
    first = {"From": MARIA, "To": NUMBER, "Body": "HELP", "MessageSid": "SMone"}
    assert signed(client, "/webhooks/sms/inbound", first).status_code == 200

    # Another text of the thread is being routed right now: its routing has replaced the
    # assignees but not yet committed.
    in_flight = factory()
    conversation_id = in_flight.scalars(
        select(Conversation.id).where(Conversation.company_id == company_id).with_for_update()
    ).one()
    [admin] = in_flight.scalars(select(User.id).where(User.company_id == company_id)).all()
    in_flight.execute(
        delete(ConversationAssignee).where(ConversationAssignee.conversation_id == conversation_id)
    )
    in_flight.add(
        ConversationAssignee(conversation_id=conversation_id, user_id=admin, company_id=company_id)
    )
    in_flight.flush()
    second = {"From": MARIA, "To": NUMBER, "Body": "STOP", "MessageSid": "SMtwo"}
    status = waits_for(
        lambda: signed(client, "/webhooks/sms/inbound", second).status_code,
        in_flight,
        "the second text must wait for the thread's lock",
    )
    assert status == 200
    with factory() as s:
        [conversation] = s.scalars(select(Conversation)).all()
        assert conversation.keyword_status == "opted_out"
        assignees = s.scalars(
            select(ConversationAssignee.user_id).where(
                ConversationAssignee.conversation_id == conversation.id
            )
        ).all()
        assert len(assignees) == 1
