"""``/office/messages``: every intended message with its outcome, and "why not sent"."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from fieldlink.customers.models import Customer
from fieldlink.db import MAX_ID, get_scoped
from fieldlink.messaging.api import message_out
from fieldlink.messaging.models import Message
from fieldlink.office import labels, queries
from fieldlink.office.web import OfficeOnly, OfficeRoute, page
from fieldlink.web.deps import DbSession

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)
PAGE_SIZE = 50
# Bodies that carry a secret (a password-reset link) are never shown, even to the office.
SECRET_TOUCHPOINTS = frozenset({"staff_password_reset", "staff_invite"})


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) <= MAX_ID else None


@router.get("/office/messages", response_class=HTMLResponse)
def message_log(request: Request, staff: OfficeOnly, session: DbSession) -> HTMLResponse:
    params = request.query_params
    chosen = {
        "status": params.get("status") if params.get("status") in labels.MESSAGE_STATUS else "",
        "channel": params.get("channel") if params.get("channel") in labels.CHANNEL else "",
        "touchpoint": params.get("touchpoint")
        if params.get("touchpoint") in labels.TOUCHPOINT
        else "",
    }
    customer_id = _int(params.get("customer_id"))
    before = _int(params.get("before"))
    stmt = select(Message).where(Message.company_id == staff.company_id)
    for column, value in (
        (Message.status, chosen["status"]),
        (Message.channel, chosen["channel"]),
        (Message.touchpoint, chosen["touchpoint"]),
    ):
        if value:
            stmt = stmt.where(column == value)
    if customer_id is not None:
        stmt = stmt.where(Message.customer_id == customer_id)
    if before is not None:
        stmt = stmt.where(Message.id < before)
    rows = list(session.scalars(stmt.order_by(Message.id.desc()).limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    customers = {
        c.id: c.name
        for c in session.scalars(
            select(Customer).where(
                Customer.company_id == staff.company_id,
                Customer.id.in_({m.customer_id for m in rows if m.customer_id}),
            )
        )
    }
    query = {k: v for k, v in chosen.items() if v}
    if customer_id is not None:
        query["customer_id"] = str(customer_id)
    return page(
        request,
        staff,
        "office/messages.html",
        {
            "messages": rows,
            "customers": customers,
            "chosen": chosen,
            "customer_id": customer_id,
            "query": query,
            "next_before": rows[-1].id if more and rows else None,
            "reason_text": queries.reason_text,
            "zone": queries.zone(staff.company),
        },
    )


@router.get("/office/messages/{message_id}", response_class=HTMLResponse)
def message_detail(
    request: Request,
    staff: OfficeOnly,
    session: DbSession,
    message_id: int = Path(ge=1, le=MAX_ID),
) -> HTMLResponse:
    """The message with its reasons and every status it went through (the API's view)."""
    message = get_scoped(session, Message, message_id, staff.company_id, "message")
    out = message_out(session, message, with_history=True)
    if out.touchpoint in SECRET_TOUCHPOINTS:
        out.body = ""
    customer = (
        session.get(Customer, message.customer_id) if message.customer_id is not None else None
    )
    return page(
        request,
        staff,
        "office/message.html",
        {
            "m": out,
            "customer": customer,
            "secret": out.touchpoint in SECRET_TOUCHPOINTS,
            "reason_text": queries.reason_text,
            "zone": queries.zone(staff.company),
        },
    )
