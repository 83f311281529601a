"""API shapes for conversations, replies, opt-in requests and the company SMS number."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fieldlink.accounts.schemas import Input
from fieldlink.messaging.schemas import ReasonOut


class ConversationOut(BaseModel):
    id: int
    phone: str
    customer_id: int | None
    contact_id: int | None
    assigned_user_id: int | None
    assigned_user_ids: list[int]
    route_reason: str | None
    keyword_status: str
    last_message_at: datetime | None


class TextOut(BaseModel):
    """One text of a thread; outbound texts show their message-log status and reasons."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: str
    body: str
    at: datetime
    provider_sid: str | None
    keyword: str | None
    likely_opt_out: bool
    opt_out_confirmed_at: datetime | None
    routed_user_ids: list[int]
    route_reason: str | None
    user_id: int | None
    message_id: int | None
    status: str | None = None
    reasons: list[ReasonOut] = Field(default_factory=list)


class ConversationDetail(ConversationOut):
    messages: list[TextOut]


class ReplyIn(Input):
    body: str = Field(min_length=1, max_length=1600)
    user_id: int | None = Field(None, ge=1, le=2**31 - 1, description="who is replying")


class OptInRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    phone: str
    contact_method_id: int | None
    source: str
    status: str
    message_id: int | None
    created_at: datetime
    answered_at: datetime | None


class SmsNumberIn(Input):
    area_code: str = Field(min_length=3, max_length=3, examples=["919"])


class SmsNumberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    area_code: str
    number: str | None
    status: str
    error: str | None
    requested_at: datetime
    provisioned_at: datetime | None
