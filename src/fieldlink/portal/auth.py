"""Portal logins: argon2id passwords, throttled login with lockout, server-side sessions.

Sessions are rows keyed by the SHA-256 of a random cookie value, so logging out (or the
office disabling a login) ends them for real, and a new value is issued at every login
(session fixation: a value planted before login is never the one that becomes logged in).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.portal.models import PortalAccount, PortalLoginAttempt, PortalSession

# DESIGN.md: argon2id with at least m=19 MiB, t=2, p=1 (the OWASP minimum).
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = HASHER.hash("not-a-real-password-just-for-timing")

MIN_PASSWORD = 10
MAX_PASSWORD = 128
LOCK_AFTER = 5  # failed logins in a row lock the login ...
LOCK_FOR = timedelta(minutes=15)  # ... for this long
IP_WINDOW = timedelta(minutes=15)
IP_MAX_FAILURES = 20  # failed logins from one address in IP_WINDOW, any login id
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=2)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_problem(password: str) -> str | None:
    """Why ``password`` can't be used, or None."""
    if len(password) < MIN_PASSWORD:
        return f"must be at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"must be at most {MAX_PASSWORD} characters"
    return None


def _verify(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class LoginResult:
    """``outcome``: ``ok``, ``invalid``, ``locked``, ``throttled`` or ``pending``."""

    outcome: str
    account: PortalAccount | None = None
    token: str | None = None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ip_failures(session: Session, *, ip: str, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(PortalLoginAttempt)
            .where(
                PortalLoginAttempt.ip == ip,
                PortalLoginAttempt.succeeded.is_(False),
                PortalLoginAttempt.at >= now - IP_WINDOW,
            )
        )
        or 0
    )


def _unknown_login_failures(
    session: Session, *, company_id: int, login_id: str, now: datetime
) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(PortalLoginAttempt)
            .where(
                PortalLoginAttempt.company_id == company_id,
                PortalLoginAttempt.login_id == login_id,
                PortalLoginAttempt.succeeded.is_(False),
                PortalLoginAttempt.at >= now - LOCK_FOR,
            )
        )
        or 0
    )


def log_in(
    session: Session,
    *,
    company: Company,
    login_id: str,
    password: str,
    ip: str,
    user_agent: str | None,
    previous_token: str | None,
    now: datetime,
) -> LoginResult:
    """Check a login; on success end any session the browser held and start a new one."""
    login_id = login_id.strip().lower()[:80]
    if _ip_failures(session, ip=ip, now=now) >= IP_MAX_FAILURES:
        return LoginResult("throttled")
    account = session.scalar(
        select(PortalAccount)
        .where(PortalAccount.company_id == company.id, PortalAccount.login_id == login_id)
        .with_for_update()
    )
    attempt = PortalLoginAttempt(company_id=company.id, login_id=login_id, ip=ip, at=now)
    session.add(attempt)
    if account is None:
        # The same work and the same answers as for a real login: no probing for ids.
        _verify(_DUMMY_HASH, password)
        failures = _unknown_login_failures(
            session, company_id=company.id, login_id=login_id, now=now
        )
        session.flush()
        return LoginResult("locked" if failures >= LOCK_AFTER else "invalid")
    if account.locked_until is not None and account.locked_until > now:
        session.flush()
        return LoginResult("locked", account)
    if not _verify(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= LOCK_AFTER:
            account.locked_until = now + LOCK_FOR
            account.failed_logins = 0
            session.flush()
            return LoginResult("locked", account)
        session.flush()
        return LoginResult("invalid", account)
    if account.status != "active" or account.customer_id is None:
        session.flush()
        return LoginResult("pending" if account.status == "requested" else "invalid", account)
    attempt.succeeded = True
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    if HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    if previous_token:
        end_session(session, token=previous_token)
    token = secrets.token_urlsafe(32)
    session.add(
        PortalSession(
            company_id=company.id,
            account_id=account.id,
            token_hash=_hash_token(token),
            ip=ip,
            user_agent=(user_agent or "")[:400] or None,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.flush()
    return LoginResult("ok", account, token)


def session_account(
    session: Session, *, company: Company, token: str | None, now: datetime
) -> PortalAccount | None:
    """The active login behind a session cookie for this company, or None."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(
        select(PortalSession).where(PortalSession.token_hash == _hash_token(token))
    )
    if row is None or row.company_id != company.id:
        return None
    if row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
        session.delete(row)
        session.flush()
        return None
    account = session.get(PortalAccount, row.account_id)
    if account is None or account.status != "active" or account.customer_id is None:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return account


def end_session(session: Session, *, token: str) -> None:
    session.execute(delete(PortalSession).where(PortalSession.token_hash == _hash_token(token)))


def end_all_sessions(session: Session, *, account: PortalAccount) -> None:
    """Used when a password is reset or a login disabled: every browser is logged out."""
    session.execute(delete(PortalSession).where(PortalSession.account_id == account.id))
