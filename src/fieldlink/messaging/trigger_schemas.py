"""Request and answer shapes of the notification triggers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from fieldlink.accounts.schemas import Input

ContactRole = Literal["owner", "financial", "scheduling", "site", "other"]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("time must include a UTC offset, e.g. 2026-03-03T09:40:00-05:00")
    return value


def _both_channels() -> list[Literal["sms", "email"]]:
    return ["sms", "email"]


class NotifyOut(BaseModel):
    """What a trigger did: messages queued, and those not sent, counted by reason."""

    queued: int
    suppressed: dict[str, int]
    failed: int
    message_ids: list[int]


class EnRouteIn(Input):
    technician_id: int
    eta: datetime | None = None
    contact_ids: list[int] = Field(min_length=1, max_length=50)

    _eta = field_validator("eta")(_aware)


class ReminderIn(Input):
    contact_roles: list[ContactRole] = Field(default_factory=list)
    contact_ids: list[int] = Field(default_factory=list, max_length=50)
    channels: list[Literal["sms", "email"]] = Field(default_factory=_both_channels, min_length=1)


class BulkReminderIn(ReminderIn):
    date_from: str = Field(description="date or time with offset; appointments overlapping")
    date_to: str = Field(description="date (whole day) or time with offset")
    status: Literal["scheduled", "in_progress", "completed", "cancelled"] | None = "scheduled"
    technician_id: int | None = None
    appointment_ids: list[int] | None = Field(None, max_length=5000)


class BulkReminderOut(NotifyOut):
    appointments: int


class SendLinkIn(Input):
    contact_ids: list[int] = Field(default_factory=list, max_length=50)
    contact_roles: list[ContactRole] = Field(default_factory=list)
