"""Conversations: threads per phone number and the texts in them, including replies.

Inbound texts are handled in ``inbound.py`` (routed by ``routing.py``), opt-in requests
in ``optins.py`` and number provisioning in ``provisioning.py``; they all thread their
texts through here. Nothing commits: the request or outbox job owns the transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.customers.models import ContactMethod
from fieldlink.db import get_scoped
from fieldlink.errors import NotFound
from fieldlink.messaging.models import Message
from fieldlink.messaging.reasons import reason
from fieldlink.messaging.service import (
    SEND_TOPIC,
    record_status,
    sender_blocks,
)
from fieldlink.outbox.publish import publish
from fieldlink.sms import rules
from fieldlink.sms.models import Conversation, SmsMessage

REPLY_TOUCHPOINT = "conversation_reply"
KEYWORD_TOUCHPOINT = "keyword_reply"


def methods_for_phone(session: Session, *, company_id: int, phone: str) -> list[ContactMethod]:
    """Every phone method of the company holding ``phone`` (E.164), oldest first."""
    return list(
        session.scalars(
            select(ContactMethod)
            .where(
                ContactMethod.company_id == company_id,
                ContactMethod.kind == "phone",
                ContactMethod.value == phone,
            )
            .order_by(ContactMethod.id)
        )
    )


def conversation_for(
    session: Session,
    *,
    company_id: int,
    phone: str,
    now: datetime,
    methods: list[ContactMethod] | None = None,
    lock: bool = False,
) -> Conversation:
    """The thread of ``phone``, made on first contact and matched to the customer/contact
    holding the number (the oldest method wins when several do); unknown senders keep
    ``customer_id`` empty. ``methods``: the number's methods, when the caller has them.

    ``lock``: the thread's row is locked until the caller's transaction ends (a new one
    is, by its insert), so two texts of one thread are threaded and routed one after the
    other — never two routings replacing each other's assignees at once."""
    found = _find_conversation(session, company_id=company_id, phone=phone, lock=lock)
    if found is not None:
        if found.customer_id is None:
            _match(session, found, methods)
        return found
    conversation = Conversation(
        company_id=company_id, phone=phone, keyword_status="none", created_at=now
    )
    _match(session, conversation, methods)
    try:
        # Two first texts from one number racing: one thread, the loser reads the winner's.
        with session.begin_nested():
            session.add(conversation)
            session.flush()
    except IntegrityError:
        found = _find_conversation(session, company_id=company_id, phone=phone, lock=lock)
        assert found is not None
        return found
    return conversation


def _find_conversation(
    session: Session, *, company_id: int, phone: str, lock: bool = False
) -> Conversation | None:
    stmt = select(Conversation).where(
        Conversation.company_id == company_id, Conversation.phone == phone
    )
    if lock:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def _match(
    session: Session, conversation: Conversation, methods: list[ContactMethod] | None
) -> None:
    if methods is None:
        methods = methods_for_phone(
            session, company_id=conversation.company_id, phone=conversation.phone
        )
    if methods:
        conversation.customer_id = methods[0].customer_id
        conversation.contact_id = methods[0].contact_id


def get_conversation(session: Session, *, company_id: int, conversation_id: int) -> Conversation:
    conversation: Conversation = get_scoped(
        session, Conversation, conversation_id, company_id, "conversation"
    )
    return conversation


def add_text(
    session: Session,
    *,
    conversation: Conversation,
    direction: str,
    body: str,
    now: datetime,
    **fields: object,
) -> SmsMessage:
    defaults: dict[str, object] = {"likely_opt_out": False, "routed_user_ids": []}
    text = SmsMessage(
        company_id=conversation.company_id,
        conversation_id=conversation.id,
        direction=direction,
        body=body,
        at=now,
        **{**defaults, **fields},
    )
    session.add(text)
    session.flush()  # the text alone: a duplicate MessageSid fails here, in the caller's savepoint
    # A text the worker threads late (received before one already threaded) keeps its
    # place: the thread's latest time only moves forward. Written with the conversation's
    # other changes (routing, keyword status) at the next flush, as one UPDATE.
    last = conversation.last_message_at
    if last is None or last < now:
        conversation.last_message_at = now
    return text


# --- outgoing texts ---------------------------------------------------------------------


def queue_text(
    session: Session,
    *,
    company: Company,
    conversation: Conversation,
    touchpoint: str,
    body: str,
    blocks: list[str],
    idempotency_key: str,
    now: datetime,
    user_id: int | None = None,
) -> SmsMessage:
    """Record an outgoing text in the thread and its message-log row; queue it through
    the outbox unless ``blocks`` (reason codes) or the sender hold it.

    The message carries no contact method on purpose: the delivery-time consent re-check
    applies the transactional rules to method-bound messages, and these texts are
    answers to the number itself (conversational, keyword confirmations, opt-in requests
    the holder asked for) whose rules the caller has already applied.
    """
    message = Message(
        company_id=company.id,
        touchpoint=touchpoint,
        channel="sms",
        to=conversation.phone,
        customer_id=conversation.customer_id,
        contact_id=conversation.contact_id,
        subject_ref=f"conversation:{conversation.id}",
        language="en",
        body=body,
        status="queued",
        reasons=[],
        idempotency_key=idempotency_key,
        requested_key=idempotency_key,
        attempts=0,
        created_at=now,
    )
    session.add(message)
    session.flush()
    held = [reason(code) for code in blocks] + sender_blocks(company, "sms")
    if held:
        message.reasons = held
        record_status(
            session, message, "suppressed", now=now, detail=", ".join(r["code"] for r in held)
        )
    else:
        record_status(session, message, "queued", now=now)
        publish(session, SEND_TOPIC, run_at=now, message_id=message.id)
    return add_text(
        session,
        conversation=conversation,
        direction="outbound",
        body=body,
        now=now,
        message_id=message.id,
        user_id=user_id,
    )


def send_reply(
    session: Session,
    *,
    company: Company,
    conversation: Conversation,
    body: str,
    user_id: int | None,
    idempotency_key: str | None,
    now: datetime,
) -> SmsMessage:
    """An office or technician reply, sent from the company number through the outbox.

    Held (stored ``suppressed`` with the reason) when :func:`rules.reply_blocks` says so.
    A repeat with the same ``idempotency_key`` returns the first reply, sending nothing.
    """
    key = f"reply:conversation:{conversation.id}:{idempotency_key or uuid.uuid4().hex}"
    earlier = session.scalar(
        select(SmsMessage)
        .join(Message, Message.id == SmsMessage.message_id)
        .where(Message.company_id == company.id, Message.idempotency_key == key)
    )
    if earlier is not None:
        return earlier
    if user_id is not None:
        get_scoped(session, User, user_id, company.id, "user")
    inbound = session.scalar(
        select(func.count())
        .select_from(SmsMessage)
        .where(SmsMessage.conversation_id == conversation.id, SmsMessage.direction == "inbound")
    )
    blocks = rules.reply_blocks(
        customer_initiated=bool(inbound), keyword_status=conversation.keyword_status
    )
    return queue_text(
        session,
        company=company,
        conversation=conversation,
        touchpoint=REPLY_TOUCHPOINT,
        body=body,
        blocks=blocks,
        idempotency_key=key,
        now=now,
        user_id=user_id,
    )


def get_text(session: Session, *, conversation: Conversation, text_id: int) -> SmsMessage:
    text = session.get(SmsMessage, text_id)
    if text is None or text.conversation_id != conversation.id:
        raise NotFound(f"message {text_id} not found", code="message_not_found")
    return text
