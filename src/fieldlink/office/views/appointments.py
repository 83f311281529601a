"""``/office/appointments``: the filtered appointment list and bulk service reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from starlette.datastructures import FormData, ImmutableMultiDict

from fieldlink.accounts.models import Company
from fieldlink.db import MAX_ID, utcnow
from fieldlink.errors import ValidationFailed
from fieldlink.jobs.models import APPOINTMENT_STATUSES
from fieldlink.messaging import triggers
from fieldlink.messaging.notify import NotifyResult
from fieldlink.office import queries
from fieldlink.office.web import OfficeOnly, OfficeRoute, PostedForm, links_for, page
from fieldlink.pages import csrf
from fieldlink.pages.i18n import N_, choose, gettext_for
from fieldlink.web.deps import DbSession

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)

CONTACT_ROLES = (
    ("owner", N_("Owner")),
    ("scheduling", N_("Scheduling")),
    ("site", N_("Site")),
    ("financial", N_("Financial")),
    ("other", N_("Other")),
)
STATUS_LABELS = {
    "scheduled": N_("Scheduled"),
    "in_progress": N_("In progress"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
}


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    status: str
    technician_id: int | None
    errors: dict[str, str]

    def query(self) -> dict[str, str]:
        out = {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "status": self.status,
        }
        if self.technician_id is not None:
            out["technician_id"] = str(self.technician_id)
        return out


def _date(raw: str | None, default: date, field: str, errors: dict[str, str]) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        errors[field] = N_("Use a date like 2026-03-02.")
        return default


def parse_filters(params: ImmutableMultiDict[str, str] | FormData, company: Company) -> Filters:
    """Filters from the query string or the bulk form; bad values fall back, with a note."""
    errors: dict[str, str] = {}
    today = queries.today(company, utcnow())
    first = _date(_text(params.get("date_from")), today, "date_from", errors)
    last = _date(_text(params.get("date_to")), first + timedelta(days=1), "date_to", errors)
    if last < first:
        errors["date_to"] = N_("The end date is before the start date.")
        last = first
    if last - first > timedelta(days=366):
        errors["date_to"] = N_("Choose at most a year at a time.")
        last = first + timedelta(days=366)
    status = _text(params.get("status")) or ""
    if status not in ("", *APPOINTMENT_STATUSES):
        errors["status"] = N_("Choose a status from the list.")
        status = ""
    tech_raw = _text(params.get("technician_id")) or ""
    technician_id = int(tech_raw) if tech_raw.isdigit() and 0 < int(tech_raw) <= MAX_ID else None
    if tech_raw and technician_id is None:
        errors["technician_id"] = N_("Choose a technician from the list.")
    return Filters(first, last, status, technician_id, errors)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _render(
    request: Request,
    staff: OfficeOnly,
    session: DbSession,
    filters: Filters,
    *,
    result: NotifyResult | None = None,
    result_appointments: int = 0,
    form_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    start, end = queries.local_day_bounds(staff.company, filters.date_from, filters.date_to)
    stmt = triggers.appointments_query(
        company_id=staff.company_id,
        start=start,
        end=end,
        status=filters.status or None,
        technician_id=filters.technician_id,
    )
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = queries.appointment_rows(session, staff.company, stmt, limit=queries.LIST_LIMIT)
    suppressed = sorted((result.suppressed if result else {}).items(), key=lambda kv: -kv[1])
    return page(
        request,
        staff,
        "office/appointments.html",
        {
            "filters": filters,
            "rows": rows,
            "total": total or 0,
            "limit": queries.LIST_LIMIT,
            "technicians": queries.technicians(session, staff.company_id),
            "statuses": STATUS_LABELS,
            "roles": CONTACT_ROLES,
            "result": result,
            "result_appointments": result_appointments,
            "suppressed": [(code, n, queries.reason_text(code)) for code, n in suppressed],
            "form_error": form_error,
        },
        status=status,
    )


@router.get("/office/appointments", response_class=HTMLResponse)
def appointment_list(request: Request, staff: OfficeOnly, session: DbSession) -> HTMLResponse:
    filters = parse_filters(request.query_params, staff.company)
    return _render(request, staff, session, filters, status=422 if filters.errors else 200)


@router.post(
    "/office/appointments/reminders",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf.verify)],
)
def bulk_reminders(
    request: Request, staff: OfficeOnly, session: DbSession, form: PostedForm
) -> HTMLResponse:
    """Send service reminders to the chosen contact roles of the selected rows, or of every
    appointment of the filter, through the same service as ``POST /v1/reminders``."""
    _ = gettext_for(choose(request))
    filters = parse_filters(form, staff.company)
    roles = [r for r in form.getlist("contact_roles") if r in dict(CONTACT_ROLES)]
    channels = tuple(c for c in ("sms", "email") if c in form.getlist("channels"))
    ids = [int(v) for v in form.getlist("appointment_ids") if isinstance(v, str) and v.isdigit()]
    scope = form.get("scope")
    error = None
    if filters.errors:
        error = _("Fix the filter first.")
    elif not roles:
        error = _("Choose at least one contact role.")
    elif not channels:
        error = _("Choose text, email or both.")
    elif scope != "filter" and not ids:
        error = _("Select appointments, or choose every appointment of the filter.")
    if error:
        return _render(request, staff, session, filters, form_error=error, status=422)
    start, end = queries.local_day_bounds(staff.company, filters.date_from, filters.date_to)
    try:
        result, count = triggers.remind_appointments(
            session,
            company=staff.company,
            start=start,
            end=end,
            status=filters.status or None,
            technician_id=filters.technician_id,
            appointment_ids=None if scope == "filter" else ids[: triggers.MAX_BULK],
            roles=roles,
            channels=channels,
            links=links_for(request),
            now=utcnow(),
        )
    except ValidationFailed:
        return _render(
            request,
            staff,
            session,
            filters,
            form_error=_("That is more than 5000 appointments; narrow the dates."),
            status=422,
        )
    return _render(request, staff, session, filters, result=result, result_appointments=count)
