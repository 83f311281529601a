"""Read side of conversations: lists, one thread with its texts."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from fieldlink.messaging.models import Message
from fieldlink.messaging.schemas import ReasonOut
from fieldlink.sms.models import Conversation, ConversationAssignee, SmsMessage
from fieldlink.sms.schemas import ConversationDetail, ConversationOut, TextOut


def conversations_query(*, company_id: int, assigned_user_id: int | None) -> Select[Any]:
    stmt = select(Conversation).where(Conversation.company_id == company_id)
    if assigned_user_id is not None:
        stmt = stmt.where(
            Conversation.id.in_(
                select(ConversationAssignee.conversation_id).where(
                    ConversationAssignee.company_id == company_id,
                    ConversationAssignee.user_id == assigned_user_id,
                )
            )
        )
    return stmt


def assignees(session: Session, conversation_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(ConversationAssignee.conversation_id, ConversationAssignee.user_id)
        .where(ConversationAssignee.conversation_id.in_(conversation_ids))
        .order_by(ConversationAssignee.user_id)
    )
    for conversation_id, user_id in rows:
        found[conversation_id].append(user_id)
    return found


def conversation_out(conversation: Conversation, assigned: list[int]) -> ConversationOut:
    return ConversationOut(
        id=conversation.id,
        phone=conversation.phone,
        customer_id=conversation.customer_id,
        contact_id=conversation.contact_id,
        assigned_user_id=conversation.assigned_user_id,
        assigned_user_ids=assigned,
        route_reason=conversation.route_reason,
        keyword_status=conversation.keyword_status,
        last_message_at=conversation.last_message_at,
    )


def text_out(text: SmsMessage, message: Message | None) -> TextOut:
    out = TextOut.model_validate(text)
    if message is not None:
        out.status = message.status
        out.reasons = [ReasonOut(**r) for r in message.reasons]
    return out


def conversation_detail(session: Session, conversation: Conversation) -> ConversationDetail:
    texts = session.scalars(
        select(SmsMessage)
        .where(SmsMessage.conversation_id == conversation.id)
        .order_by(SmsMessage.at, SmsMessage.id)
    ).all()
    ids = [t.message_id for t in texts if t.message_id is not None]
    messages = {m.id: m for m in session.scalars(select(Message).where(Message.id.in_(ids)))}
    head = conversation_out(conversation, assignees(session, [conversation.id])[conversation.id])
    return ConversationDetail(
        **head.model_dump(),
        messages=[text_out(t, messages.get(t.message_id) if t.message_id else None) for t in texts],
    )
