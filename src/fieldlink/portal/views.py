"""Portal pages, part one: log in, log out and ask for a login (``/portal/{company_code}/``).

The feature pages are in ``pages.py`` and the portal's JSON in ``json_views.py``; this
router includes both so ``app.py`` registers one router.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from fieldlink.db import utcnow
from fieldlink.errors import FieldlinkError
from fieldlink.pages import csrf, render
from fieldlink.portal import accounts, auth, context, requests
from fieldlink.portal.json_views import router as json_router
from fieldlink.portal.pages import router as pages_router
from fieldlink.portal.pay_views import router as pay_router
from fieldlink.validation import normalise_email, normalise_phone
from fieldlink.web.deps import DbSession

router = APIRouter(tags=["portal pages"], include_in_schema=False)
CSRF = [Depends(csrf.verify)]

# What each login outcome answers: HTTP status (the page's text is in login.html).
LOGIN_STATUS = {"invalid": 401, "locked": 429, "throttled": 429, "pending": 403}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def form_text(request: Request, name: str, limit: int = 2000) -> str:
    value = (await request.form()).get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _public_page(
    request: Request,
    session: DbSession,
    company_code: str,
    template: str,
    values: dict[str, object],
    *,
    status: int = 200,
) -> HTMLResponse:
    company, settings = context.portal_company(session, company_code)
    return render(
        request,
        template,
        {**context.common_context(company, settings), **values},
        company=company,
        status=status,
        lang=context.language(request, settings, None),
    )


@router.get("/portal", response_model=None)
@router.get("/portal/", response_model=None)
def portal_entry(request: Request, session: DbSession) -> Response:
    """Where a customer types the company ID the business gave them."""
    typed = (request.query_params.get("company_code") or "").strip().lower()[:40]
    unknown = False
    if typed:
        try:
            company, _ = context.portal_company(session, typed)
        except FieldlinkError:
            unknown = True
        else:
            return RedirectResponse(f"/portal/{company.company_code}/login", status_code=303)
    return render(
        request,
        "portal/entry.html",
        {"typed": typed, "unknown": unknown},
        status=404 if unknown else 200,
    )


@router.get("/portal/{company_code}", response_model=None)
@router.get("/portal/{company_code}/", response_model=None)
def portal_home(company_code: str, request: Request, session: DbSession) -> Response:
    portal = context.load(request, session, company_code)
    company, _ = context.portal_company(session, company_code)
    target = "dashboard" if portal is not None else "login"
    return RedirectResponse(f"/portal/{company.company_code}/{target}", status_code=303)


@router.get("/portal/{company_code}/login", response_model=None)
def login_page(company_code: str, request: Request, session: DbSession) -> Response:
    if context.load(request, session, company_code) is not None:
        company, _ = context.portal_company(session, company_code)
        return RedirectResponse(f"/portal/{company.company_code}/dashboard", status_code=303)
    return _public_page(
        request,
        session,
        company_code,
        "portal/login.html",
        {
            "error": None,
            "login_id": "",
            "logged_out": request.query_params.get("bye") == "1",
        },
    )


@router.post("/portal/{company_code}/login", dependencies=CSRF, response_model=None)
async def login_submit(company_code: str, request: Request, session: DbSession) -> Response:
    company, settings = context.portal_company(session, company_code)
    login_id = await form_text(request, "login_id", 80)
    password = (await request.form()).get("password")
    password = password[: auth.MAX_PASSWORD + 1] if isinstance(password, str) else ""
    result = auth.log_in(
        session,
        company=company,
        login_id=login_id,
        password=password,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        previous_token=context.session_token(request),
        now=utcnow(),
    )
    if result.outcome != "ok" or result.token is None:
        return _public_page(
            request,
            session,
            company_code,
            "portal/login.html",
            {"error": result.outcome, "login_id": login_id, "logged_out": False},
            status=LOGIN_STATUS.get(result.outcome, 401),
        )
    assert result.account is not None
    context.remember_language(request, settings, result.account)
    response = RedirectResponse(f"/portal/{company.company_code}/dashboard", status_code=303)
    context.set_session_cookie(request, response, result.token)
    return response


@router.post("/portal/{company_code}/logout", dependencies=CSRF, response_model=None)
def logout(company_code: str, request: Request, session: DbSession) -> Response:
    company, _ = context.portal_company(session, company_code)
    portal = context.load(request, session, company_code)
    if portal is not None:
        context.remember_language(request, portal.settings, portal.account)
    token = context.session_token(request)
    if token:
        auth.end_session(session, token=token)
    response = RedirectResponse(f"/portal/{company.company_code}/login?bye=1", status_code=303)
    context.clear_session_cookie(request, response)
    return response


REQUEST_FIELDS = ("name", "email", "phone", "address", "note", "login_id")


@router.get("/portal/{company_code}/request-account", response_model=None)
def request_account_page(company_code: str, request: Request, session: DbSession) -> Response:
    return _public_page(
        request,
        session,
        company_code,
        "portal/request_account.html",
        {"errors": {}, "values": dict.fromkeys(REQUEST_FIELDS, ""), "sent": False},
    )


@router.post("/portal/{company_code}/request-account", dependencies=CSRF, response_model=None)
async def request_account_submit(
    company_code: str, request: Request, session: DbSession
) -> Response:
    company, _ = context.portal_company(session, company_code)
    values = {name: await form_text(request, name) for name in REQUEST_FIELDS}
    raw_password = (await request.form()).get("password")
    # Kept exactly as typed (spaces included), as the login form checks it.
    password = raw_password[: auth.MAX_PASSWORD + 1] if isinstance(raw_password, str) else ""
    errors: dict[str, str] = {}
    status = 422
    if not values["name"]:
        errors["name"] = "required"
    try:
        values["email"] = normalise_email(values["email"])
    except ValueError:
        errors["email"] = "email"
    if values["phone"]:
        try:
            values["phone"] = normalise_phone(values["phone"])
        except ValueError:
            errors["phone"] = "phone"
    if not errors:
        try:
            account = accounts.request_login(
                session,
                company=company,
                name=values["name"][:200],
                email=values["email"],
                phone=values["phone"] or None,
                address=values["address"] or None,
                note=values["note"] or None,
                login_id=values["login_id"],
                password=password,
                ip=client_ip(request),
                now=utcnow(),
            )
        except FieldlinkError as exc:
            session.rollback()
            field = exc.errors[0]["field"] if exc.errors else "form"
            errors[field] = exc.code
            status = exc.status
        else:
            requests.notify_account_request(session, company=company, account=account, now=utcnow())
            return RedirectResponse(
                f"/portal/{company.company_code}/request-account/sent", status_code=303
            )
    return _public_page(
        request,
        session,
        company_code,
        "portal/request_account.html",
        {"errors": errors, "values": values, "sent": False},
        status=status,
    )


@router.get("/portal/{company_code}/request-account/sent", response_model=None)
def request_account_sent(company_code: str, request: Request, session: DbSession) -> Response:
    return _public_page(
        request,
        session,
        company_code,
        "portal/request_account.html",
        {"errors": {}, "values": dict.fromkeys(REQUEST_FIELDS, ""), "sent": True},
    )


router.include_router(pages_router)
router.include_router(pay_router)
router.include_router(json_router)
