"""Portal logins as the office manages them, and the customer's request for one."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.customers.models import Customer
from fieldlink.db import get_scoped
from fieldlink.errors import Conflict, FieldlinkError, ValidationFailed
from fieldlink.portal import auth
from fieldlink.portal.models import PortalAccount

LOGIN_ID = re.compile(r"^[a-z0-9][a-z0-9._@+-]{2,79}$")
# Public form limits (DESIGN.md: public forms are abuse targets).
REQUESTS_PER_IP_PER_DAY = 5
OPEN_REQUESTS_PER_COMPANY = 200


class TooManyRequests(FieldlinkError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"


def normalise_login_id(value: str) -> str:
    login_id = value.strip().lower()
    if not LOGIN_ID.match(login_id):
        raise ValidationFailed(
            "login_id",
            "use 3-80 letters, digits or . _ @ + - (starting with a letter or digit)",
            code="invalid_login_id",
        )
    return login_id


def check_password(password: str) -> None:
    problem = auth.password_problem(password)
    if problem:
        raise ValidationFailed("password", problem, code="weak_password")


def _login_free(session: Session, *, company_id: int, login_id: str, own_id: int | None) -> None:
    taken = session.scalar(
        select(PortalAccount.id).where(
            PortalAccount.company_id == company_id, PortalAccount.login_id == login_id
        )
    )
    if taken is not None and taken != own_id:
        raise Conflict(f"login id {login_id!r} is taken", code="login_id_taken")


def get_account(session: Session, *, company_id: int, account_id: int) -> PortalAccount:
    account: PortalAccount = get_scoped(
        session, PortalAccount, account_id, company_id, "portal account"
    )
    return account


def create_login(
    session: Session,
    *,
    company_id: int,
    customer_id: int,
    login_id: str,
    password: str,
    language: str | None,
    now: datetime,
) -> PortalAccount:
    """The office sets up a login for one of its customers (active at once)."""
    customer = get_scoped(session, Customer, customer_id, company_id, "customer")
    login_id = normalise_login_id(login_id)
    check_password(password)
    _login_free(session, company_id=company_id, login_id=login_id, own_id=None)
    account = PortalAccount(
        company_id=company_id,
        customer_id=customer.id,
        login_id=login_id,
        password_hash=auth.hash_password(password),
        status="active",
        language=language,
        failed_logins=0,
        decided_at=now,
        created_at=now,
    )
    session.add(account)
    session.flush()
    return account


def request_login(
    session: Session,
    *,
    company: Company,
    name: str,
    email: str,
    phone: str | None,
    address: str | None,
    note: str | None,
    login_id: str,
    password: str,
    ip: str,
    now: datetime,
) -> PortalAccount:
    """A customer asks for a login on the public form; nothing opens until the office
    approves it and links it to the customer's account."""
    since = now - timedelta(days=1)
    from_ip = session.scalar(
        select(func.count())
        .select_from(PortalAccount)
        .where(PortalAccount.requester_ip == ip, PortalAccount.created_at >= since)
    )
    open_requests = session.scalar(
        select(func.count())
        .select_from(PortalAccount)
        .where(PortalAccount.company_id == company.id, PortalAccount.status == "requested")
    )
    if (from_ip or 0) >= REQUESTS_PER_IP_PER_DAY or (
        open_requests or 0
    ) >= OPEN_REQUESTS_PER_COMPANY:
        raise TooManyRequests("too many login requests; please call the office")
    login_id = normalise_login_id(login_id)
    check_password(password)
    _login_free(session, company_id=company.id, login_id=login_id, own_id=None)
    account = PortalAccount(
        company_id=company.id,
        customer_id=None,
        login_id=login_id,
        password_hash=auth.hash_password(password),
        status="requested",
        request_name=name,
        request_email=email,
        request_phone=phone,
        request_address=address,
        request_note=note,
        requester_ip=ip,
        failed_logins=0,
        created_at=now,
    )
    session.add(account)
    session.flush()
    return account


def update_login(
    session: Session,
    *,
    account: PortalAccount,
    changes: dict[str, object],
    now: datetime,
) -> PortalAccount:
    """Approve, reject, disable or re-enable a login, relink it, reset its password or
    unlock it. A reset, disable or reject logs every browser of the login out."""
    if "customer_id" in changes and changes["customer_id"] is not None:
        customer_id = changes["customer_id"]
        assert isinstance(customer_id, int)
        new_customer_id = get_scoped(
            session, Customer, customer_id, account.company_id, "customer"
        ).id
        if account.customer_id not in (None, new_customer_id):
            # Moved to another account: no browser keeps showing the old one.
            auth.end_all_sessions(session, account=account)
        account.customer_id = new_customer_id
    if changes.get("login_id") is not None:
        login_id = normalise_login_id(str(changes["login_id"]))
        _login_free(session, company_id=account.company_id, login_id=login_id, own_id=account.id)
        account.login_id = login_id
    if changes.get("password") is not None:
        password = str(changes["password"])
        check_password(password)
        account.password_hash = auth.hash_password(password)
        auth.end_all_sessions(session, account=account)
        changes = {**changes, "unlock": True}
    if changes.get("unlock"):
        account.locked_until = None
        account.failed_logins = 0
    if "language" in changes:
        account.language = changes["language"]  # type: ignore[assignment]
    status = changes.get("status")
    if status is not None and status != account.status:
        if status == "active" and account.customer_id is None:
            raise ValidationFailed(
                "customer_id",
                "link the login to a customer to approve it",
                code="customer_required",
            )
        if status == "requested":
            raise ValidationFailed("status", "a login can't go back to requested")
        account.status = str(status)
        account.decided_at = now
        if status != "active":
            auth.end_all_sessions(session, account=account)
    session.flush()
    return account
