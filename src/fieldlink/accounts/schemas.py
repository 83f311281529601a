"""API shapes for companies and users."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fieldlink.validation import (
    check_colour,
    check_company_code,
    check_country,
    check_time_zone,
    normalise_email,
    normalise_phone,
)

Role = Literal["owner", "admin", "dispatcher", "technician"]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Brand(Input):
    logo_url: str | None = Field(None, max_length=2000)
    website: str | None = Field(None, max_length=2000)
    color: str | None = None
    remit_to: str | None = Field(None, max_length=2000)

    @field_validator("color")
    @classmethod
    def _colour(cls, v: str | None) -> str | None:
        return check_colour(v) if v else v

    @field_validator("logo_url", "website")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return v


class Sender(Input):
    email: str | None = None
    name: str | None = Field(None, max_length=200)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return normalise_email(v) if v else v


class QuietHours(Input):
    start: str = "08:00"
    end: str = "21:00"

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError("time must be HH:MM, 24-hour")
        return v


# Columns of the portal's lists a company may hide (``portal.hidden_columns``).
PORTAL_COLUMNS = (
    "date",
    "job_type",
    "location",
    "po_number",
    "status",
    "invoice",
    "amount",
    "balance",
    "method",
)


class PortalSettings(Input):
    """Per-company customer portal toggles (DESIGN.md, "Customer portal")."""

    enabled: bool = True
    show_credit: bool = True
    show_sub_customers: bool = True
    sub_customer_checked: bool = False
    show_pickup_address: bool = False
    show_service_address: bool = True
    allow_uploads: bool = False
    can_create_job: bool = True
    service_history: bool = True
    sales_history: bool = True
    can_make_payment: bool = True
    payment_history: bool = True
    payment_methods: bool = True
    show_schedule_date: bool = True
    show_schedule_type: bool = True
    job_type_selector: bool = True
    translation: bool = True
    new_address_field: bool = False
    completed_job_forms: bool = False
    payment_history_date_filter: bool = True
    job_type_label: str = Field("Job type", min_length=1, max_length=60)
    # The choices of the job type selector on the service request form.
    job_types: list[str] = Field(default_factory=list, max_length=50)
    hidden_custom_fields: list[str] = Field(default_factory=list, max_length=100)
    hidden_columns: list[str] = Field(default_factory=list)

    @field_validator("job_types", "hidden_custom_fields")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        names = [name.strip() for name in v]
        if any(not name or len(name) > 100 for name in names):
            raise ValueError("each name must be 1-100 characters")
        return list(dict.fromkeys(names))

    @field_validator("hidden_columns")
    @classmethod
    def _columns(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(PORTAL_COLUMNS))
        if unknown:
            raise ValueError(f"unknown columns {unknown}; columns are {list(PORTAL_COLUMNS)}")
        return list(dict.fromkeys(v))


# Customer notices a company may switch off, or limit to some channels, per touchpoint.
# Keyword answers, replies and opt-in requests are not among them: those are owed.
CONFIGURABLE_TOUCHPOINTS = (
    "appointment_confirmation",
    "service_reminder",
    "en_route",
    "service_link",
    "estimate",
    "invoice",
    "review_request",
)


def _sms_and_email() -> list[Literal["sms", "email"]]:
    return ["sms", "email"]


class TouchpointNotification(Input):
    enabled: bool = True
    channels: list[Literal["sms", "email"]] = Field(default_factory=_sms_and_email)
    # Who automatic notices (confirmation, review request) go to; empty = their default.
    contact_roles: list[Literal["owner", "financial", "scheduling", "site", "other"]] = Field(
        default_factory=list
    )


class CompanySettings(Input):
    marketing_suite: bool = False
    double_opt_in: bool = False
    dormant_email_suppression: bool = False
    dormant_email_days: int = Field(180, ge=30, le=1095)
    # Campaign throttle: marketing messages per minute the company's campaigns send, all
    # campaigns together (protects sender reputation and the SMS number's carrier limits).
    campaign_messages_per_minute: int = Field(600, ge=1, le=1_000_000)
    # Open pixel and click redirects in marketing email; off = plain links, no pixel.
    email_tracking: bool = True
    technician_identity: Literal["name_and_photo", "company_only"] = "name_and_photo"
    review_url: str | None = Field(None, max_length=2000)

    @field_validator("review_url")
    @classmethod
    def _review_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return v

    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    portal: PortalSettings = Field(default_factory=PortalSettings)
    notifications: dict[str, TouchpointNotification] = Field(default_factory=dict)

    @field_validator("notifications")
    @classmethod
    def _touchpoints(
        cls, v: dict[str, TouchpointNotification]
    ) -> dict[str, TouchpointNotification]:
        unknown = sorted(set(v) - set(CONFIGURABLE_TOUCHPOINTS))
        if unknown:
            raise ValueError(f"not a configurable touchpoint: {', '.join(unknown)}")
        return v


class CompanyPatch(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    company_code: str | None = None
    brand: Brand | None = None
    business_phone: str | None = None
    sender: Sender | None = None
    postal_address: str | None = Field(None, max_length=2000)
    sms_number: str | None = None
    sms_registration: Literal["unknown", "pending", "approved", "rejected"] | None = None
    point_of_contact_user_id: int | None = None
    country: str | None = None
    time_zone: str | None = None
    settings: CompanySettings | None = None

    @field_validator("company_code")
    @classmethod
    def _code(cls, v: str | None) -> str | None:
        return check_company_code(v) if v is not None else v

    @field_validator("business_phone", "sms_number")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return normalise_phone(v) if v else None

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        return check_country(v) if v is not None else v

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return check_time_zone(v) if v is not None else v


class CompanyOut(BaseModel):
    id: int
    name: str
    company_code: str
    brand: Brand
    business_phone: str | None
    sender: Sender
    postal_address: str | None
    sms_number: str | None
    sms_area_code: str | None
    sms_registration: str
    point_of_contact_user_id: int | None
    country: str
    time_zone: str
    settings: CompanySettings
    created_at: datetime


class UserIn(Input):
    name: str = Field(min_length=1, max_length=200)
    email: str
    phone: str | None = None
    role: Role
    photo_url: str | None = Field(None, max_length=2000)
    certifications: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return normalise_email(v)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return normalise_phone(v) if v else None


class UserPatch(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = None
    phone: str | None = None
    role: Role | None = None
    photo_url: str | None = Field(None, max_length=2000)
    certifications: list[str] | None = Field(None, max_length=20)
    active: bool | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return normalise_email(v) if v is not None else v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return normalise_phone(v) if v else None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    phone: str | None
    role: str
    photo_url: str | None
    certifications: list[str]
    active: bool
    created_at: datetime
