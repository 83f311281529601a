"""Who is looking at a portal page: the company, its portal toggles, the logged-in login
and the customer accounts it may see (its own and, when shown, its sub-customers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from fieldlink.accounts.models import Company
from fieldlink.accounts.schemas import PortalSettings
from fieldlink.accounts.service import settings_of
from fieldlink.config import Settings
from fieldlink.customers.models import Customer
from fieldlink.db import utcnow
from fieldlink.errors import NotFound
from fieldlink.pages import PageError, i18n, render
from fieldlink.pages.i18n import N_
from fieldlink.portal import auth
from fieldlink.portal.models import PortalAccount

COOKIE = "fl_portal"
SECURE_COOKIE = "__Host-fl_portal"  # __Host-: Secure, path=/, no Domain - browsers enforce it


def cookie_name(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return SECURE_COOKIE if settings.base_url.startswith("https://") else COOKIE


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request))


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        cookie_name(request),
        token,
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        secure=cookie_name(request) == SECURE_COOKIE,
        samesite="lax",
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        cookie_name(request),
        path="/",
        secure=cookie_name(request) == SECURE_COOKIE,
        httponly=True,
        samesite="lax",
    )


def portal_company(session: Session, company_code: str) -> tuple[Company, PortalSettings]:
    """The company by its code, when its portal is switched on (else a 404 page)."""
    code = company_code.strip().lower()
    company = (
        session.scalar(select(Company).where(Company.company_code == code))
        if 0 < len(code) <= 40
        else None
    )
    if company is None:
        raise NotFound("no such portal")
    portal = settings_of(company).portal
    if not portal.enabled:
        raise NotFound("no such portal")
    return company, portal


def brand_only(company: Company) -> Company:
    """A detached copy carrying only what brands a page: an error page is rendered after
    the request's transaction rolled back, when the loaded row can no longer be read."""
    return Company(
        id=company.id,
        name=company.name,
        company_code=company.company_code,
        logo_url=company.logo_url,
        website=company.website,
        brand_color=company.brand_color,
    )


@dataclass
class Portal:
    """A logged-in customer's view of the portal."""

    request: Request
    session: Session
    company: Company
    settings: PortalSettings
    account: PortalAccount
    customer: Customer
    sub_customers: list[Customer]

    @property
    def customer_ids(self) -> list[int]:
        """Every account this login may see: its own and (when shown) its sub-customers."""
        return [self.customer.id, *(c.id for c in self.sub_customers)]

    @property
    def base(self) -> str:
        return f"/portal/{self.company.company_code}"

    def require(self, feature: str) -> None:
        """A switched-off feature is not there at all, also when called directly."""
        if not getattr(self.settings, feature):
            raise PageError(404, N_("This page is not available."), title=N_("Page not found"))

    def page(self, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
        return render(
            self.request,
            template,
            {**common_context(self.company, self.settings), "portal": self, **context},
            company=self.company,
            status=status,
            lang=language(self.request, self.settings, self.account),
        )


def common_context(company: Company, settings: PortalSettings) -> dict[str, Any]:
    return {
        "base": f"/portal/{company.company_code}",
        "toggles": settings,
        "show_language_switch": settings.translation,
        "hidden_columns": set(settings.hidden_columns),
    }


def language(request: Request, settings: PortalSettings, account: PortalAccount | None) -> str:
    """The customer's language: the page toggle, the toggle's cookie, the choice saved on
    their login, then the browser's Accept-Language."""
    if settings.translation:
        chosen = i18n.normalise(request.query_params.get("lang")) or i18n.normalise(
            request.cookies.get(i18n.LANG_COOKIE)
        )
        if chosen:
            return chosen
        if account is not None and account.language:
            return account.language
    return i18n.from_accept_language(request.headers.get("accept-language")) or "en"


def remember_language(request: Request, settings: PortalSettings, account: PortalAccount) -> None:
    """Save the language the customer picked with the toggle on their login, so another
    device opens in it. Called from the login and logout POSTs: a GET changes nothing."""
    chosen = i18n.normalise(request.cookies.get(i18n.LANG_COOKIE))
    if settings.translation and chosen and account.language != chosen:
        account.language = chosen


def load(request: Request, session: Session, company_code: str) -> Portal | None:
    """The logged-in customer for this company's portal, or None (not logged in)."""
    company, settings = portal_company(session, company_code)
    request.state.page_company = brand_only(company)
    account = auth.session_account(
        session, company=company, token=session_token(request), now=utcnow()
    )
    if account is None or account.customer_id is None:
        return None
    customer = session.get(Customer, account.customer_id)
    if customer is None or customer.company_id != company.id:
        return None
    subs: list[Customer] = []
    if settings.show_sub_customers:
        subs = list(
            session.scalars(
                select(Customer)
                .where(Customer.company_id == company.id, Customer.parent_id == customer.id)
                .order_by(Customer.name, Customer.id)
            )
        )
    return Portal(request, session, company, settings, account, customer, subs)


def require_login(
    request: Request, session: Session, company_code: str, feature: str | None = None
) -> Portal | Response:
    """The logged-in portal, or a redirect to the login page."""
    portal = load(request, session, company_code)
    if portal is None:
        company, _ = portal_company(session, company_code)
        return RedirectResponse(f"/portal/{company.company_code}/login", status_code=303)
    if feature is not None:
        portal.require(feature)
    return portal
