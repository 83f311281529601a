"""Portal pages for a logged-in customer. Each page checks its toggle (a switched-off
feature answers 404 even when its address is typed) and reads only through the login's
customer ids (another customer's id answers 404)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.datastructures import UploadFile
from starlette.responses import Response

from fieldlink.config import Settings
from fieldlink.db import utcnow
from fieldlink.errors import FieldlinkError, NotFound
from fieldlink.jobs.models import SCHEDULE_TYPES, Invoice, Job
from fieldlink.pages import PageError, csrf
from fieldlink.pages.i18n import N_
from fieldlink.portal import queries, requests, uploads
from fieldlink.portal.context import Portal, require_login
from fieldlink.portal.models import PortalUpload
from fieldlink.web.deps import DbSession

router = APIRouter(tags=["portal pages"], include_in_schema=False)
CSRF = [Depends(csrf.verify)]
P = "/portal/{company_code}"
JOB_STATUSES = ("open", "scheduled", "in_progress", "completed", "cancelled")


def parse_int(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit() or len(value.strip()) > 10:
        return None
    number = int(value)
    return number if 0 < number <= 2**31 - 1 else None


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None


def company_today(portal: Portal) -> date:
    """Today in the company's time zone (in UTC, a New York evening is already tomorrow)."""
    return utcnow().astimezone(ZoneInfo(portal.company.time_zone)).date()


def local_date(portal: Portal, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(portal.company.time_zone)).date().isoformat()


def page_number(request: Request) -> int:
    return min(parse_int(request.query_params.get("page")) or 1, 10_000)


def pager(request: Request, more: bool) -> dict[str, str | None]:
    """Links to the newer and older pages, keeping the filters."""
    page = page_number(request)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]

    def link(number: int) -> str:
        return "?" + urlencode([*params, ("page", str(number))])

    return {
        "newer_url": link(page - 1) if page > 1 else None,
        "older_url": link(page + 1) if more else None,
    }


def helpers(portal: Portal) -> dict[str, Any]:
    return {
        "money": queries.money,
        "address": queries.address,
        "day": lambda moment: local_date(portal, moment),
    }


@router.get(P + "/dashboard", response_model=None)
def dashboard(company_code: str, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code)
    if not isinstance(portal, Portal):
        return portal
    s = portal.settings
    return portal.page(
        "portal/dashboard.html",
        {
            **helpers(portal),
            "due": queries.open_invoices(portal),
            "service_locations": queries.locations(portal, "service")
            if s.show_service_address
            else [],
            "pickup_locations": queries.locations(portal, "pickup")
            if s.show_pickup_address
            else [],
            "cards": queries.payment_methods(portal) if s.payment_methods else [],
            "recent_requests": queries.service_requests(portal) if s.can_create_job else [],
            "requested": request.query_params.get("requested") == "1",
        },
    )


# --- service request -------------------------------------------------------------------


def _request_form(portal: Portal, values: dict[str, Any], errors: dict[str, str]) -> Response:
    return portal.page(
        "portal/service_request.html",
        {
            **helpers(portal),
            "service_locations": queries.locations(portal, "service"),
            "values": values,
            "errors": errors,
            "schedule_types": SCHEDULE_TYPES,
            "accounts": [portal.customer, *portal.sub_customers],
        },
        status=422 if errors else 200,
    )


@router.get(P + "/service-request", response_model=None)
def service_request_page(company_code: str, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "can_create_job")
    if not isinstance(portal, Portal):
        return portal
    values = {
        "customer_id": portal.customer.id,
        "location_id": None,
        "new_address": "",
        "job_type": "",
        "preferred_date": "",
        "schedule_type": "",
        "description": "",
        "sub_customer": portal.settings.sub_customer_checked,
    }
    return _request_form(portal, values, {})


