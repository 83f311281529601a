"""``/office/customers``: search, and one customer's page with consent and messages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from fieldlink.customers.models import ContactMethod, Customer
from fieldlink.customers.queries import list_customers
from fieldlink.db import MAX_ID, get_scoped, utcnow
from fieldlink.errors import FieldlinkError
from fieldlink.office import queries
from fieldlink.office.customer_page import customer_page
from fieldlink.office.web import OfficeOnly, OfficeRoute, page
from fieldlink.pages import csrf
from fieldlink.pages.i18n import N_
from fieldlink.sms import optins
from fieldlink.web.deps import DbSession
from fieldlink.web.pagination import Page, decode_cursor

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)

NOTICES = {
    "opt_in_sent": N_("Opt-in request sent. The number is asked to reply YES."),
    "opt_in_held": N_("The opt-in request was not sent; see the message log for why."),
    "opt_in_refused": N_("An opt-in request cannot be sent to this number now."),
    "opt_in_limited": N_("Too many opt-in requests today. Please try again tomorrow."),
    "opt_in_pending": N_("This number has not answered the last request; it is not asked again."),
}


@router.get("/office/customers", response_class=HTMLResponse)
def customer_list(request: Request, staff: OfficeOnly, session: DbSession) -> HTMLResponse:
    q = (request.query_params.get("q") or "").strip()[:200]
    cursor = request.query_params.get("cursor")
    try:
        after = decode_cursor(cursor) if cursor else 0
    except FieldlinkError:
        after = 0
    result = list_customers(
        session,
        company_id=staff.company_id,
        page=Page(limit=50, after_id=after),
        q=q or None,
        region=staff.company.country,
    )
    return page(
        request,
        staff,
        "office/customers.html",
        {"q": q, "customers": result["items"], "next_cursor": result["next_cursor"]},
    )


CustomerId = Path(ge=1, le=MAX_ID)


@router.get("/office/customers/{customer_id}", response_class=HTMLResponse)
def customer_detail_page(
    request: Request, staff: OfficeOnly, session: DbSession, customer_id: int = CustomerId
) -> HTMLResponse:
    customer: Customer = get_scoped(session, Customer, customer_id, staff.company_id, "customer")
    data = customer_page(session, company=staff.company, customer=customer)
    notice = NOTICES.get(request.query_params.get("notice") or "")
    return page(
        request,
        staff,
        "office/customer.html",
        {
            "c": data,
            "notice": notice,
            "reason_text": queries.reason_text,
            "zone": queries.zone(staff.company),
        },
    )


@router.post(
    "/office/customers/{customer_id}/methods/{method_id}/opt-in-request",
    response_class=Response,
    dependencies=[Depends(csrf.verify)],
)
def send_opt_in_request(
    staff: OfficeOnly,
    session: DbSession,
    customer_id: int = CustomerId,
    method_id: int = Path(ge=1, le=MAX_ID),
) -> Response:
    """Text the mobile asking it to reply YES (sms/optins.py, as the API does)."""
    method: ContactMethod = get_scoped(
        session, ContactMethod, method_id, staff.company_id, "contact method"
    )
    if method.customer_id != customer_id:
        raise FieldlinkError("method of another customer")  # a forged form; 400 page
    notice = "opt_in_sent"
    try:
        request_row = optins.request_for_method(
            session,
            company=staff.company,
            method=method,
            actor=f"office user {staff.user.id} ({staff.user.name})",
            now=utcnow(),
        )
        if request_row.status != "pending":
            notice = "opt_in_held"
    except FieldlinkError as exc:
        session.rollback()
        notice = {409: "opt_in_pending", 429: "opt_in_limited"}.get(exc.status, "opt_in_refused")
    return RedirectResponse(
        f"/office/customers/{customer_id}?notice={notice}#method-{method_id}", status_code=303
    )
