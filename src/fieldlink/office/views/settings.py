"""``/office/settings`` (owners and admins): company profile and brand, sender, phones,
the SMS number (provisioned with an area code), marketing and portal settings, and status
codes with their notification. Every change goes through the services ``/v1`` uses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.responses import Response

from fieldlink.accounts.models import User
from fieldlink.accounts.schemas import (
    CONFIGURABLE_TOUCHPOINTS,
    CompanyPatch,
    CompanySettings,
    PortalSettings,
)
from fieldlink.accounts.service import settings_of, update_company
from fieldlink.db import MAX_ID, get_scoped, utcnow
from fieldlink.errors import FieldlinkError
from fieldlink.jobs.dispatch import notification_of, update_status_code
from fieldlink.jobs.models import StatusCode
from fieldlink.jobs.schemas import StatusCodePatch
from fieldlink.office import labels, logos
from fieldlink.office.web import (
    AdminOnly,
    OfficeRoute,
    PostedForm,
    Staff,
    not_found,
    page,
    settings_of_app,
)
from fieldlink.pages import csrf
from fieldlink.pages.i18n import N_
from fieldlink.sms import provisioning
from fieldlink.web.deps import DbSession

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)
PORTAL_TOGGLES = [name for name, f in PortalSettings.model_fields.items() if f.annotation is bool]
# Sent without anyone choosing recipients, so the company chooses their contact roles here.
AUTOMATIC = ("appointment_confirmation", "review_request")
NOTICES = {
    "saved": N_("Saved."),
    "number_requested": N_("A number is being set up in that area code; it shows here when ready."),
}


def _settings_page(
    request: Request,
    staff: Staff,
    session: DbSession,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    users = list(
        session.scalars(
            select(User)
            .where(User.company_id == staff.company_id, User.active.is_(True))
            .order_by(User.name)
        )
    )
    codes = list(
        session.scalars(
            select(StatusCode)
            .where(StatusCode.company_id == staff.company_id)
            .order_by(StatusCode.id)
        )
    )
    return page(
        request,
        staff,
        "office/settings.html",
        {
            "c": staff.company,
            "s": settings_of(staff.company),
            "users": users,
            "codes": [(code, notification_of(code)) for code in codes],
            "sms": provisioning.number_of(session, company_id=staff.company_id),
            "portal_toggles": PORTAL_TOGGLES,
            "errors": errors or {},
            "form": form or {},
            "notice": NOTICES.get(request.query_params.get("notice") or ""),
            "roles": labels.CONTACT_ROLE,
            "touchpoints": CONFIGURABLE_TOUCHPOINTS,
            "automatic": AUTOMATIC,
        },
        status=status,
    )


@router.get("/office/settings", response_class=HTMLResponse)
def settings_page(request: Request, staff: AdminOnly, session: DbSession) -> HTMLResponse:
    return _settings_page(request, staff, session)


def _errors(exc: ValidationError | FieldlinkError) -> dict[str, str]:
    if isinstance(exc, FieldlinkError):
        return {e["field"]: e["message"] for e in exc.errors} or {"form": exc.detail}
    return {
        ".".join(str(p) for p in e["loc"]): str(e["msg"]).removeprefix("Value error, ")
        for e in exc.errors()
    }


def _opt(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _saved() -> Response:
    return RedirectResponse("/office/settings?notice=saved", status_code=303)


@router.post(
    "/office/settings/company", response_class=Response, dependencies=[Depends(csrf.verify)]
)
def save_company(
    request: Request, staff: AdminOnly, session: DbSession, form: PostedForm
) -> Response:
    poc = _opt(form.get("point_of_contact_user_id"))
    data: dict[str, Any] = {
        "name": _opt(form.get("name")) or "",
        "brand": {
            "logo_url": _opt(form.get("logo_url")),
            "website": _opt(form.get("website")),
            "color": _opt(form.get("color")),
            "remit_to": _opt(form.get("remit_to")),
        },
        "sender": {"email": _opt(form.get("sender_email")), "name": _opt(form.get("sender_name"))},
        "business_phone": _opt(form.get("business_phone")),
        "postal_address": _opt(form.get("postal_address")),
        "point_of_contact_user_id": int(poc)
        if poc and poc.isdigit() and int(poc) <= MAX_ID
        else None,
    }
    try:
        update_company(session, company=staff.company, patch=CompanyPatch.model_validate(data))
    except (ValidationError, FieldlinkError) as exc:
        session.rollback()
        return _settings_page(
            request, staff, session, errors=_errors(exc), form=dict(form), status=422
        )
    return _saved()


@router.post("/office/settings/logo", response_class=Response, dependencies=[Depends(csrf.verify)])
def upload_logo(
    request: Request, staff: AdminOnly, session: DbSession, form: PostedForm
) -> Response:
    upload = form.get("logo")
    data = upload.file.read(logos.MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    try:
        logos.save_logo(
            session,
            company=staff.company,
            data=data,
            base_url=settings_of_app(request).base_url,
            now=utcnow(),
        )
    except FieldlinkError as exc:
        session.rollback()
        return _settings_page(request, staff, session, errors=_errors(exc), status=exc.status)
    return _saved()


@router.get("/office/brand/{company_id}/logo", response_class=Response)
def logo(session: DbSession, company_id: int = Path(ge=1, le=MAX_ID)) -> Response:
    """The uploaded logo, public (customer pages and emails show it)."""
    row = logos.logo_of(session, company_id=company_id)
    if row is None:
        raise not_found()
    return Response(
        row.data,
        media_type=row.content_type,
        headers={
            "Cache-Control": "public, max-age=86400",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


@router.post(
    "/office/settings/marketing", response_class=Response, dependencies=[Depends(csrf.verify)]
)
def save_marketing(
    request: Request, staff: AdminOnly, session: DbSession, form: PostedForm
) -> Response:
    data: dict[str, Any] = {
        "marketing_suite": form.get("marketing_suite") == "on",
        "double_opt_in": form.get("double_opt_in") == "on",
        "dormant_email_suppression": form.get("dormant_email_suppression") == "on",
        "technician_identity": form.get("technician_identity"),
        "quiet_hours": {"start": form.get("quiet_start"), "end": form.get("quiet_end")},
        "portal": {name: form.get(f"portal_{name}") == "on" for name in PORTAL_TOGGLES},
    }
    try:
        settings = CompanySettings.model_validate(
            {
                **settings_of(staff.company).model_dump(),
                **data,
                "portal": {**settings_of(staff.company).portal.model_dump(), **data["portal"]},
            }
        )
        update_company(session, company=staff.company, patch=CompanyPatch(settings=settings))
    except (ValidationError, FieldlinkError) as exc:
        session.rollback()
        return _settings_page(request, staff, session, errors=_errors(exc), status=422)
    return _saved()


@router.post(
    "/office/settings/notifications",
    response_class=Response,
    dependencies=[Depends(csrf.verify)],
)
def save_notifications(
    request: Request, staff: AdminOnly, session: DbSession, form: PostedForm
) -> Response:
    """Per touchpoint: on or off, and by text, email or both (messaging/service.py holds a
    switched-off notice as ``notification_disabled``, so the log says why)."""
    notifications = {
        tp: {
            "enabled": form.get(f"{tp}_enabled") == "on",
            "channels": [c for c in ("sms", "email") if f"{tp}_{c}" in form],
            "contact_roles": [r for r in labels.CONTACT_ROLE if r in form.getlist(f"{tp}_roles")]
            if tp in AUTOMATIC
            else [],
        }
        for tp in CONFIGURABLE_TOUCHPOINTS
    }
    try:
        merged = {**settings_of(staff.company).model_dump(), "notifications": notifications}
        update_company(
            session,
            company=staff.company,
            patch=CompanyPatch(settings=CompanySettings.model_validate(merged)),
        )
    except (ValidationError, FieldlinkError) as exc:
        session.rollback()
        return _settings_page(request, staff, session, errors=_errors(exc), status=422)
    return _saved()


@router.post(
    "/office/settings/sms-number", response_class=Response, dependencies=[Depends(csrf.verify)]
)
def request_sms_number(
    request: Request, staff: AdminOnly, session: DbSession, form: PostedForm
) -> Response:
    """Provision a number in an area code through the provider adapter (an outbox job)."""
    area = _opt(form.get("area_code")) or ""
    try:
        provisioning.request_number(session, company=staff.company, area_code=area, now=utcnow())
    except FieldlinkError as exc:
        session.rollback()
        return _settings_page(
            request,
            staff,
            session,
            errors={"area_code": exc.errors[0]["message"] if exc.errors else exc.detail},
            status=exc.status,
        )
    return RedirectResponse("/office/settings?notice=number_requested", status_code=303)


@router.post(
    "/office/settings/status-codes/{code_id}",
    response_class=Response,
    dependencies=[Depends(csrf.verify)],
)
def save_status_code(
    request: Request,
    staff: AdminOnly,
    session: DbSession,
    form: PostedForm,
    code_id: int = Path(ge=1, le=MAX_ID),
) -> Response:
    code: StatusCode = get_scoped(session, StatusCode, code_id, staff.company_id, "status code")
    data = {
        "notification": {
            "enabled": form.get("enabled") == "on",
            "channels": [c for c in ("sms", "email") if c in form.getlist("channels")],
            "contact_roles": [r for r in labels.CONTACT_ROLE if r in form.getlist("contact_roles")],
        },
        "once_per_appointment": form.get("once_per_appointment") == "on",
    }
    try:
        update_status_code(session, code=code, patch=StatusCodePatch.model_validate(data))
    except (ValidationError, FieldlinkError) as exc:
        session.rollback()
        errors = {f"code-{code_id}": next(iter(_errors(exc).values()))}
        return _settings_page(request, staff, session, errors=errors, status=422)
    return _saved()
