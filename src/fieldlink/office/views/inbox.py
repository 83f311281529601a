"""``/office/inbox``: SMS threads (mine, all, unknown senders), replies from the company
number, likely opt-outs confirmed in one click. New texts appear by htmx polling."""

from __future__ import annotations

import contextlib
import secrets

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from fieldlink.customers.models import Customer
from fieldlink.db import MAX_ID, utcnow
from fieldlink.errors import Conflict
from fieldlink.messaging.models import Message
from fieldlink.office import queries
from fieldlink.office.web import OfficeRoute, Staff, StaffOnly, not_found, page
from fieldlink.pages import csrf
from fieldlink.pages.i18n import N_, choose, gettext_for
from fieldlink.sms import inbound, service
from fieldlink.sms import queries as sms_queries
from fieldlink.sms.models import Conversation, SmsMessage
from fieldlink.web.deps import DbSession

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)
VIEWS = {"mine": N_("Assigned to me"), "all": N_("All"), "unknown": N_("Unknown senders")}
LIST_SIZE = 100
ConversationId = Path(ge=1, le=MAX_ID)


def _view(request: Request, staff: Staff) -> str:
    # Technicians see only the threads routed to them.
    if not staff.is_office:
        return "mine"
    chosen = request.query_params.get("view") or "all"
    return chosen if chosen in VIEWS else "all"


def _threads(session: DbSession, staff: Staff, view: str) -> list[dict[str, object]]:
    stmt = sms_queries.conversations_query(
        company_id=staff.company_id,
        assigned_user_id=staff.user.id if view == "mine" else None,
    )
    if view == "unknown":
        stmt = stmt.where(Conversation.customer_id.is_(None))
    rows = list(
        session.scalars(
            stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(
                LIST_SIZE
            )
        )
    )
    names = {
        c.id: c.name
        for c in session.scalars(
            select(Customer).where(Customer.id.in_({r.customer_id for r in rows if r.customer_id}))
        )
    }
    out = []
    for row in rows:
        last = session.scalar(
            select(SmsMessage)
            .where(SmsMessage.conversation_id == row.id)
            .order_by(SmsMessage.at.desc(), SmsMessage.id.desc())
            .limit(1)
        )
        out.append(
            {
                "c": row,
                "name": names.get(row.customer_id or 0),
                "last": last,
                "waiting": last is not None and last.direction == "inbound",
            }
        )
    return out


def _conversation(session: DbSession, staff: Staff, conversation_id: int) -> Conversation:
    """The thread, if this user may open it (404 otherwise, like another company's)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.company_id != staff.company_id:
        raise not_found()
    if not staff.is_office:
        assigned = sms_queries.assignees(session, [conversation.id]).get(conversation.id, [])
        if staff.user.id not in assigned:
            raise not_found()
    return conversation


@router.get("/office/inbox", response_class=HTMLResponse)
def inbox(request: Request, staff: StaffOnly, session: DbSession) -> HTMLResponse:
    view = _view(request, staff)
    return page(
        request,
        staff,
        "office/inbox.html",
        {"view": view, "views": VIEWS, "threads": _threads(session, staff, view), **_ctx(staff)},
    )


@router.get("/office/inbox/threads", response_class=HTMLResponse)
def inbox_threads(request: Request, staff: StaffOnly, session: DbSession) -> HTMLResponse:
    """The thread list alone (htmx polls it)."""
    view = _view(request, staff)
    return page(
        request,
        staff,
        "office/_threads.html",
        {"view": view, "threads": _threads(session, staff, view), **_ctx(staff)},
    )


def _ctx(staff: Staff) -> dict[str, object]:
    return {"zone": queries.zone(staff.company), "reason_text": queries.reason_text}


def _thread_context(
    session: DbSession, staff: Staff, conversation: Conversation
) -> dict[str, object]:
    detail = sms_queries.conversation_detail(session, conversation)
    customer = session.get(Customer, conversation.customer_id) if conversation.customer_id else None
    users = queries.users_by_id(session, {t.user_id for t in detail.messages if t.user_id})
    return {
        "conversation": conversation,
        "detail": detail,
        "customer": customer,
        "users": users,
        **_ctx(staff),
    }


@router.get("/office/inbox/{conversation_id}", response_class=HTMLResponse)
def thread(
    request: Request,
    staff: StaffOnly,
    session: DbSession,
    conversation_id: int = ConversationId,
) -> HTMLResponse:
    conversation = _conversation(session, staff, conversation_id)
    _ = gettext_for(choose(request))
    notices = {
        "held": _("The reply was not sent; see the reason under it."),
        "empty": _("Type a reply first."),
    }
    return page(
        request,
        staff,
        "office/thread.html",
        {
            **_thread_context(session, staff, conversation),
            "nonce": secrets.token_urlsafe(12),
            "notice": notices.get(request.query_params.get("notice") or ""),
        },
    )


@router.get("/office/inbox/{conversation_id}/texts", response_class=HTMLResponse)
def thread_texts(
    request: Request,
    staff: StaffOnly,
    session: DbSession,
    conversation_id: int = ConversationId,
) -> HTMLResponse:
    """The texts alone (htmx polls it, so a new inbound text appears without a reload)."""
    conversation = _conversation(session, staff, conversation_id)
    return page(request, staff, "office/_texts.html", _thread_context(session, staff, conversation))


@router.post(
    "/office/inbox/{conversation_id}/reply",
    response_class=Response,
    dependencies=[Depends(csrf.verify)],
)
def reply(
    staff: StaffOnly,
    session: DbSession,
    conversation_id: int = ConversationId,
    body: str = Form("", max_length=1600),
    nonce: str = Form("", max_length=40),
) -> Response:
    """Reply from the company number (sms/service.py). The form's nonce is the idempotency
    key: a double click or a resubmitted form sends one text."""
    conversation = _conversation(session, staff, conversation_id)
    target = f"/office/inbox/{conversation.id}"
    if not body.strip():
        return RedirectResponse(f"{target}?notice=empty", status_code=303)
    text = service.send_reply(
        session,
        company=staff.company,
        conversation=conversation,
        body=body.strip(),
        user_id=staff.user.id,
        idempotency_key=f"office:{staff.user.id}:{nonce}" if nonce else None,
        now=utcnow(),
    )
    message = session.get(Message, text.message_id) if text.message_id else None
    held = message is not None and message.status == "suppressed"
    return RedirectResponse(f"{target}?notice=held" if held else target, status_code=303)


@router.post(
    "/office/inbox/{conversation_id}/texts/{text_id}/confirm-opt-out",
    response_class=Response,
    dependencies=[Depends(csrf.verify)],
)
def confirm_opt_out(
    staff: StaffOnly,
    session: DbSession,
    conversation_id: int = ConversationId,
    text_id: int = Path(ge=1, le=MAX_ID),
) -> Response:
    """TCPA: a reasonable way of saying stop revokes consent; one click records it."""
    conversation = _conversation(session, staff, conversation_id)
    text = service.get_text(session, conversation=conversation, text_id=text_id)
    # Not a flagged text (Conflict): nothing to confirm; the thread shows it as it is.
    with contextlib.suppress(Conflict):
        inbound.confirm_likely_opt_out(
            session,
            company=staff.company,
            conversation=conversation,
            text=text,
            actor=f"office user {staff.user.id} ({staff.user.name})",
            now=utcnow(),
        )
    return RedirectResponse(f"/office/inbox/{conversation.id}", status_code=303)