@router.post(P + "/service-request", dependencies=CSRF, response_model=None)
async def service_request_submit(
    company_code: str, request: Request, session: DbSession
) -> Response:
    portal = require_login(request, session, company_code, "can_create_job")
    if not isinstance(portal, Portal):
        return portal
    form = await request.form()

    def text(name: str, limit: int = 2000) -> str:
        value = form.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    s = portal.settings
    errors: dict[str, str] = {}
    customer_id = parse_int(text("customer_id")) or portal.customer.id
    if customer_id not in portal.customer_ids:
        raise NotFound("customer not found")
    location_id = parse_int(text("location_id"))
    location = None
    if location_id is not None:
        location = next(
            (loc for loc in queries.locations(portal, "service") if loc.id == location_id), None
        )
        if location is None:
            raise NotFound("location not found")
        customer_id = location.customer_id
    new_address = text("new_address", 500) if s.new_address_field else ""
    if location is None and not new_address:
        errors["location_id"] = "required"
    job_type = text("job_type", 100) if s.job_type_selector else ""
    if job_type and s.job_types and job_type not in s.job_types:
        errors["job_type"] = "choice"
    preferred = parse_date(text("preferred_date")) if s.show_schedule_date else None
    if s.show_schedule_date and text("preferred_date") and preferred is None:
        errors["preferred_date"] = "date"
    elif preferred is not None and preferred < company_today(portal):
        errors["preferred_date"] = "past"
    schedule_type = text("schedule_type") if s.show_schedule_type else ""
    if schedule_type and schedule_type not in SCHEDULE_TYPES:
        errors["schedule_type"] = "choice"
    description = text("description", 5000)
    if not description:
        errors["description"] = "required"
    sub_customer = bool(text("sub_customer")) if s.show_sub_customers else False
    if errors:
        values = {
            "customer_id": customer_id,
            "location_id": location_id,
            "new_address": new_address,
            "job_type": job_type,
            "preferred_date": text("preferred_date"),
            "schedule_type": schedule_type,
            "description": description,
            "sub_customer": sub_customer,
        }
        return _request_form(portal, values, errors)
    requests.request_service(
        session,
        company=portal.company,
        account=portal.account,
        data=requests.ServiceRequestIn(
            customer_id=customer_id,
            location_id=location.id if location else None,
            new_address=new_address or None,
            job_type=job_type or None,
            preferred_date=preferred,
            schedule_type=schedule_type or None,
            description=description,
            sub_customer=sub_customer,
        ),
        now=utcnow(),
    )
    return RedirectResponse(f"{portal.base}/dashboard?requested=1", status_code=303)


# --- history ---------------------------------------------------------------------------


def history_filter(portal: Portal, request: Request) -> queries.HistoryFilter:
    q = request.query_params
    status = q.get("status") or None
    return queries.HistoryFilter(
        customer_id=parse_int(q.get("customer_id")),
        location_id=parse_int(q.get("location_id")),
        status=status if status in JOB_STATUSES else None,
        date_from=parse_date(q.get("date_from")),
        date_to=parse_date(q.get("date_to")),
        q=(q.get("q") or "").strip()[:100] or None,
        page=page_number(request),
    )


@router.get(P + "/history", response_model=None)
def history(company_code: str, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "service_history")
    if not isinstance(portal, Portal):
        return portal
    f = history_filter(portal, request)
    rows, more = queries.service_history(portal, f)
    return portal.page(
        "portal/history.html",
        {
            **helpers(portal),
            "rows": rows,
            **pager(request, more),
            "f": f,
            "statuses": JOB_STATUSES,
            "service_locations": queries.locations(portal, "service"),
            "accounts": [portal.customer, *portal.sub_customers],
        },
    )


@router.get(P + "/history/{job_id}", response_model=None)
def job_detail(company_code: str, job_id: int, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "service_history")
    if not isinstance(portal, Portal):
        return portal
    job: Job = queries.one_of(portal, Job, job_id, "job")
    row = queries.history_row(portal, job)
    return portal.page(
        "portal/job.html",
        {
            **helpers(portal),
            "row": row,
            "job_uploads": [u for u in queries.uploads(portal) if u.job_id == job.id]
            if portal.settings.allow_uploads
            else [],
        },
    )


@router.get(P + "/invoices/{invoice_id}", response_model=None)
def invoice_view(
    company_code: str, invoice_id: int, request: Request, session: DbSession
) -> Response:
    portal = require_login(request, session, company_code)
    if not isinstance(portal, Portal):
        return portal
    invoice: Invoice = queries.one_of(portal, Invoice, invoice_id, "invoice")
    # An invoice is shown from the history it belongs to: service jobs or sales.
    portal.require("service_history" if invoice.job_id is not None else "sales_history")
    if invoice.status not in queries.VISIBLE_INVOICE_STATUSES:
        raise NotFound("invoice not found")
    return portal.page(
        "portal/invoice.html",
        {**helpers(portal), "invoice": invoice, "payments": queries.paid_on(portal, invoice)},
    )


@router.get(P + "/sales", response_model=None)
def sales(company_code: str, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "sales_history")
    if not isinstance(portal, Portal):
        return portal
    page = page_number(request)
    rows, more = queries.sales_history(portal, page)
    return portal.page(
        "portal/sales.html", {**helpers(portal), "rows": rows, **pager(request, more)}
    )


