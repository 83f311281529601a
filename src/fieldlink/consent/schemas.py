"""API shapes for eligibility, audience previews, suppressions and consent history."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fieldlink.accounts.schemas import Input
from fieldlink.consent.audience import AudienceFilter
from fieldlink.validation import normalise_email

ChannelName = Literal[
    "direct_mail", "marketing_email", "transactional_email", "transactional_sms", "marketing_sms"
]
SuppressionReason = Literal["unsubscribed", "bounce", "complaint", "manual"]
OneOrMany = str | list[str] | None


class ReasonOut(BaseModel):
    code: str
    message: str


class EligibilityItem(BaseModel):
    method_id: int | None
    location_id: int | None
    channel: ChannelName
    allowed: bool
    reasons: list[ReasonOut]


class EligibilityOut(BaseModel):
    customer_id: int
    items: list[EligibilityItem]


def _many(value: OneOrMany) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    return tuple(v.strip() for v in items if v.strip())


class AudienceFilterIn(Input):
    """Which customers; every given field must match, any value within one field.
    ``{}`` = every customer. Field names match the ``GET /v1/customers`` filters."""

    type: (
        Literal["residential", "commercial"] | list[Literal["residential", "commercial"]] | None
    ) = None
    tag: OneOrMany = None
    city: OneOrMany = None
    postcode: OneOrMany = None

    def to_filter(self) -> AudienceFilter:
        return AudienceFilter(
            types=_many(self.type),  # type: ignore[arg-type]
            tags=_many(self.tag),
            cities=_many(self.city),
            postcodes=_many(self.postcode),
        )


class PreviewIn(Input):
    channel: ChannelName
    filter: AudienceFilterIn = Field(default_factory=AudienceFilterIn)
    sample_size: int = Field(10, ge=0, le=100)


class RecipientOut(BaseModel):
    customer_id: int
    method_id: int | None
    location_id: int | None
    value: str


class PreviewOut(BaseModel):
    channel: ChannelName
    eligible: int
    blocked: dict[str, int]
    sample: list[RecipientOut]


class SuppressionIn(Input):
    email: str
    reason: SuppressionReason = "manual"
    detail: str | None = Field(None, max_length=2000)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return normalise_email(v)


class SuppressionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    reason: str
    detail: str | None
    created_at: datetime


class ConsentEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int | None
    contact_method_id: int | None
    subject: str
    field: str
    old_value: str | None
    new_value: str | None
    source: str
    actor: str | None
    wording: str | None
    reference: str | None
    at: datetime
