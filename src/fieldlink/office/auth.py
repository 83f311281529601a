"""Staff sign-in use cases: login with throttling, server-side sessions, password resets,
and creating a user with a password (the CLI's first owner)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import USER_ROLES, Company, User
from fieldlink.errors import Conflict, ValidationFailed
from fieldlink.messaging.service import queue_staff_message
from fieldlink.office.models import LoginAttempt, PasswordReset, StaffSession
from fieldlink.office.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from fieldlink.validation import normalise_email

SESSION_IDLE = timedelta(hours=12)  # a technician's phone stays signed in through a shift
SESSION_MAX = timedelta(days=14)
TOUCH_EVERY = timedelta(minutes=5)  # write last_seen_at at most this often
LOCKOUT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 30
RESET_TTL = timedelta(minutes=30)
INVITE_TTL = timedelta(days=3)
MAX_RESETS_PER_HOUR = 3


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class LoginOutcome:
    """``user`` when signed in; else ``error``: ``invalid``, ``locked`` or ``choose_company``."""

    user: User | None = None
    error: str | None = None


def locked_out(session: Session, *, email: str, ip: str | None, now: datetime) -> bool:
    """Too many recent failures for this address (or from this IP): refuse without checking
    the password, so guessing stops paying off (OWASP authentication cheat sheet)."""
    since = now - LOCKOUT_WINDOW
    failures = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since
    )
    if (session.scalar(failures.where(LoginAttempt.email == email)) or 0) >= (
        MAX_FAILURES_PER_EMAIL
    ):
        return True
    return (
        ip is not None
        and (session.scalar(failures.where(LoginAttempt.ip == ip)) or 0) >= MAX_FAILURES_PER_IP
    )


def login(
    session: Session,
    *,
    email: str,
    password: str,
    company_code: str | None,
    ip: str | None,
    now: datetime,
) -> LoginOutcome:
    """Check an email and password. The same email may be a user at several companies;
    a password matching more than one of them asks for the company code."""
    address = email.strip().lower()[:320]
    if locked_out(session, email=address, ip=ip, now=now):
        return LoginOutcome(error="locked")
    stmt = (
        select(User, Company)
        .join(Company, Company.id == User.company_id)
        .where(func.lower(User.email) == address, User.active.is_(True))
        .order_by(User.id)
    )
    if company_code:
        stmt = stmt.where(Company.company_code == company_code.strip().lower())
    candidates = session.execute(stmt.limit(10)).all()
    matches = [user for user, _ in candidates if verify_password(user.password_hash, password)]
    if not candidates:
        verify_password(None, password)  # same cost as a wrong password
    # A right password that only needs the company code named is not a failed guess.
    session.add(LoginAttempt(email=address, ip=ip, succeeded=bool(matches), at=now))
    if len(matches) > 1:
        return LoginOutcome(error="choose_company")
    if not matches:
        return LoginOutcome(error="invalid")
    user = matches[0]
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return LoginOutcome(user=user)


def start_session(
    session: Session, *, user: User, now: datetime, replacing: str | None = None
) -> str:
    """A new session for ``user``; the raw token goes in the cookie. The session presented
    before login (if any) is deleted: the id is rotated at login (session fixation)."""
    if replacing:
        end_session(session, raw=replacing)
    raw = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            company_id=user.company_id,
            user_id=user.id,
            token_hash=token_hash(raw),
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_MAX,
        )
    )
    session.flush()
    return raw


def session_user(session: Session, *, raw: str, now: datetime) -> tuple[User, Company] | None:
    """The active user and company of a session cookie, or None (unknown, expired, idle,
    or the user was deactivated)."""
    if not raw or len(raw) > 100:
        return None
    row = session.execute(
        select(StaffSession, User, Company)
        .join(User, User.id == StaffSession.user_id)
        .join(Company, Company.id == StaffSession.company_id)
        .where(StaffSession.token_hash == token_hash(raw))
    ).first()
    if row is None:
        return None
    staff_session, user, company = row
    if (
        not user.active
        or staff_session.expires_at <= now
        or staff_session.last_seen_at + SESSION_IDLE <= now
    ):
        session.delete(staff_session)
        return None
    if now - staff_session.last_seen_at >= TOUCH_EVERY:
        staff_session.last_seen_at = now
    return user, company


def end_session(session: Session, *, raw: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(raw)))


def end_all_sessions(session: Session, *, user: User) -> None:
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))


def set_password(session: Session, *, user: User, password: str) -> None:
    """Store a new password and sign every browser of the user out."""
    problem = password_problem(password)
    if problem:
        raise ValidationFailed("password", problem)
    user.password_hash = hash_password(password)
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    session.flush()


def request_password_reset(session: Session, *, email: str, base_url: str, now: datetime) -> int:
    """Email a reset link to every active user with this address (through the outbox).
    Answers how many were sent, which the page never shows: whether an address has an
    account is not told to whoever types it."""
    address = email.strip().lower()[:320]
    rows = session.execute(
        select(User, Company)
        .join(Company, Company.id == User.company_id)
        .where(func.lower(User.email) == address, User.active.is_(True))
        .order_by(User.id)
        .limit(10)
    ).all()
    sent = 0
    for user, company in rows:
        recent = session.scalar(
            select(func.count(PasswordReset.id)).where(
                PasswordReset.user_id == user.id,
                PasswordReset.created_at >= now - timedelta(hours=1),
            )
        )
        if (recent or 0) >= MAX_RESETS_PER_HOUR:
            continue  # a flood of reset emails is abuse of the person, not help
        _send_link(
            session,
            company=company,
            user=user,
            base_url=base_url,
            now=now,
            touchpoint="staff_password_reset",
            ttl=RESET_TTL,
        )
        sent += 1
    return sent


def send_invite(
    session: Session, *, company: Company, user: User, base_url: str, now: datetime
) -> None:
    """Email a new user a link to choose their password (valid for INVITE_TTL)."""
    _send_link(
        session,
        company=company,
        user=user,
        base_url=base_url,
        now=now,
        touchpoint="staff_invite",
        ttl=INVITE_TTL,
    )


def _send_link(
    session: Session,
    *,
    company: Company,
    user: User,
    base_url: str,
    now: datetime,
    touchpoint: str,
    ttl: timedelta,
) -> None:
    raw = secrets.token_urlsafe(32)
    reset = PasswordReset(
        company_id=company.id,
        user_id=user.id,
        token_hash=token_hash(raw),
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(reset)
    session.flush()
    queue_staff_message(
        session,
        company=company,
        user=user,
        touchpoint=touchpoint,
        channel="email",
        variables={
            "company": {"name": company.name},
            "contact": {"name": user.name, "first_name": user.name.split(" ")[0]},
            "link": f"{base_url}/office/password-reset/{raw}",
        },
        idempotency_key=f"{touchpoint}:{reset.id}",
        now=now,
    )


def reset_for_token(session: Session, *, raw: str, now: datetime) -> PasswordReset | None:
    """The unused, unexpired reset of ``raw``, or None."""
    if not raw or len(raw) > 100:
        return None
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == token_hash(raw)))
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        return None
    return reset


def complete_password_reset(
    session: Session, *, reset: PasswordReset, password: str, now: datetime
) -> User:
    user = session.get(User, reset.user_id)
    assert user is not None
    set_password(session, user=user, password=password)
    reset.used_at = now
    # Any other outstanding link for this user dies with this one.
    for other in session.scalars(
        select(PasswordReset).where(
            PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)
        )
    ):
        other.used_at = now
    session.flush()
    return user


def create_staff_user(
    session: Session,
    *,
    company: Company,
    name: str,
    email: str,
    role: str,
    password: str,
) -> User:
    """A user who can sign in to the office (``fieldlink user create``)."""
    if not name.strip():
        raise ValidationFailed("name", "a user needs a name")
    if role not in USER_ROLES:
        raise ValidationFailed("role", f"role must be one of {', '.join(USER_ROLES)}")
    try:
        address = normalise_email(email)
    except ValueError as exc:
        raise ValidationFailed("email", str(exc)) from exc
    problem = password_problem(password)
    if problem:
        raise ValidationFailed("password", problem)
    taken = session.scalar(
        select(User.id).where(User.company_id == company.id, func.lower(User.email) == address)
    )
    if taken is not None:
        raise Conflict(f"a user with email {address} already exists", code="user_email_taken")
    user = User(
        company_id=company.id,
        name=name.strip(),
        email=address,
        role=role,
        password_hash=hash_password(password),
        certifications=[],
    )
    session.add(user)
    session.flush()
    return user
