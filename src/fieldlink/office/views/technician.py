"""``/office/today``: the technician's phone-sized day — today's visits, "on my way" with
an ETA to the contacts they pick, status codes, and sending the service link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Exists, exists, select

from fieldlink.customers.models import Contact, ContactMethod, Location
from fieldlink.db import MAX_ID, utcnow
from fieldlink.errors import FieldlinkError
from fieldlink.jobs.models import Appointment, AppointmentTechnician, Job, StatusCode
from fieldlink.jobs.service import get_job_of
from fieldlink.messaging import documents, triggers
from fieldlink.messaging.audience import usable
from fieldlink.messaging.notify import NotifyResult, zone_of
from fieldlink.office import queries
from fieldlink.office.web import (
    OfficeRoute,
    PostedForm,
    Staff,
    StaffOnly,
    links_for,
    not_found,
    page,
)
from fieldlink.pages import csrf
from fieldlink.pages.i18n import N_, choose, gettext_for
from fieldlink.web.deps import DbSession

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)
AppointmentId = Path(ge=1, le=MAX_ID)


def _mine(staff: Staff) -> Exists:
    return exists().where(
        AppointmentTechnician.appointment_id == Appointment.id,
        AppointmentTechnician.user_id == staff.user.id,
    )


@router.get("/office/today", response_class=HTMLResponse)
def my_day(request: Request, staff: StaffOnly, session: DbSession) -> HTMLResponse:
    day = queries.today(staff.company, utcnow())
    start, end = queries.local_day_bounds(staff.company, day, day)
    stmt = triggers.appointments_query(
        company_id=staff.company_id,
        start=start,
        end=end,
        status=None,
        technician_id=staff.user.id,
    )
    rows = queries.appointment_rows(session, staff.company, stmt, limit=50)
    locations = _locations(session, [r.job.location_id for r in rows])
    return page(
        request,
        staff,
        "office/today.html",
        {"rows": rows, "day": day, "locations": locations},
    )


def _locations(session: DbSession, ids: list[int | None]) -> dict[int, Location]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {loc.id: loc for loc in session.scalars(select(Location).where(Location.id.in_(wanted)))}


def _appointment(session: DbSession, staff: Staff, appointment_id: int) -> Appointment:
    """One of the user's own appointments (anyone else's answers 404)."""
    found = session.scalar(
        select(Appointment).where(
            Appointment.id == appointment_id,
            Appointment.company_id == staff.company_id,
            _mine(staff),
        )
    )
    if found is None:
        raise not_found()
    return found


def _render_visit(
    request: Request,
    staff: Staff,
    session: DbSession,
    appointment: Appointment,
    *,
    result: NotifyResult | None = None,
    result_title: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    row = queries.appointment_rows(
        session, staff.company, select(Appointment).where(Appointment.id == appointment.id), limit=1
    )[0]
    location = session.get(Location, row.job.location_id) if row.job.location_id else None
    contacts = list(
        session.scalars(
            select(Contact).where(Contact.customer_id == row.customer.id).order_by(Contact.id)
        )
    )
    methods = list(
        session.scalars(
            select(ContactMethod)
            .where(ContactMethod.customer_id == row.customer.id)
            .order_by(ContactMethod.id)
        )
    )
    reachable = [
        {
            "contact": c,
            "methods": [m for m in methods if m.contact_id == c.id and usable(m)],
        }
        for c in contacts
    ]
    codes = list(
        session.scalars(
            select(StatusCode)
            .where(StatusCode.company_id == staff.company_id)
            .order_by(StatusCode.id)
        )
    )
    zone = zone_of(staff.company, location)
    suggested = (utcnow() + timedelta(minutes=20)).astimezone(zone).strftime("%H:%M")
    suppressed = sorted((result.suppressed if result else {}).items(), key=lambda kv: -kv[1])
    return page(
        request,
        staff,
        "office/visit.html",
        {
            "row": row,
            "location": location,
            "contacts": reachable,
            "codes": codes,
            "suggested_eta": suggested,
            "result": result,
            "result_title": result_title,
            "suppressed": [(code, n, queries.reason_text(code)) for code, n in suppressed],
            "error": error,
        },
        status=status,
    )


@router.get("/office/today/{appointment_id}", response_class=HTMLResponse)
def visit(
    request: Request,
    staff: StaffOnly,
    session: DbSession,
    appointment_id: int = AppointmentId,
) -> HTMLResponse:
    return _render_visit(request, staff, session, _appointment(session, staff, appointment_id))


def _contact_ids(form: object) -> list[int]:
    values = form.getlist("contact_ids")  # type: ignore[attr-defined]
    return [int(v) for v in values if isinstance(v, str) and v.isdigit() and int(v) <= MAX_ID]


@router.post(
    "/office/today/{appointment_id}/en-route",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf.verify)],
)
def en_route(
    request: Request,
    staff: StaffOnly,
    session: DbSession,
    form: PostedForm,
    appointment_id: int = AppointmentId,
) -> HTMLResponse:
    """On my way: the same service as ``POST /v1/appointments/{id}/en-route``."""
    _ = gettext_for(choose(request))
    appointment = _appointment(session, staff, appointment_id)
    contact_ids = _contact_ids(form)
    eta_raw = form.get("eta")
    eta = None
    if isinstance(eta_raw, str) and eta_raw.strip():
        try:
            clock = time.fromisoformat(eta_raw.strip())
        except ValueError:
            return _render_visit(
                request,
                staff,
                session,
                appointment,
                error=_("Type the ETA like 09:40."),
                status=422,
            )
        location = session.get(Location, _job_location(session, appointment))
        zone = zone_of(staff.company, location)
        today = utcnow().astimezone(zone).date()
        eta = datetime.combine(today, clock, tzinfo=zone)
    if not contact_ids:
        return _render_visit(
            request, staff, session, appointment, error=_("Pick who to tell."), status=422
        )
    try:
        result = triggers.mark_en_route(
            session,
            company=staff.company,
            appointment=appointment,
            technician_id=staff.user.id,
            eta=eta,
            contact_ids=contact_ids,
            links=links_for(request),
            now=utcnow(),
        )
    except FieldlinkError as exc:
        session.rollback()
        return _render_visit(
            request, staff, session, appointment, error=_error_text(_, exc), status=exc.status
        )
    return _render_visit(
        request, staff, session, appointment, result=result, result_title=N_("On my way sent")
    )


def _job_location(session: DbSession, appointment: Appointment) -> int | None:
    job = session.get(Job, appointment.job_id)
    return job.location_id if job else None


def _error_text(gettext: Callable[[str], str], exc: FieldlinkError) -> str:
    """A domain error as a sentence for the technician, in their language."""
    field = exc.errors[0]["field"] if exc.errors else ""
    messages = {
        "eta": N_("That ETA has already passed."),
        "contact_ids": N_("Pick only contacts with a mobile number or an email address."),
    }
    text = messages.get(field) or {
        "appointment_cancelled": N_("This appointment was cancelled."),
    }.get(exc.code, N_("That did not work. Please reload and try again."))
    return gettext(text)


@router.post(
    "/office/today/{appointment_id}/status",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf.verify)],
)
def apply_status(
    request: Request,
    staff: StaffOnly,
    session: DbSession,
    form: PostedForm,
    appointment_id: int = AppointmentId,
) -> HTMLResponse:
    _ = gettext_for(choose(request))
    appointment = _appointment(session, staff, appointment_id)
    raw = form.get("status_code_id")
    if not (isinstance(raw, str) and raw.isdigit() and 0 < int(raw) <= MAX_ID):
        return _render_visit(
            request, staff, session, appointment, error=_("Choose a status."), status=422
        )
    try:
        _event, _code, result = triggers.apply_status_code(
            session,
            company=staff.company,
            appointment=appointment,
            technician_id=staff.user.id,
            status_code_id=int(raw),
            source="technician",
            links=links_for(request),
            now=utcnow(),
        )
    except FieldlinkError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _render_visit(
            request, staff, session, appointment, error=_error_text(_, exc), status=exc.status
        )
    return _render_visit(
        request, staff, session, appointment, result=result, result_title=N_("Status saved")
    )


@router.post(
    "/office/today/{appointment_id}/service-link",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf.verify)],
)
def service_link(
    request: Request,
    staff: StaffOnly,
    session: DbSession,
    form: PostedForm,
    appointment_id: int = AppointmentId,
) -> HTMLResponse:
    _ = gettext_for(choose(request))
    appointment = _appointment(session, staff, appointment_id)
    contact_ids = _contact_ids(form)
    if not contact_ids:
        return _render_visit(
            request, staff, session, appointment, error=_("Pick who to send it to."), status=422
        )
    try:
        result = documents.send_service_link(
            session,
            company=staff.company,
            job=get_job_of(session, appointment=appointment),
            contact_ids=contact_ids,
            roles=[],
            links=links_for(request),
            now=utcnow(),
        )
    except FieldlinkError as exc:
        session.rollback()
        return _render_visit(
            request, staff, session, appointment, error=_error_text(_, exc), status=exc.status
        )
    return _render_visit(
        request, staff, session, appointment, result=result, result_title=N_("Service link sent")
    )
