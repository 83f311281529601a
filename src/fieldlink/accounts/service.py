"""Use cases for companies, users and API keys."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import ApiKey, Company, User
from fieldlink.accounts.schemas import CompanyPatch, CompanySettings, UserIn, UserPatch
from fieldlink.db import get_scoped, utcnow
from fieldlink.errors import Conflict, NotFound, ValidationFailed
from fieldlink.validation import check_company_code

KEY_PREFIX = "flk_"


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_company(
    session: Session,
    *,
    name: str,
    company_code: str,
    sms_area_code: str | None = None,
    **fields: Any,
) -> Company:
    """Create a tenant with default settings and the standard status codes."""
    from fieldlink.jobs.service import seed_default_status_codes

    name = name.strip()
    if not name:
        raise ValidationFailed("name", "a company needs a name")
    try:
        code = check_company_code(company_code)
    except ValueError as exc:
        raise ValidationFailed("company_code", str(exc)) from exc
    if sms_area_code is not None and not (sms_area_code.isdigit() and len(sms_area_code) == 3):
        raise ValidationFailed("sms_area_code", "an area code is three digits, like 919")
    if session.scalar(select(Company.id).where(Company.company_code == code)) is not None:
        raise Conflict(f"company code {code!r} is taken", code="company_code_taken")
    company = Company(
        name=name,
        company_code=code,
        sms_area_code=sms_area_code,
        settings=CompanySettings().model_dump(),
        **fields,
    )
    session.add(company)
    session.flush()
    seed_default_status_codes(session, company_id=company.id)
    return company


def create_api_key(
    session: Session, *, company: Company, name: str = "default"
) -> tuple[ApiKey, str]:
    """Make a key; the plain key is returned once and never stored."""
    secret = secrets.token_urlsafe(32)
    raw = f"{KEY_PREFIX}{secret}"
    key = ApiKey(company_id=company.id, name=name, prefix=raw[:12], key_hash=hash_api_key(raw))
    session.add(key)
    session.flush()
    return key, raw


def revoke_api_key(session: Session, *, company: Company, key_id: int) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.company_id == company.id))
    if key is None:
        raise NotFound(f"API key {key_id} not found for company {company.company_code}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def authenticate_api_key(session: Session, raw: str) -> Company | None:
    if not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    row = session.execute(
        select(Company)
        .join(ApiKey, ApiKey.company_id == Company.id)
        .where(ApiKey.key_hash == hash_api_key(raw), ApiKey.revoked_at.is_(None))
    ).first()
    return row[0] if row else None


def company_by_code(session: Session, code: str) -> Company:
    company = session.scalar(select(Company).where(Company.company_code == code.lower()))
    if company is None:
        raise NotFound(f"no company with code {code!r}")
    return company


def get_user(session: Session, *, company_id: int, user_id: int) -> User:
    user: User = get_scoped(session, User, user_id, company_id, "user")
    return user


def settings_of(company: Company) -> CompanySettings:
    """The company's settings with defaults for anything never set."""
    stored = dict(company.settings or {})
    known = set(CompanySettings.model_fields)
    return CompanySettings.model_validate({k: v for k, v in stored.items() if k in known})


def update_company(session: Session, *, company: Company, patch: CompanyPatch) -> Company:
    data = patch.model_dump(exclude_unset=True)
    if "company_code" in data and data["company_code"] != company.company_code:
        taken = session.scalar(
            select(Company.id).where(Company.company_code == data["company_code"])
        )
        if taken is not None:
            raise Conflict(
                f"company code {data['company_code']!r} is taken", code="company_code_taken"
            )
    if data.get("sms_number") and data["sms_number"] != company.sms_number:
        taken = session.scalar(select(Company.id).where(Company.sms_number == data["sms_number"]))
        if taken is not None:
            raise Conflict("that SMS number belongs to another company", code="sms_number_taken")
    if data.get("point_of_contact_user_id") is not None:
        get_user(session, company_id=company.id, user_id=data["point_of_contact_user_id"])
    brand = data.pop("brand", None)
    if brand is not None:
        for key, column in (
            ("logo_url", "logo_url"),
            ("website", "website"),
            ("color", "brand_color"),
            ("remit_to", "remit_to"),
        ):
            if key in patch.brand.model_fields_set:  # type: ignore[union-attr]
                setattr(company, column, brand[key])
    sender = data.pop("sender", None)
    if sender is not None:
        for key in patch.sender.model_fields_set:  # type: ignore[union-attr]
            setattr(company, f"sender_{key}", sender[key])
    incoming = patch.settings
    data.pop("settings", None)
    if incoming is not None:  # null changes nothing, as for brand and sender
        merged = settings_of(company).model_dump()
        for key in incoming.model_fields_set:
            value = getattr(incoming, key)
            if isinstance(value, BaseModel):
                merged[key] = {**merged[key], **value.model_dump(exclude_unset=True)}
            else:
                merged[key] = value
        company.settings = CompanySettings.model_validate(merged).model_dump()
    for key, value in data.items():
        setattr(company, key, value)
    session.flush()
    return company


def create_user(session: Session, *, company_id: int, data: UserIn) -> User:
    _email_free(session, company_id=company_id, email=data.email)
    user = User(company_id=company_id, **data.model_dump())
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, *, user: User, patch: UserPatch) -> User:
    data = patch.model_dump(exclude_unset=True)
    if data.get("email") and data["email"] != user.email:
        _email_free(session, company_id=user.company_id, email=data["email"])
    for key, value in data.items():
        if value is None and key in ("name", "email", "role", "active", "certifications"):
            raise ValidationFailed(key, "cannot be null")
        setattr(user, key, value)
    session.flush()
    return user


def _email_free(session: Session, *, company_id: int, email: str) -> None:
    exists = session.scalar(
        select(User.id).where(User.company_id == company_id, User.email == email)
    )
    if exists is not None:
        raise Conflict(f"a user with email {email} already exists", code="user_email_taken")
