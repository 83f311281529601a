"""Staff passwords: argon2id at OWASP's minimum (m=19 MiB, t=2, p=1) and a length rule."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type

MIN_LENGTH = 10
MAX_LENGTH = 200  # argon2 takes any length; a cap stops megabyte "passwords" burning CPU

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# Verified when no user matches, so a wrong address costs the same time as a wrong password.
_DUMMY = _HASHER.hash("not-a-real-password-but-the-same-cost")


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be used, or None. Pure."""
    if len(password) < MIN_LENGTH:
        return f"use at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"use at most {MAX_LENGTH} characters"
    if not password.strip():
        return "a password cannot be only spaces"
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; never raises on a garbage hash."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)
