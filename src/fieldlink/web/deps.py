"""Request dependencies: one unit of work per request, and API-key authentication."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import authenticate_api_key
from fieldlink.config import Settings
from fieldlink.db import utcnow
from fieldlink.errors import Unauthorized
from fieldlink.links.tokens import LinkMaker
from fieldlink.ops import idempotency


def get_session(request: Request) -> Iterator[Session]:
    """Open the request's unit of work; commit when the endpoint returns, else roll back.

    Used with ``scope="function"`` so the commit runs before the response is sent: a
    failed commit answers 500 instead of a success the database never kept.
    """
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Tenant:
    """The company a request acts for; every query is scoped by ``company_id``."""

    company: Company

    @property
    def company_id(self) -> int:
        return self.company.id


def get_tenant(request: Request, session: DbSession) -> Tenant:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "send the API key as 'Authorization: Bearer <key>'", code="missing_api_key"
        )
    company = authenticate_api_key(session, token.strip())
    if company is None:
        raise Unauthorized("the API key is unknown or revoked", code="invalid_api_key")
    # A keyed POST claims its Idempotency-Key in this same unit of work (or is replayed).
    idempotency.claim(request, session, company_id=company.id, now=utcnow())
    return Tenant(company=company)


CurrentTenant = Annotated[Tenant, Depends(get_tenant)]


def get_links(request: Request) -> LinkMaker:
    settings: Settings = request.app.state.settings
    return LinkMaker(base_url=settings.base_url, secret=settings.secret_key.get_secret_value())


Links = Annotated[LinkMaker, Depends(get_links)]
