"""Sign in, sign out and password reset for staff (``/office/login`` & co.)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from fieldlink.db import utcnow
from fieldlink.errors import ValidationFailed
from fieldlink.office import auth
from fieldlink.office.models import PasswordReset
from fieldlink.office.web import (
    OfficeRoute,
    clear_session_cookie,
    session_token,
    set_session_cookie,
    settings_of_app,
)
from fieldlink.pages import csrf
from fieldlink.pages.errors import PageError
from fieldlink.pages.i18n import N_, choose, gettext_for
from fieldlink.pages.render import render
from fieldlink.web.deps import DbSession

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)


def _safe_next(value: str | None) -> str:
    """Only a path inside the office: never an open redirect to another site."""
    if value and value.startswith("/office") and not value.startswith("//") and "\\" not in value:
        return value
    return "/office/"


def _login_page(request: Request, *, status: int = 200, **context: object) -> HTMLResponse:
    base: dict[str, object] = {
        "staff": None,
        "nav": [],
        "error": None,
        "notice": None,
        "email": "",
        "next": _safe_next(request.query_params.get("next")),
        "ask_company": False,
        "company_code": "",
    }
    base.update(context)
    return render(request, "office/login.html", base, status=status)


@router.get("/office/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    _ = gettext_for(choose(request))
    notice = (
        _("Your password is changed. Please sign in.")
        if request.query_params.get("reset")
        else None
    )
    return _login_page(request, notice=notice)


@router.post("/office/login", response_class=Response, dependencies=[Depends(csrf.verify)])
def login_submit(
    request: Request,
    session: DbSession,
    email: str = Form("", max_length=320),
    password: str = Form("", max_length=1000),
    company_code: str = Form("", max_length=40),
    next: str = Form("/office/", max_length=2000),
) -> Response:
    _ = gettext_for(choose(request))
    outcome = auth.login(
        session,
        email=email,
        password=password,
        company_code=company_code or None,
        ip=request.client.host if request.client else None,
        now=utcnow(),
    )
    if outcome.user is None:
        messages = {
            "locked": (429, _("Too many attempts. Please wait 15 minutes and try again.")),
            "choose_company": (422, _("Please type your company code.")),
            "invalid": (401, _("That email and password do not match an office account.")),
        }
        status, message = messages[outcome.error or "invalid"]
        return _login_page(
            request,
            status=status,
            error=message,
            email=email,
            next=_safe_next(next),
            ask_company=outcome.error == "choose_company" or bool(company_code),
            company_code=company_code,
        )
    raw = auth.start_session(
        session, user=outcome.user, now=utcnow(), replacing=session_token(request)
    )
    target = _safe_next(next)
    if outcome.user.role == "technician" and target == "/office/":
        target = "/office/today"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, raw)
    return response


@router.post("/office/logout", response_class=Response, dependencies=[Depends(csrf.verify)])
def logout(request: Request, session: DbSession) -> Response:
    raw = session_token(request)
    if raw:
        auth.end_session(session, raw=raw)
    response = RedirectResponse("/office/login", status_code=303)
    clear_session_cookie(request, response)
    return response


@router.get("/office/password-reset", response_class=HTMLResponse)
def reset_request_page(request: Request) -> HTMLResponse:
    return render(
        request,
        "office/reset_request.html",
        {"staff": None, "nav": [], "sent": request.query_params.get("sent") == "1"},
    )


@router.post("/office/password-reset", response_class=Response, dependencies=[Depends(csrf.verify)])
def reset_request_submit(
    request: Request, session: DbSession, email: str = Form("", max_length=320)
) -> Response:
    auth.request_password_reset(
        session, email=email, base_url=settings_of_app(request).base_url, now=utcnow()
    )
    # The same answer whether or not the address has an account.
    return RedirectResponse("/office/password-reset?sent=1", status_code=303)


def _reset_or_404(session: DbSession, token: str) -> PasswordReset:
    reset = auth.reset_for_token(session, raw=token, now=utcnow())
    if reset is None:
        raise PageError(
            404,
            N_("This reset link has expired or was already used. Please ask for a new one."),
            title=N_("Link expired"),
        )
    return reset


@router.get("/office/password-reset/{token}", response_class=HTMLResponse)
def reset_form(token: str, request: Request, session: DbSession) -> HTMLResponse:
    _reset_or_404(session, token)
    return render(request, "office/reset_form.html", {"staff": None, "nav": [], "error": None})


@router.post(
    "/office/password-reset/{token}",
    response_class=Response,
    dependencies=[Depends(csrf.verify)],
)
def reset_submit(
    token: str, request: Request, session: DbSession, password: str = Form("", max_length=1000)
) -> Response:
    _ = gettext_for(choose(request))
    reset = _reset_or_404(session, token)
    try:
        auth.complete_password_reset(session, reset=reset, password=password, now=utcnow())
    except ValidationFailed:
        return render(
            request,
            "office/reset_form.html",
            {"staff": None, "nav": [], "error": _("Use at least 10 characters.")},
            status=422,
        )
    return RedirectResponse("/office/login?reset=1", status_code=303)
