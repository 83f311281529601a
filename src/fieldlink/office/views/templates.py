"""``/office/settings/templates``: the wording of every touchpoint × channel, edited with a
live preview on sample data (SMS segment count), saved only if it renders, reset to default.
The same use cases as ``/v1/templates`` (messaging/template_admin.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from fieldlink.errors import ValidationFailed
from fieldlink.messaging import template_admin
from fieldlink.messaging import templates as tpl
from fieldlink.messaging.service import template_for
from fieldlink.office.web import AdminOnly, OfficeRoute, Staff, not_found, page
from fieldlink.pages import csrf
from fieldlink.web.deps import DbSession

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)
STAFF_ONLY = frozenset({"staff_password_reset", "staff_invite"})  # not customer wording
LANGUAGES = ("en", "es")


def editable() -> list[tuple[str, str]]:
    return sorted(k for k in tpl.DEFAULTS if k[0] not in STAFF_ONLY)


def _check(touchpoint: str, channel: str, language: str) -> None:
    if (touchpoint, channel) not in editable() or language not in LANGUAGES:
        raise not_found()


def _language(request: Request) -> str:
    chosen = request.query_params.get("language") or "en"
    return chosen if chosen in LANGUAGES else "en"


@router.get("/office/settings/templates", response_class=HTMLResponse)
def template_list(request: Request, staff: AdminOnly, session: DbSession) -> HTMLResponse:
    language = _language(request)
    rows = []
    for touchpoint, channel in editable():
        custom = template_admin.find_override(
            session,
            company_id=staff.company_id,
            touchpoint=touchpoint,
            channel=channel,
            language=language,
        )
        rows.append({"touchpoint": touchpoint, "channel": channel, "custom": custom is not None})
    return page(request, staff, "office/templates.html", {"rows": rows, "language": language})


def _editor(
    request: Request,
    staff: Staff,
    session: DbSession,
    touchpoint: str,
    channel: str,
    language: str,
    *,
    subject: str | None = None,
    body: str | None = None,
    error: str | None = None,
    saved: bool = False,
    status: int = 200,
) -> HTMLResponse:
    source = template_for(
        session,
        company_id=staff.company_id,
        touchpoint=touchpoint,
        channel=channel,
        language=language,
    )
    assert source is not None
    custom = template_admin.find_override(
        session,
        company_id=staff.company_id,
        touchpoint=touchpoint,
        channel=channel,
        language=language,
    )
    subject = source[0] if subject is None else subject
    body = source[1] if body is None else body
    return page(
        request,
        staff,
        "office/template_edit.html",
        {
            "touchpoint": touchpoint,
            "channel": channel,
            "language": language,
            "subject": subject or "",
            "body": body,
            "custom": custom is not None,
            "variables": tpl.VARIABLES,
            "error": error,
            "saved": saved,
            "preview": _preview(staff, channel, subject, body),
        },
        status=status,
    )


def _preview(staff: Staff, channel: str, subject: str | None, body: str) -> dict[str, object]:
    try:
        out, _html = template_admin.preview(
            staff.company, channel=channel, subject=subject, body=body
        )
    except ValidationFailed as exc:
        return {"error": exc.errors[0]["message"] if exc.errors else exc.detail}
    return {
        "subject": out.subject,
        "body": out.body,
        "segments": out.segments,
        "encoding": out.encoding,
        "error": None,
    }


@router.get("/office/settings/templates/{touchpoint}/{channel}", response_class=HTMLResponse)
def template_edit(
    touchpoint: str, channel: str, request: Request, staff: AdminOnly, session: DbSession
) -> HTMLResponse:
    language = _language(request)
    _check(touchpoint, channel, language)
    return _editor(
        request,
        staff,
        session,
        touchpoint,
        channel,
        language,
        saved=request.query_params.get("saved") == "1",
    )


@router.post(
    "/office/settings/templates/{touchpoint}/{channel}/preview",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf.verify)],
)
def template_preview(
    touchpoint: str,
    channel: str,
    request: Request,
    staff: AdminOnly,
    subject: str = Form("", max_length=1000),
    body: str = Form("", max_length=tpl.MAX_TEMPLATE_CHARS),
    language: str = Form("en", max_length=5),
) -> HTMLResponse:
    """The preview fragment (htmx posts the form as it is typed)."""
    _check(touchpoint, channel, language)
    return page(
        request,
        staff,
        "office/_preview.html",
        {"channel": channel, "preview": _preview(staff, channel, subject or None, body)},
    )


@router.post(
    "/office/settings/templates/{touchpoint}/{channel}",
    response_class=Response,
    dependencies=[Depends(csrf.verify)],
)
def template_save(
    touchpoint: str,
    channel: str,
    request: Request,
    staff: AdminOnly,
    session: DbSession,
    subject: str = Form("", max_length=1000),
    body: str = Form("", max_length=tpl.MAX_TEMPLATE_CHARS),
    language: str = Form("en", max_length=5),
) -> Response:
    _check(touchpoint, channel, language)
    try:
        template_admin.save_template(
            session,
            company_id=staff.company_id,
            touchpoint=touchpoint,
            channel=channel,
            language=language,
            subject=subject.strip() or None,
            body=body,
        )
    except ValidationFailed as exc:
        session.rollback()
        message = exc.errors[0]["message"] if exc.errors else exc.detail
        return _editor(
            request,
            staff,
            session,
            touchpoint,
            channel,
            language,
            subject=subject,
            body=body,
            error=message,
            status=422,
        )
    return RedirectResponse(
        f"/office/settings/templates/{touchpoint}/{channel}?language={language}&saved=1",
        status_code=303,
    )


@router.post(
    "/office/settings/templates/{touchpoint}/{channel}/reset",
    response_class=Response,
    dependencies=[Depends(csrf.verify)],
)
def template_reset(
    touchpoint: str,
    channel: str,
    staff: AdminOnly,
    session: DbSession,
    language: str = Form("en", max_length=5),
) -> Response:
    _check(touchpoint, channel, language)
    template_admin.reset_template(
        session,
        company_id=staff.company_id,
        touchpoint=touchpoint,
        channel=channel,
        language=language,
    )
    return RedirectResponse(
        f"/office/settings/templates/{touchpoint}/{channel}?language={language}", status_code=303
    )
