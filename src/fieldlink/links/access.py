"""Opening a link: the token must be ours, unexpired, of this page's kind, and name an object
of the company it was made for. Anything else is the same friendly 404 page, never data."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from starlette.requests import Request

from fieldlink.accounts.models import Company
from fieldlink.config import Settings
from fieldlink.db import MAX_ID
from fieldlink.links.tokens import LinkMaker, read_token
from fieldlink.pages import PageError
from fieldlink.pages.i18n import N_

T = TypeVar("T")


def not_found() -> PageError:
    return PageError(
        404,
        N_("This link is not valid or has expired."),
        title=N_("Link not found"),
    )


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def links_of(request: Request) -> LinkMaker:
    settings = settings_of(request)
    return LinkMaker(base_url=settings.base_url, secret=settings.secret_key.get_secret_value())


def open_link(
    session: Session, request: Request, *, kind: str, token: str, model: type[T], now: datetime
) -> tuple[Company, T]:
    """The company and the object a link token names, or a 404 page."""
    secret = settings_of(request).secret_key.get_secret_value()
    claim = read_token(secret, token, kind=kind, now=now)
    if claim is None or not (0 < claim.object_id <= MAX_ID and 0 < claim.company_id <= MAX_ID):
        raise not_found()
    obj: Any = session.get(model, claim.object_id)
    company = session.get(Company, claim.company_id)
    if obj is None or company is None or obj.company_id != company.id:
        raise not_found()
    request.state.page_company = company  # brands the error pages raised from here on
    return company, obj
