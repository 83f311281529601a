"""``/office/``: the dashboard for the office; technicians go straight to their day."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from fieldlink.db import utcnow
from fieldlink.office.dashboard import STATUS_ORDER, dashboard
from fieldlink.office.web import OfficeRoute, StaffOnly, page
from fieldlink.web.deps import DbSession

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)


@router.get("/office", response_class=Response)
@router.get("/office/", response_class=Response)
def home(request: Request, staff: StaffOnly, session: DbSession) -> Response:
    """Messages per day by status, delivery rate, opt-outs and reviews asked (14 days)."""
    if not staff.is_office:
        return RedirectResponse("/office/today", status_code=303)
    data = dashboard(session, company=staff.company, now=utcnow())
    return page(
        request,
        staff,
        "office/dashboard.html",
        {"d": data, "statuses": STATUS_ORDER},
    )
