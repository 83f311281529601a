"""REST routes: /v1/conversations, opt-in requests and the company's SMS number."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query

from fieldlink.customers.api import Actor, PathId
from fieldlink.customers.models import ContactMethod
from fieldlink.db import get_scoped, utcnow
from fieldlink.errors import NotFound
from fieldlink.messaging.models import Message
from fieldlink.sms import inbound, optins, provisioning, queries, service
from fieldlink.sms.models import Conversation
from fieldlink.sms.schemas import (
    ConversationDetail,
    OptInRequestOut,
    ReplyIn,
    SmsNumberIn,
    SmsNumberOut,
    TextOut,
)
from fieldlink.web.deps import CurrentTenant, DbSession
from fieldlink.web.pagination import Page, page_params, paginate

router = APIRouter(prefix="/v1", tags=["conversations"])


@router.get("/conversations")
def list_conversations(
    tenant: CurrentTenant,
    session: DbSession,
    assigned_user_id: int | None = Query(None, ge=1, le=2**31 - 1),
    page: Page = Depends(page_params),
) -> dict[str, Any]:
    """Threads `{id, phone, customer_id, assigned_user_id, last_message_at}`, oldest first;
    `assigned_user_id` keeps the threads routed to that user (any of several technicians)."""
    stmt = queries.conversations_query(
        company_id=tenant.company_id, assigned_user_id=assigned_user_id
    )
    result = paginate(session, stmt, Conversation.id, page, lambda c: c)
    rows: list[Conversation] = result["items"]
    assigned = queries.assignees(session, [c.id for c in rows])
    result["items"] = [queries.conversation_out(c, assigned[c.id]) for c in rows]
    return result


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
def get_conversation(
    conversation_id: PathId, tenant: CurrentTenant, session: DbSession
) -> ConversationDetail:
    conversation = service.get_conversation(
        session, company_id=tenant.company_id, conversation_id=conversation_id
    )
    return queries.conversation_detail(session, conversation)


@router.post("/conversations/{conversation_id}/messages", response_model=TextOut, status_code=201)
def reply(
    conversation_id: PathId,
    body: ReplyIn,
    tenant: CurrentTenant,
    session: DbSession,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> TextOut:
    """Reply from the company number. A reply to someone who texted us is conversational
    (no marketing opt-in needed); it is held, with the reason, if the number texted STOP
    or never texted us."""
    conversation = service.get_conversation(
        session, company_id=tenant.company_id, conversation_id=conversation_id
    )
    text = service.send_reply(
        session,
        company=tenant.company,
        conversation=conversation,
        body=body.body,
        user_id=body.user_id,
        idempotency_key=idempotency_key,
        now=utcnow(),
    )
    message = session.get(Message, text.message_id) if text.message_id else None
    return queries.text_out(text, message)


@router.post(
    "/conversations/{conversation_id}/messages/{message_id}/confirm-opt-out",
    response_model=TextOut,
)
def confirm_opt_out(
    conversation_id: PathId,
    message_id: PathId,
    tenant: CurrentTenant,
    session: DbSession,
    actor: Actor,
) -> TextOut:
    """One click: a text flagged as a likely opt-out ("stop texting me") opts the number
    out, with the customer's words as evidence, and sends the one confirmation."""
    conversation = service.get_conversation(
        session, company_id=tenant.company_id, conversation_id=conversation_id
    )
    text = service.get_text(session, conversation=conversation, text_id=message_id)
    inbound.confirm_likely_opt_out(
        session,
        company=tenant.company,
        conversation=conversation,
        text=text,
        actor=actor,
        now=utcnow(),
    )
    return queries.text_out(text, None)


@router.post(
    "/contact-methods/{method_id}/opt-in-requests",
    response_model=OptInRequestOut,
    status_code=201,
    tags=["consent"],
)
def send_opt_in_request(
    method_id: PathId, tenant: CurrentTenant, session: DbSession, actor: Actor
) -> OptInRequestOut:
    """Text the number asking it to reply YES; `pending` until it answers. Never resent
    to a number that has not answered (409), capped per company (429)."""
    method: ContactMethod = get_scoped(
        session, ContactMethod, method_id, tenant.company_id, "contact method"
    )
    request = optins.request_for_method(
        session, company=tenant.company, method=method, actor=actor, now=utcnow()
    )
    return OptInRequestOut.model_validate(request)


@router.get("/contact-methods/{method_id}/opt-in-requests", tags=["consent"])
def list_opt_in_requests(
    method_id: PathId, tenant: CurrentTenant, session: DbSession
) -> dict[str, Any]:
    method: ContactMethod = get_scoped(
        session, ContactMethod, method_id, tenant.company_id, "contact method"
    )
    rows = optins.requests_for_method(session, company_id=tenant.company_id, method=method)
    return {"items": [OptInRequestOut.model_validate(r) for r in rows], "next_cursor": None}


@router.post("/company/sms-number", response_model=SmsNumberOut, status_code=202, tags=["company"])
def request_sms_number(
    body: SmsNumberIn, tenant: CurrentTenant, session: DbSession
) -> SmsNumberOut:
    """Provision the company's dedicated number in an area code; a worker buys it from
    the provider and points its webhooks here (poll GET until `status` is `active`)."""
    row = provisioning.request_number(
        session, company=tenant.company, area_code=body.area_code, now=utcnow()
    )
    return SmsNumberOut.model_validate(row)


@router.get("/company/sms-number", response_model=SmsNumberOut, tags=["company"])
def get_sms_number(tenant: CurrentTenant, session: DbSession) -> SmsNumberOut:
    row = provisioning.number_of(session, company_id=tenant.company_id)
    if row is None:
        raise NotFound("no SMS number was requested", code="sms_number_not_found")
    return SmsNumberOut.model_validate(row)
