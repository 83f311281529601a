"""REST routes: the message log (/v1/messages) and templates (/v1/templates)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.db import MAX_ID, get_scoped
from fieldlink.errors import ValidationFailed
from fieldlink.messaging import template_admin
from fieldlink.messaging import templates as tpl
from fieldlink.messaging.models import Message, MessageEvent
from fieldlink.messaging.schemas import (
    ChannelName,
    HistoryOut,
    Language,
    MessageOut,
    PreviewIn,
    PreviewOut,
    TemplateIn,
    TemplateOut,
    Touchpoint,
)
from fieldlink.messaging.service import template_for
from fieldlink.web.deps import CurrentTenant, DbSession
from fieldlink.web.pagination import Page, page_params, paginate

router = APIRouter(prefix="/v1")


def message_out(session: Session, message: Message, *, with_history: bool) -> MessageOut:
    out = MessageOut.model_validate(message)
    if with_history:
        events = session.scalars(
            select(MessageEvent)
            .where(MessageEvent.message_id == message.id)
            .order_by(MessageEvent.id)
        )
        out.history = history_of(message, list(events))
    return out


def history_of(message: Message, events: list[MessageEvent]) -> list[HistoryOut]:
    """The message's status history: its stored events, after a ``queued`` entry at
    ``created_at`` when no stored event says how it began. Bulk sends and campaigns store
    no ``queued`` row for each message (the message's ``created_at`` says it, and the
    row's foreign-key checks cost a fifth of the write); a message that began suppressed or
    failed has its first event stored at ``created_at``, with the reasons."""
    out = [HistoryOut(status=e.status, at=e.at, detail=e.detail) for e in events]
    if not events or events[0].at > message.created_at:
        out.insert(0, HistoryOut(status="queued", at=message.created_at, detail=None))
    return out


@router.get("/messages", tags=["messages"])
def list_messages(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    customer_id: int | None = Query(None, ge=1, le=MAX_ID),
    job_id: int | None = Query(None, ge=1, le=MAX_ID),
    appointment_id: int | None = Query(None, ge=1, le=MAX_ID),
    contact_method_id: int | None = Query(None, ge=1, le=MAX_ID),
    touchpoint: Touchpoint | None = None,
    channel: ChannelName | None = None,
    status: str | None = Query(
        None, description="queued, sending, sent, delivered, undelivered, failed or suppressed"
    ),
    history: bool = Query(False, description="include each message's status history"),
) -> dict[str, Any]:
    """Every intended message with its outcome: "why did this contact not get it?"."""
    stmt = select(Message).where(Message.company_id == tenant.company_id)
    for column, value in (
        (Message.customer_id, customer_id),
        (Message.job_id, job_id),
        (Message.appointment_id, appointment_id),
        (Message.contact_method_id, contact_method_id),
        (Message.touchpoint, touchpoint),
        (Message.channel, channel),
        (Message.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return paginate(
        session, stmt, Message.id, page, lambda m: message_out(session, m, with_history=history)
    )


@router.get("/messages/{message_id}", response_model=MessageOut, tags=["messages"])
def get_message(message_id: int, tenant: CurrentTenant, session: DbSession) -> MessageOut:
    message = get_scoped(session, Message, message_id, tenant.company_id, "message")
    return message_out(session, message, with_history=True)


def _template_out(
    session: Session, company_id: int, touchpoint: str, channel: str, language: str
) -> TemplateOut:
    source = template_for(
        session, company_id=company_id, touchpoint=touchpoint, channel=channel, language=language
    )
    if source is None:
        raise ValidationFailed(
            "channel", f"{touchpoint} has no {channel} template", code="no_such_template"
        )
    custom = (
        template_admin.find_override(
            session,
            company_id=company_id,
            touchpoint=touchpoint,
            channel=channel,
            language=language,
        )
        is not None
    )
    return TemplateOut(
        touchpoint=touchpoint,
        channel=channel,
        language=language,
        subject=source[0],
        body=source[1],
        customized=custom,
        variables=tpl.VARIABLES,
    )


@router.get("/templates", tags=["templates"])
def list_templates(
    tenant: CurrentTenant, session: DbSession, language: Language = "en"
) -> dict[str, Any]:
    items = [
        _template_out(session, tenant.company_id, t, c, language) for (t, c) in sorted(tpl.DEFAULTS)
    ]
    return {"items": items, "next_cursor": None}


@router.get("/templates/{touchpoint}/{channel}", response_model=TemplateOut, tags=["templates"])
def get_template(
    touchpoint: Touchpoint,
    channel: ChannelName,
    tenant: CurrentTenant,
    session: DbSession,
    language: Language = "en",
) -> TemplateOut:
    return _template_out(session, tenant.company_id, touchpoint, channel, language)


@router.put("/templates/{touchpoint}/{channel}", response_model=TemplateOut, tags=["templates"])
def put_template(
    touchpoint: Touchpoint,
    channel: ChannelName,
    body: TemplateIn,
    tenant: CurrentTenant,
    session: DbSession,
) -> TemplateOut:
    """Save the company's wording; refused (422) if it fails to render on sample data."""
    template_admin.save_template(
        session,
        company_id=tenant.company_id,
        touchpoint=touchpoint,
        channel=channel,
        language=body.language,
        subject=body.subject,
        body=body.body,
    )
    return _template_out(session, tenant.company_id, touchpoint, channel, body.language)


@router.delete("/templates/{touchpoint}/{channel}", status_code=204, tags=["templates"])
def delete_template(
    touchpoint: Touchpoint,
    channel: ChannelName,
    tenant: CurrentTenant,
    session: DbSession,
    language: Language = "en",
) -> Response:
    """Back to the default wording."""
    template_admin.reset_template(
        session,
        company_id=tenant.company_id,
        touchpoint=touchpoint,
        channel=channel,
        language=language,
    )
    return Response(status_code=204)


@router.post(
    "/templates/{touchpoint}/{channel}/preview", response_model=PreviewOut, tags=["templates"]
)
def preview_template(
    touchpoint: Touchpoint,
    channel: ChannelName,
    body: PreviewIn,
    tenant: CurrentTenant,
    session: DbSession,
) -> PreviewOut:
    """Render the saved (or given) template with sample or given data; SMS shows segments."""
    saved = template_for(
        session,
        company_id=tenant.company_id,
        touchpoint=touchpoint,
        channel=channel,
        language=body.language,
    )
    subject = body.subject if body.subject is not None else (saved[0] if saved else None)
    text = body.body if body.body is not None else (saved[1] if saved else None)
    if text is None:
        raise ValidationFailed("body", f"{touchpoint} has no {channel} template; send one")
    out, html = template_admin.preview(
        tenant.company,
        channel=channel,
        subject=subject,
        body=text,
        technician_identity=body.technician_identity,
        data=body.data,
    )
    return PreviewOut(
        subject=out.subject, body=out.body, segments=out.segments, encoding=out.encoding, html=html
    )
