"""API shapes for the message log and templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fieldlink.accounts.schemas import Input
from fieldlink.messaging.templates import Touchpoint

ChannelName = Literal["sms", "email"]
__all__ = ["Touchpoint"]  # re-exported for the routes
Language = Literal["en", "es"]


class ReasonOut(BaseModel):
    code: str
    message: str


class HistoryOut(BaseModel):
    status: str
    at: datetime
    detail: str | None


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    touchpoint: str
    channel: str
    to: str | None
    status: str
    reasons: list[ReasonOut]
    provider_id: str | None
    customer_id: int | None
    contact_id: int | None
    contact_method_id: int | None
    user_id: int | None
    job_id: int | None
    appointment_id: int | None
    status_code_id: int | None
    duplicate_of_id: int | None
    language: str
    subject: str | None
    body: str
    send_by: datetime | None
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    history: list[HistoryOut] = Field(default_factory=list)


class TemplateOut(BaseModel):
    touchpoint: str
    channel: str
    language: str
    subject: str | None
    body: str
    customized: bool
    variables: dict[str, str]


class TemplateIn(Input):
    subject: str | None = Field(None, max_length=1000)
    body: str = Field(min_length=1, max_length=20_000)
    language: Language = "en"


class PreviewIn(Input):
    subject: str | None = Field(None, max_length=1000)
    body: str | None = Field(None, max_length=20_000)
    language: Language = "en"
    data: dict[str, Any] | None = None
    technician_identity: Literal["name_and_photo", "company_only"] | None = None


class PreviewOut(BaseModel):
    subject: str | None
    body: str
    segments: int | None
    encoding: str | None
    html: str | None = None


class EmailEvent(BaseModel):
    type: Literal["delivered", "bounce", "complaint"]
    email: str = Field(max_length=320)
    message_id: str | None = Field(None, max_length=100, description="our flm-<id> reference")
    provider_id: str | None = Field(None, max_length=300)
    bounce_type: Literal["hard", "soft"] | None = None
    detail: str | None = Field(None, max_length=2000)


class EmailEventsIn(BaseModel):
    events: list[EmailEvent] = Field(max_length=1000)
