"""What every office page shares: who is signed in, what their role allows, the layout.

Pages use ``StaffOnly``/``OfficeOnly``/``AdminOnly`` as a dependency. Without a valid
session the browser is sent to the sign-in page (``LoginRequired``, turned into a redirect
by :class:`OfficeRoute`); a role that may not open a page gets the friendly 403 page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.responses import Response

from fieldlink.accounts.models import Company, User
from fieldlink.config import Settings
from fieldlink.db import utcnow
from fieldlink.links.tokens import LinkMaker
from fieldlink.office import auth, labels
from fieldlink.office.labels import label
from fieldlink.pages.errors import PageError
from fieldlink.pages.i18n import N_
from fieldlink.pages.render import render
from fieldlink.web.deps import DbSession

OFFICE_ROLES = frozenset({"owner", "admin", "dispatcher"})
ADMIN_ROLES = frozenset({"owner", "admin"})


class LoginRequired(Exception):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class OfficeRoute(APIRoute):
    """Turns :class:`LoginRequired` into a redirect to the sign-in page (for htmx, the
    ``HX-Redirect`` header, so a fragment request does not paste a login form in place)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired as exc:
                if request.headers.get("hx-request"):
                    return Response(status_code=204, headers={"HX-Redirect": exc.location})
                return RedirectResponse(exc.location, status_code=303)

        return handler


def settings_of_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def cookie_name(settings: Settings) -> str:
    # __Host- cookies are only accepted over https, for path=/ and with no Domain.
    return "__Host-fl_staff" if settings.base_url.startswith("https://") else "fl_staff"


def set_session_cookie(request: Request, response: Response, raw: str) -> None:
    settings = settings_of_app(request)
    response.set_cookie(
        cookie_name(settings),
        raw,
        max_age=int(auth.SESSION_MAX.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    settings = settings_of_app(request)
    response.delete_cookie(
        cookie_name(settings),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(settings_of_app(request)))


@dataclass(frozen=True)
class Staff:
    """The signed-in user and their company: every query of a page is scoped by it."""

    user: User
    company: Company

    @property
    def company_id(self) -> int:
        return self.company.id

    @property
    def is_office(self) -> bool:
        return self.user.role in OFFICE_ROLES

    @property
    def is_admin(self) -> bool:
        return self.user.role in ADMIN_ROLES


def _staff(request: Request, session: DbSession) -> Staff:
    raw = session_token(request)
    found = auth.session_user(session, raw=raw, now=utcnow()) if raw else None
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(f"/office/login?next={quote(target, safe='')}")
    user, company = found
    # A detached copy brands an error page rendered after the request's unit of work has
    # been rolled back and closed (a 403 or 404 raised later in the request).
    request.state.page_company = Company(
        **{c.key: getattr(company, c.key) for c in Company.__table__.columns}
    )
    return Staff(user=user, company=company)


def _office(staff: Annotated[Staff, Depends(_staff)]) -> Staff:
    if not staff.is_office:
        raise PageError(403, N_("Your role cannot open this page."), title=N_("Not allowed"))
    return staff


def _admin(staff: Annotated[Staff, Depends(_staff)]) -> Staff:
    if not staff.is_admin:
        raise PageError(
            403, N_("Only owners and admins can change settings."), title=N_("Not allowed")
        )
    return staff


StaffOnly = Annotated[Staff, Depends(_staff)]
OfficeOnly = Annotated[Staff, Depends(_office)]
AdminOnly = Annotated[Staff, Depends(_admin)]


async def _form(request: Request) -> FormData:
    # Read (and cache) the form on the event loop, so handlers can be plain functions that
    # FastAPI runs in its thread pool: database work never blocks other requests' polling.
    return await request.form()


PostedForm = Annotated[FormData, Depends(_form)]


def links_for(request: Request) -> LinkMaker:
    settings = settings_of_app(request)
    return LinkMaker(base_url=settings.base_url, secret=settings.secret_key.get_secret_value())


NAV: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("/office/", N_("Dashboard"), OFFICE_ROLES),
    ("/office/appointments", N_("Appointments"), OFFICE_ROLES),
    ("/office/customers", N_("Customers"), OFFICE_ROLES),
    ("/office/inbox", N_("Inbox"), OFFICE_ROLES | {"technician"}),
    ("/office/messages", N_("Message log"), OFFICE_ROLES),
    ("/office/today", N_("My day"), frozenset({"technician", "owner", "admin", "dispatcher"})),
    ("/office/settings", N_("Settings"), ADMIN_ROLES),
)


def page(
    request: Request,
    staff: Staff,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """Render an office page with the navigation the user's role allows."""
    nav = [(href, label) for href, label, roles in NAV if staff.user.role in roles]
    return render(
        request,
        template,
        {"staff": staff, "nav": nav, "labels": labels, "label": label, **(context or {})},
        company=staff.company,
        status=status,
    )


def not_found() -> PageError:
    return PageError(404, N_("We could not find that page."))
