"""Who an inbound text goes to, and telling them through the outbox.

The facts (the sender's unfinished visits, the staff) are loaded here and handed to the
pure :func:`rules.route_inbound`; the decision is recorded as the thread's assignees.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.customers.models import Contact, ContactMethod, Customer
from fieldlink.jobs.models import Appointment, AppointmentTechnician, DispatchEvent, Job, StatusCode
from fieldlink.messaging.models import Message
from fieldlink.messaging.service import Refs, queue_staff_message
from fieldlink.sms import rules
from fieldlink.sms.models import Conversation, ConversationAssignee, SmsMessage
from fieldlink.sms.service import methods_for_phone


def visits_of(session: Session, *, company_id: int, customer_ids: list[int]) -> list[rules.Visit]:
    """The customers' unfinished appointments with their technicians and last start.

    The appointment rows are read ``FOR SHARE`` (PostgreSQL): a dispatch status change in
    flight holds them ``FOR UPDATE`` (jobs.dispatch), so an inbound text racing "Complete"
    waits for it and routes on the committed outcome, never on a half-seen one.
    """
    if not customer_ids:
        return []
    appointments = session.scalars(
        select(Appointment)
        .join(Job, Job.id == Appointment.job_id)
        .where(
            Appointment.company_id == company_id,
            Job.customer_id.in_(customer_ids),
            Appointment.status.not_in(rules.FINISHED_APPOINTMENT_STATES),
        )
        .order_by(Appointment.id)
        .with_for_update(read=True, of=Appointment)
        .execution_options(populate_existing=True)
    ).all()
    if not appointments:
        return []
    ids = [a.id for a in appointments]
    technicians: dict[int, list[int]] = defaultdict(list)
    for appointment_id, user_id in session.execute(
        select(AppointmentTechnician.appointment_id, AppointmentTechnician.user_id).where(
            AppointmentTechnician.appointment_id.in_(ids)
        )
    ):
        technicians[appointment_id].append(user_id)
    started = dict(
        session.execute(
            select(DispatchEvent.appointment_id, func.max(DispatchEvent.at))
            .outerjoin(StatusCode, StatusCode.id == DispatchEvent.status_code_id)
            .where(
                DispatchEvent.appointment_id.in_(ids),
                or_(
                    DispatchEvent.kind == "en_route",
                    StatusCode.meaning.in_(rules.STARTED_MEANINGS),
                ),
            )
            .group_by(DispatchEvent.appointment_id)
        ).all()
    )
    return [
        rules.Visit(
            appointment_id=a.id,
            status=a.status,
            technician_ids=tuple(technicians[a.id]),
            started_at=started.get(a.id),
        )
        for a in appointments
    ]


def route(
    session: Session,
    *,
    company: Company,
    conversation: Conversation,
    methods: list[ContactMethod] | None = None,
) -> rules.Route:
    """Decide who gets the thread now and record it as the conversation's assignees
    (``methods``: the sender's number's methods, when the caller has them)."""
    if methods is None:
        methods = methods_for_phone(session, company_id=company.id, phone=conversation.phone)
    customer_ids = sorted({m.customer_id for m in methods})
    staff = [
        rules.StaffMember(user_id=u.id, role=u.role, active=u.active)
        for u in company_users(session, company.id).values()
    ]
    decision = rules.route_inbound(
        visits=visits_of(session, company_id=company.id, customer_ids=customer_ids),
        point_of_contact_id=company.point_of_contact_user_id,
        staff=staff,
    )
    session.execute(
        delete(ConversationAssignee).where(ConversationAssignee.conversation_id == conversation.id)
    )
    for user_id in decision.user_ids:
        session.add(
            ConversationAssignee(
                conversation_id=conversation.id, user_id=user_id, company_id=company.id
            )
        )
    conversation.assigned_user_id = decision.user_ids[0] if decision.user_ids else None
    conversation.route_reason = decision.reason
    return decision  # flushed with the caller's next writes


def notify_routed(
    session: Session,
    *,
    company: Company,
    conversation: Conversation,
    text: SmsMessage,
    decision: rules.Route,
    base_url: str,
    now: datetime,
) -> list[Message]:
    """Tell each routed user about the text through the outbox: by SMS when they have a
    phone (a technician on the road), else by email. The text already carries the routing
    (``receive_text`` stores it with the text)."""
    sender = _sender_name(session, conversation)
    shown = text.body
    if text.likely_opt_out:
        shown = f"[Likely opt-out: confirm in the thread] {text.body}"
    variables = {
        "company": {
            "name": company.name,
            "phone": company.business_phone or "",
            "website": company.website or "",
            "logo_url": company.logo_url or "",
        },
        "contact": {"name": sender, "first_name": sender.split(" ")[0]},
        "message": shown,
        "link": f"{base_url}/v1/conversations/{conversation.id}",
    }
    sent = []
    users = company_users(session, company.id)
    for user_id in decision.user_ids:
        user = users[user_id]
        sent.append(
            queue_staff_message(
                session,
                company=company,
                user=user,
                touchpoint="inbound_forward",
                channel="sms" if user.phone else "email",
                variables=variables,
                idempotency_key=f"inbound_forward:{text.id}:user:{user.id}",
                now=now,
                refs=Refs(
                    appointment_id=decision.appointment_id,
                    subject_ref=f"conversation:{conversation.id}",
                ),
            )
        )
    return sent


def company_users(session: Session, company_id: int) -> dict[int, User]:
    """The company's staff by id, read once per transaction: routing and forwarding both
    need them, for every text of a worker's batch (the identity map alone does not keep
    them: it holds objects weakly, and nothing else refers to them between the two)."""
    transaction = session.get_transaction()
    cached = session.info.get(("company_users", company_id))
    if cached is not None and cached[0] is transaction:
        return cached[1]  # type: ignore[no-any-return]
    users = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.company_id == company_id).order_by(User.id)
        )
    }
    session.info[("company_users", company_id)] = (transaction, users)
    return users


def _sender_name(session: Session, conversation: Conversation) -> str:
    if conversation.contact_id is not None:
        contact = session.get(Contact, conversation.contact_id)
        if contact is not None:
            return contact.name
    if conversation.customer_id is not None:
        customer = session.get(Customer, conversation.customer_id)
        if customer is not None:
            return customer.name
    return conversation.phone
