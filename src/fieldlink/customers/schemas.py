"""API shapes for customers, locations, contacts and contact methods.

Contact-method values are normalised in the service, not here: a phone number needs the
company's country as its default region, which a request body does not know.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from fieldlink.accounts.schemas import Input
from fieldlink.validation import check_country, check_time_zone

CustomerType = Literal["residential", "commercial"]
ContactRole = Literal["owner", "financial", "scheduling", "site", "other"]
MethodKind = Literal["email", "phone"]
PhoneType = Literal["mobile", "landline", "other"]
MarketingSmsStatus = Literal["none", "pending", "opted_in", "opted_out"]
LocationKind = Literal["service", "pickup"]
Language = Literal["en", "es"]
# Ids are 32-bit integer columns; a larger number can match nothing, and letting it reach
# the database would fail there (PostgreSQL: integer out of range) instead of answering 422.
MAX_ID = 2_147_483_647
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def check_text(value: Any) -> Any:
    """Refuse NUL characters: PostgreSQL text cannot store them, so they would fail late."""
    items = value if isinstance(value, list) else [value]
    if any(isinstance(v, str) and "\x00" in v for v in items):
        raise ValueError("must not contain NUL characters")
    return value


def _check_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag:
            raise ValueError("a tag cannot be empty")
        if len(tag) > 100:
            raise ValueError("a tag is at most 100 characters")
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


# -- input -------------------------------------------------------------------------------


class _In(Input):
    @field_validator("*")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        return check_text(v)


class MethodIn(_In):
    kind: MethodKind
    value: str = Field(min_length=1, max_length=320)
    phone_type: PhoneType | None = None
    # None means "the default": on with a new customer, off when added later.
    marketing_updates: bool | None = None
    job_notifications: bool = True
    marketing_sms_status: MarketingSmsStatus | None = None


class MethodPatch(_In):
    value: str | None = Field(None, min_length=1, max_length=320)
    phone_type: PhoneType | None = None
    marketing_updates: bool | None = None
    job_notifications: bool | None = None
    marketing_sms_status: MarketingSmsStatus | None = None


class ContactIn(_In):
    name: str = Field(min_length=1, max_length=200)
    role: ContactRole
    primary: bool = False
    location_id: RowId | None = None
    methods: list[MethodIn] = Field(default_factory=list, max_length=20)


class ContactPatch(_In):
    name: str | None = Field(None, min_length=1, max_length=200)
    role: ContactRole | None = None
    primary: bool | None = None
    location_id: RowId | None = None


class _LocationFields(_In):
    @field_validator("country", check_fields=False)
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        return check_country(v) if v is not None else v

    @field_validator("time_zone", check_fields=False)
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return check_time_zone(v) if v else None


class LocationIn(_LocationFields):
    name: str | None = Field(None, max_length=200)
    kind: LocationKind = "service"
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(None, max_length=100)
    postcode: str | None = Field(None, max_length=20)
    # None means the company's country.
    country: str | None = None
    time_zone: str | None = None


class LocationPatch(_LocationFields):
    name: str | None = Field(None, max_length=200)
    kind: LocationKind | None = None
    line1: str | None = Field(None, min_length=1, max_length=200)
    line2: str | None = Field(None, max_length=200)
    city: str | None = Field(None, min_length=1, max_length=100)
    region: str | None = Field(None, max_length=100)
    postcode: str | None = Field(None, max_length=20)
    country: str | None = None
    time_zone: str | None = None


class _CustomerFields(_In):
    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return _check_tags(v)


class CustomerIn(_CustomerFields):
    name: str = Field(min_length=1, max_length=200)
    type: CustomerType = "residential"
    parent_id: RowId | None = None
    do_not_mail: bool = False
    do_not_service: bool = False
    do_not_send_promotional_emails: bool = False
    tags: list[str] = Field(default_factory=list, max_length=50)
    credit: Decimal = Field(Decimal("0.00"), ge=0, max_digits=12, decimal_places=2)
    language: Language = "en"
    notes: str | None = Field(None, max_length=5000)
    locations: list[LocationIn] = Field(default_factory=list, max_length=50)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(_CustomerFields):
    name: str | None = Field(None, min_length=1, max_length=200)
    type: CustomerType | None = None
    parent_id: RowId | None = None
    do_not_mail: bool | None = None
    do_not_service: bool | None = None
    do_not_send_promotional_emails: bool | None = None
    tags: list[str] | None = Field(None, max_length=50)
    credit: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    language: Language | None = None
    notes: str | None = Field(None, max_length=5000)


# -- output ------------------------------------------------------------------------------


class MethodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    contact_id: int
    kind: str
    value: str
    phone_type: str | None
    marketing_updates: bool
    job_notifications: bool
    marketing_sms_status: str
    marketing_sms_source: str | None
    marketing_sms_changed_at: datetime | None
    created_at: datetime


class ContactOut(BaseModel):
    id: int
    customer_id: int
    location_id: int | None
    name: str
    role: str
    primary: bool
    methods: list[MethodOut]
    created_at: datetime


class LocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    name: str | None
    kind: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postcode: str | None
    country: str
    time_zone: str | None
    created_at: datetime


class CustomerOut(BaseModel):
    """A list item: the account itself, without its locations and contacts."""

    id: int
    name: str
    type: str
    parent_id: int | None
    do_not_mail: bool
    do_not_service: bool
    do_not_send_promotional_emails: bool
    tags: list[str]
    credit: Decimal
    language: str
    notes: str | None
    created_at: datetime

    @field_serializer("credit")
    def _money(self, v: Decimal) -> str:
        # Money leaves as a decimal string with two places ("12.50"), never a float.
        return str(v.quantize(Decimal("0.01")))


class CustomerDetail(CustomerOut):
    """One account with everything an office screen shows, in one call."""

    locations: list[LocationOut]
    contacts: list[ContactOut]
