"""Normalisation of phone numbers and email addresses (used by schemas and services)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_COMPANY_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")


def normalise_phone(value: str, default_region: str = "US") -> str:
    """Return the number in E.164, or raise ValueError with a sentence a person understands."""
    raw = value.strip()
    if not raw:
        raise ValueError("a phone number is required")
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{value!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{value!r} is not a valid phone number")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalise_email(value: str) -> str:
    """Validate syntax (no DNS lookup) and return the address lower-cased.

    Lower-casing the whole address lets suppression and de-duplication compare with ``=``;
    no mailbox provider we send to distinguishes the local part's case.
    """
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid email address: {exc}") from exc
    return str(result.normalized).lower()


def check_colour(value: str) -> str:
    if not _HEX_COLOUR.match(value):
        raise ValueError("colour must look like #1a2b3c")
    return value.lower()


def check_company_code(value: str) -> str:
    code = value.strip().lower()
    if not _COMPANY_CODE.match(code):
        raise ValueError(
            "company code must be 3-40 characters: lower-case letters, digits and dashes"
        )
    return code


def check_time_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"{value!r} is not an IANA time zone (for example America/Chicago)")
    ZoneInfo(value)
    return value


def check_country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError("country must be an ISO 3166 alpha-2 code, like US")
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{code!r} is not a known country code")
    return code


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES
