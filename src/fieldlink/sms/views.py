"""Public marketing-SMS opt-in page and its embeddable form: ``/opt-in/{company_code}``.

The form only makes us text the typed number asking it to reply YES; nothing changes
until the number itself answers (double opt-in). It is rate-limited (``optins.py``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import company_by_code
from fieldlink.config import Settings
from fieldlink.db import utcnow
from fieldlink.errors import FieldlinkError
from fieldlink.sms import optins, rules
from fieldlink.web.deps import DbSession

router = APIRouter(tags=["pages"], include_in_schema=False)
_PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)


def _render(
    request: Request,
    company: Company,
    *,
    embed: bool,
    status: int = 200,
    error: str | None = None,
    phone: str = "",
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    page = _PAGES.get_template("opt_in.html").render(
        company=company,
        embed=embed,
        sent=request.query_params.get("sent") == "1",
        error=error,
        phone=phone,
        disclosure=rules.web_form_disclosure(company.name),
        action=f"/opt-in/{company.company_code}" + ("/embed" if embed else ""),
        embed_url=f"{settings.base_url}/opt-in/{company.company_code}/embed",
    )
    headers = {} if embed else {"X-Frame-Options": "DENY"}
    return HTMLResponse(page, status_code=status, headers=headers)


@router.get("/opt-in/{company_code}", response_class=HTMLResponse)
def opt_in_page(company_code: str, request: Request, session: DbSession) -> HTMLResponse:
    return _render(request, company_by_code(session, company_code), embed=False)


@router.get("/opt-in/{company_code}/embed", response_class=HTMLResponse)
def opt_in_embed(company_code: str, request: Request, session: DbSession) -> HTMLResponse:
    """The bare form, for an ``<iframe>`` on the company's own website."""
    return _render(request, company_by_code(session, company_code), embed=True)


@router.post("/opt-in/{company_code}", response_class=Response)
def opt_in_submit(
    company_code: str, request: Request, session: DbSession, phone: str = Form("", max_length=40)
) -> Response:
    return _submit(company_code, request, session, phone, embed=False)


@router.post("/opt-in/{company_code}/embed", response_class=Response)
def opt_in_embed_submit(
    company_code: str, request: Request, session: DbSession, phone: str = Form("", max_length=40)
) -> Response:
    return _submit(company_code, request, session, phone, embed=True)


def _submit(
    company_code: str, request: Request, session: DbSession, phone: str, *, embed: bool
) -> Response:
    company = company_by_code(session, company_code)
    try:
        optins.request_from_web(
            session,
            company=company,
            phone=phone,
            ip=request.client.host if request.client else None,
            now=utcnow(),
        )
    except FieldlinkError as exc:
        session.rollback()
        message = exc.errors[0]["message"] if exc.errors else exc.detail
        return _render(request, company, embed=embed, status=exc.status, error=message, phone=phone)
    path = f"/opt-in/{company.company_code}" + ("/embed" if embed else "")
    return RedirectResponse(f"{path}?sent=1", status_code=303)
