"""API shapes for campaigns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fieldlink.accounts.schemas import Input
from fieldlink.consent.schemas import AudienceFilterIn, OneOrMany, RecipientOut

CampaignChannel = Literal["email", "marketing_sms", "direct_mail"]


class AudienceIn(AudienceFilterIn):
    """Which customers: the customer filters of ``/v1/audiences/preview`` plus job history.
    ``{}`` = every customer. Every given field must match; any value within one field."""

    last_service_from: date | None = Field(
        None, description="last completed job on or after this date"
    )
    last_service_to: date | None = Field(
        None, description="last completed job on or before this date"
    )
    job_type: OneOrMany = Field(None, description="has had a job of one of these types")
    has_open_estimate: bool | None = Field(
        None, description="true: has an estimate neither approved nor declined; false: has none"
    )

    @model_validator(mode="after")
    def _range(self) -> AudienceIn:
        a, b = self.last_service_from, self.last_service_to
        if a and b and a > b:
            raise ValueError("last_service_from must not be after last_service_to")
        return self


class CampaignIn(Input):
    name: str = Field(min_length=1, max_length=200)
    channel: CampaignChannel
    subject: str | None = Field(None, max_length=500)
    template: str = Field("", max_length=20_000)
    audience: AudienceIn = Field(default_factory=AudienceIn)
    scheduled_at: datetime | None = None


class CampaignPatch(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    subject: str | None = Field(None, max_length=500)
    template: str | None = Field(None, max_length=20_000)
    audience: AudienceIn | None = None
    scheduled_at: datetime | None = None
    status: str | None = Field(None, description="read-only: use /send and /cancel")


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    channel: str
    subject: str | None
    template: str
    audience: dict[str, Any]
    scheduled_at: datetime | None
    status: str
    queued: int
    started_at: datetime | None
    queued_at: datetime | None
    finished_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime


class RenderedSample(BaseModel):
    subject: str | None
    body: str
    segments: int | None = None
    encoding: str | None = None


class CampaignPreviewOut(BaseModel):
    channel: str
    eligible: int
    blocked: dict[str, int]
    sample: list[RecipientOut]
    rendered: RenderedSample | None
    warnings: list[dict[str, str]]


class CampaignReportOut(BaseModel):
    campaign_id: int
    status: str
    audience: int
    queued: int
    pending: int
    sent: int
    delivered: int
    failed: int
    suppressed: dict[str, int]
    unsubscribes: int
    opens: int
    clicks: int
