"""``/office/``: the dashboard for the office; technicians go straight to their day."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from fieldlink.office.web import OfficeRoute, StaffOnly

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)


@router.get("/office", response_class=Response)
@router.get("/office/", response_class=Response)
def home(request: Request, staff: StaffOnly) -> Response:
    if not staff.is_office:
        return RedirectResponse("/office/today", status_code=303)
    return RedirectResponse("/office/appointments", status_code=303)
