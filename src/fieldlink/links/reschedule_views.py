"""The reschedule link ``/r/{token}``: ask the office to move, discuss or cancel a visit."""

from __future__ import annotations

import re
import secrets
from typing import Any

from babel.dates import format_date, format_time
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.customers.models import Location
from fieldlink.db import utcnow
from fieldlink.jobs.models import Appointment, Job
from fieldlink.links import reschedule
from fieldlink.links.access import open_link
from fieldlink.links.summary import format_when
from fieldlink.messaging.notify import zone_of
from fieldlink.pages import csrf, i18n, render
from fieldlink.pages.i18n import N_
from fieldlink.web.deps import DbSession

router = APIRouter(tags=["pages"], include_in_schema=False)
_NONCE = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")
KIND_LABELS = {
    "reschedule": N_("Move the visit to another day"),
    "call": N_("Please call me to talk about it"),
    "cancel": N_("Cancel the visit"),
}


def _page(
    request: Request,
    session: Session,
    *,
    token: str,
    company: Company,
    appointment: Appointment,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    lang = i18n.choose(request)
    job = session.get(Job, appointment.job_id)
    assert job is not None
    location = session.get(Location, job.location_id) if job.location_id else None
    zone = zone_of(company, location)
    start, end = appointment.window_start.astimezone(zone), appointment.window_end.astimezone(zone)
    now = utcnow()
    requests = [
        (r, format_when(company, r.created_at, lang))
        for r in reschedule.open_requests(session, appointment=appointment)
    ]
    context: dict[str, Any] = {
        "token": token,
        "job": job,
        "appointment": appointment,
        "address": ", ".join(p for p in (location.line1, location.city) if p) if location else "",
        "day": format_date(start.date(), format="full", locale=lang),
        "window": f"{format_time(start, format='short', locale=lang)} – "
        f"{format_time(end, format='short', locale=lang)}",
        "open": reschedule.can_request(appointment, now),
        "requests": requests,
        "kinds": KIND_LABELS,
        "today": now.astimezone(zone).date().isoformat(),
        "errors": errors or {},
        "values": values or {"kind": "reschedule", "dates": ["", "", ""], "time_of_day": "any"},
        "nonce": secrets.token_urlsafe(18),
        "phone": company.business_phone,
        "just_sent": request.query_params.get("sent") == "1",
    }
    return render(request, "links/reschedule.html", context, company=company, status=status)


@router.get("/r/{token}", response_class=HTMLResponse)
def reschedule_link(token: str, request: Request, session: DbSession) -> HTMLResponse:
    company, appointment = open_link(
        session, request, kind="r", token=token, model=Appointment, now=utcnow()
    )
    return _page(request, session, token=token, company=company, appointment=appointment)


@router.post("/r/{token}", response_class=Response, dependencies=[Depends(csrf.verify)])
def request_reschedule(
    token: str,
    request: Request,
    session: DbSession,
    kind: str = Form(""),
    date1: str = Form(""),
    date2: str = Form(""),
    date3: str = Form(""),
    time_of_day: str = Form("any"),
    phone: str = Form(""),
    message: str = Form(""),
    nonce: str = Form(""),
) -> Response:
    now = utcnow()
    company, appointment = open_link(
        session, request, kind="r", token=token, model=Appointment, now=now
    )
    page: dict[str, Any] = dict(token=token, company=company, appointment=appointment)
    values = {
        "kind": kind,
        "dates": [date1[:20], date2[:20], date3[:20]],
        "time_of_day": time_of_day,
        "phone": phone[:60],
        "message": message[:1200],
    }
    if not reschedule.can_request(appointment, now):
        return _page(request, session, **page, status=409, values=values)
    if not _NONCE.match(nonce):
        errors = {
            "form": N_("This form has expired. Please go back, reload the page and try again.")
        }
        return _page(request, session, **page, status=422, errors=errors, values=values)
    job = session.get(Job, appointment.job_id)
    location = session.get(Location, job.location_id) if job and job.location_id else None
    try:
        form = reschedule.parse_request(
            kind=kind,
            dates=[date1, date2, date3],
            time_of_day=time_of_day,
            message=message,
            phone=phone,
            today=now.astimezone(zone_of(company, location)).date(),
        )
    except reschedule.RequestInvalid as exc:
        errors = {exc.field: exc.message}
        return _page(request, session, **page, status=422, errors=errors, values=values)
    try:
        reschedule.request_change(
            session,
            company=company,
            appointment=appointment,
            form=form,
            submission_key=f"r:{appointment.id}:{nonce}",
            ip=request.client.host if request.client else None,
            now=now,
        )
    except reschedule.TooManyRequests:
        errors = {"form": N_("We already have several requests for this visit. Please call us.")}
        return _page(request, session, **page, status=429, errors=errors, values=values)
    return RedirectResponse(f"/r/{token}?sent=1", status_code=303)
