"""Customer-facing campaign pages: unsubscribe (``/u/{token}``), email opt-in confirmation
(``/o/{token}``), and the tracking endpoints (``/t/o/{token}`` pixel, ``/t/c/{token}``
click redirect). No API key and no cookies: the signed token is the authority.

GET never changes anything (mail scanners fetch links): the unsubscribe and opt-in pages
ask for a button press, which POSTs. RFC 8058's one-click POST from a mail client is the
same POST.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.campaigns import engagement
from fieldlink.campaigns.tracking import valid_click
from fieldlink.config import Settings
from fieldlink.customers.models import ContactMethod
from fieldlink.db import MAX_ID, utcnow
from fieldlink.links.tokens import read_token
from fieldlink.messaging.models import Message
from fieldlink.pages.i18n import choose, gettext_for
from fieldlink.pages.render import render
from fieldlink.web.deps import DbSession

router = APIRouter(tags=["pages"], include_in_schema=False)
# A 1×1 transparent GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _page(
    request: Request,
    company: Company | None,
    title: str,
    lines: list[str],
    *,
    status: int = 200,
    action: str | None = None,
    button: str = "",
    done: bool = False,
) -> HTMLResponse:
    return render(
        request,
        "campaigns/page.html",
        {
            "title": title,
            "lines": lines,
            "action": action,
            "button": button,
            "done": done,
            "postal_address": company.postal_address if company else None,
        },
        company=company,
        status=status,
    )


def _texts(request: Request) -> Callable[[str], str]:
    return gettext_for(choose(request))


def _expired(request: Request) -> HTMLResponse:
    _ = _texts(request)
    return _page(
        request,
        None,
        _("This link doesn't work"),
        [
            _(
                "The link is incomplete or has expired. Reply to the email, or contact the "
                "company, and they will take care of it."
            )
        ],
        status=404,
    )


def _secret(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.secret_key.get_secret_value()


def _message(session: Session, request: Request, token: str, kind: str) -> Message | None:
    claim = read_token(_secret(request), token, kind=kind, now=utcnow())
    if claim is None or not 0 < claim.object_id <= MAX_ID:
        return None
    message = session.get(Message, claim.object_id)
    if message is None or message.company_id != claim.company_id:
        return None
    return message


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, request: Request, session: DbSession) -> HTMLResponse:
    message = _message(session, request, token, "u")
    if message is None or message.channel != "email":
        return _expired(request)
    company = session.get(Company, message.company_id)
    _ = _texts(request)
    names = {"email": message.to or "", "company": company.name if company else ""}
    if engagement.is_unsubscribed(session, message=message):
        return _page(
            request,
            company,
            _("You're unsubscribed"),
            [_("%(email)s gets no marketing emails from %(company)s.") % names],
            done=True,
        )
    return _page(
        request,
        company,
        _("Unsubscribe from marketing emails?"),
        [
            _(
                "%(email)s will get no more offers or news by email from %(company)s. "
                "Messages about your appointments and invoices still come."
            )
            % names
        ],
        action=f"/u/{token}",
        button=_("Unsubscribe"),
    )


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe(
    token: str,
    request: Request,
    session: DbSession,
    list_unsubscribe: str | None = Form(None, alias="List-Unsubscribe", max_length=100),
) -> HTMLResponse:
    """The button on the page, or a mail client's RFC 8058 one-click POST (body
    ``List-Unsubscribe=One-Click``); both unsubscribe at once."""
    message = _message(session, request, token, "u")
    if message is None or message.channel != "email":
        return _expired(request)
    one_click = (list_unsubscribe or "").strip().lower() == "one-click"
    engagement.unsubscribe_by_link(session, message=message, one_click=one_click, now=utcnow())
    company = session.get(Company, message.company_id)
    _ = _texts(request)
    names = {"email": message.to or "", "company": company.name if company else ""}
    return _page(
        request,
        company,
        _("You're unsubscribed"),
        [
            _("%(email)s will get no more marketing emails from %(company)s. It takes effect now.")
            % names
        ],
        done=True,
    )


def _method(session: Session, request: Request, token: str) -> ContactMethod | None:
    claim = read_token(_secret(request), token, kind="o", now=utcnow())
    if claim is None or not 0 < claim.object_id <= MAX_ID:
        return None
    method = session.get(ContactMethod, claim.object_id)
    if method is None or method.company_id != claim.company_id or method.kind != "email":
        return None
    return method


@router.get("/o/{token}", response_class=HTMLResponse)
def opt_in_page(token: str, request: Request, session: DbSession) -> HTMLResponse:
    method = _method(session, request, token)
    if method is None:
        return _expired(request)
    company = session.get(Company, method.company_id)
    _ = _texts(request)
    names = {"email": method.value, "company": company.name if company else ""}
    return _page(
        request,
        company,
        _("Get offers and news from %(company)s by email?") % names,
        [
            _(
                "Confirm that %(email)s may receive marketing email from %(company)s. "
                "Every email has a link to unsubscribe."
            )
            % names
        ],
        action=f"/o/{token}",
        button=_("Yes, subscribe me"),
    )


@router.post("/o/{token}", response_class=HTMLResponse)
def opt_in_confirm(token: str, request: Request, session: DbSession) -> HTMLResponse:
    method = _method(session, request, token)
    if method is None:
        return _expired(request)
    engagement.confirm_email_opt_in(session, method=method, now=utcnow())
    company = session.get(Company, method.company_id)
    _ = _texts(request)
    return _page(
        request,
        company,
        _("Thank you — you're subscribed"),
        [_("%(email)s is confirmed.") % {"email": method.value}],
        done=True,
    )


@router.get("/t/o/{token}")
def open_pixel(token: str, request: Request, session: DbSession) -> Response:
    """The open pixel: always the image (a bad token too), an open recorded if valid."""
    message = _message(session, request, token, "t")
    if message is not None:
        engagement.record_engagement(session, message=message, kind="open", url=None, now=utcnow())
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/t/c/{token}", response_model=None)
def click(
    token: str,
    request: Request,
    session: DbSession,
    url: str = Query("", max_length=4000),
    sig: str = Query("", max_length=64),
) -> Response:
    """Record the click and redirect to the link's target — only to the URL signed for
    this message, so the endpoint is no open redirect."""
    if not url.startswith(("https://", "http://")) or not valid_click(
        _secret(request), token, url, sig
    ):
        return _expired(request)
    message = _message(session, request, token, "t")
    if message is not None:
        engagement.record_engagement(session, message=message, kind="click", url=url, now=utcnow())
    return RedirectResponse(url, status_code=302, headers=NO_STORE)
