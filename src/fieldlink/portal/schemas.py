"""API shapes for portal logins (``/v1/portal-accounts``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Language = Literal["en", "es"]


# Passwords are kept exactly as typed (spaces included): the login form checks them so.
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=128)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PortalAccountIn(Input):
    """A login the office creates for a customer; it can log in at once."""

    customer_id: int = Field(ge=1, le=2**31 - 1)
    login_id: str = Field(min_length=3, max_length=80)
    password: Password = Field(description="at least 10 characters")
    language: Language | None = None


class PortalAccountPatch(Input):
    """Approve (``status: active`` with ``customer_id``), reject, disable, re-enable,
    reset the password (logs every browser out), unlock after failed logins."""

    status: Literal["active", "rejected", "disabled"] | None = None
    customer_id: int | None = Field(None, ge=1, le=2**31 - 1)
    login_id: str | None = Field(None, min_length=3, max_length=80)
    password: Password | None = None
    unlock: bool | None = None
    language: Language | None = None


class PortalAccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int | None
    login_id: str
    status: str
    language: str | None
    locked: bool
    locked_until: datetime | None
    request_name: str | None
    request_email: str | None
    request_phone: str | None
    request_address: str | None
    request_note: str | None
    last_login_at: datetime | None
    decided_at: datetime | None
    created_at: datetime


class PortalUploadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    job_id: int | None
    filename: str
    content_type: str
    size: int
    note: str | None
    created_at: datetime


class PortalServiceRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    job_id: int
    account_id: int | None
    preferred_date: date | None
    schedule_type: str | None
    new_address: str | None
    sub_customer: bool
    created_at: datetime