@router.get(P + "/payments", response_model=None)
def payments(company_code: str, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "payment_history")
    if not isinstance(portal, Portal):
        return portal
    q = request.query_params
    with_filter = portal.settings.payment_history_date_filter
    date_from = parse_date(q.get("date_from")) if with_filter else None
    date_to = parse_date(q.get("date_to")) if with_filter else None
    page = page_number(request)
    rows, more = queries.payment_history(portal, date_from=date_from, date_to=date_to, page=page)
    return portal.page(
        "portal/payments.html",
        {
            **helpers(portal),
            "rows": rows,
            **pager(request, more),
            "date_from": date_from.isoformat() if date_from else "",
            "date_to": date_to.isoformat() if date_to else "",
        },
    )


# --- uploads ---------------------------------------------------------------------------


def _uploads_page(portal: Portal, error: str | None, *, status: int = 200) -> Response:
    settings: Settings = portal.request.app.state.settings
    return portal.page(
        "portal/uploads.html",
        {
            **helpers(portal),
            "files": queries.uploads(portal),
            "jobs": [row.job for row in queries.service_history(portal, queries.HistoryFilter())[0]]
            if portal.settings.service_history
            else [],
            "error": error,
            "max_mb": settings.upload_max_bytes // (1024 * 1024),
            "uploaded": portal.request.query_params.get("uploaded") == "1",
        },
        status=status,
    )


@router.get(P + "/uploads", response_model=None)
def uploads_page(company_code: str, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "allow_uploads")
    if not isinstance(portal, Portal):
        return portal
    return _uploads_page(portal, None)


def upload_size_guard(request: Request) -> None:
    """Refuse an oversized upload from its Content-Length, before the body is spooled."""
    settings: Settings = request.app.state.settings
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise PageError(411, N_("Please choose the file again and resend the form."))
    if int(length) > settings.upload_max_bytes + 64 * 1024:
        raise PageError(413, N_("That file is too large."), title=N_("That file is too large"))


@router.post(
    P + "/uploads",
    dependencies=[Depends(upload_size_guard), *CSRF],
    response_model=None,
)
async def upload_submit(company_code: str, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "allow_uploads")
    if not isinstance(portal, Portal):
        return portal
    settings: Settings = request.app.state.settings
    form = await request.form()
    file = form.get("file")
    note = form.get("note")
    job_id = parse_int(str(form.get("job_id") or ""))
    if job_id is not None:
        queries.one_of(portal, Job, job_id, "job")
    if not isinstance(file, UploadFile):
        return _uploads_page(portal, "file_missing", status=422)
    try:
        uploads.save_upload(
            session,
            upload_dir=settings.upload_dir,
            max_bytes=settings.upload_max_bytes,
            company_id=portal.company.id,
            customer_id=portal.customer.id,
            account_id=portal.account.id,
            job_id=job_id,
            filename=file.filename,
            stream=file.file,
            note=note.strip()[:1000] or None if isinstance(note, str) else None,
            now=utcnow(),
        )
    except FieldlinkError as exc:
        return _uploads_page(portal, exc.code, status=exc.status)
    return RedirectResponse(f"{portal.base}/uploads?uploaded=1", status_code=303)


@router.get(P + "/uploads/{upload_id}", response_model=None)
def upload_download(
    company_code: str, upload_id: int, request: Request, session: DbSession
) -> Response:
    portal = require_login(request, session, company_code, "allow_uploads")
    if not isinstance(portal, Portal):
        return portal
    upload: PortalUpload = queries.one_of(portal, PortalUpload, upload_id, "upload")
    settings: Settings = request.app.state.settings
    path = uploads.storage_path(settings.upload_dir, upload.company_id, upload.storage_key)
    if not path.is_file():
        raise NotFound("upload not found")
    inline = upload.content_type in uploads.INLINE_TYPES
    return FileResponse(
        path,
        media_type=upload.content_type,
        filename=upload.filename,
        content_disposition_type="inline" if inline else "attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "no-store",
        },
    )


# --- sub-customers ---------------------------------------------------------------------


@router.get(P + "/sub-customers", response_model=None)
def sub_customers(company_code: str, request: Request, session: DbSession) -> Response:
    portal = require_login(request, session, company_code, "show_sub_customers")
    if not isinstance(portal, Portal):
        return portal
    return portal.page("portal/sub_customers.html", {**helpers(portal)})
