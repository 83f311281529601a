"""API shapes for jobs, appointments, status codes and dispatch events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from fieldlink.accounts.schemas import Input

JobStatus = Literal["open", "scheduled", "in_progress", "completed", "cancelled"]
AppointmentStatus = Literal["scheduled", "in_progress", "completed", "cancelled"]
ScheduleType = Literal["am", "pm", "all_day"]
Meaning = Literal["pending", "traveling", "working", "complete", "custom"]
Channel = Literal["sms", "email"]
ContactRole = Literal["owner", "financial", "scheduling", "site", "other"]
EventSource = Literal["office", "technician"]
Scalar = str | int | float | bool | None


def _aware(value: datetime) -> datetime:
    # A window without an offset is ambiguous across the office's and the customer's
    # time zones; guessing would send "arriving at 8" an hour off.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time must include a UTC offset, like 2026-03-02T08:00:00-05:00")
    return value.astimezone(UTC)  # stored and answered in UTC, whatever offset came in


AwareTime = Annotated[datetime, AfterValidator(_aware)]


def _custom_fields(value: dict[str, Scalar]) -> dict[str, Scalar]:
    for key, item in value.items():
        if not key.strip() or len(key) > 100:
            raise ValueError("custom field names are 1-100 characters")
        if isinstance(item, str) and len(item) > 2000:
            raise ValueError(f"custom field {key!r} is longer than 2000 characters")
    return value


CustomFields = Annotated[dict[str, Scalar], Field(max_length=100), AfterValidator(_custom_fields)]


class JobIn(Input):
    customer_id: int
    location_id: int | None = None
    job_type: str | None = Field(None, max_length=100)
    po_number: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=10_000)
    custom_fields: CustomFields = Field(default_factory=dict)
    status: JobStatus = "open"


class JobPatch(Input):
    customer_id: int | None = None
    location_id: int | None = None
    job_type: str | None = Field(None, max_length=100)
    po_number: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=10_000)
    custom_fields: CustomFields | None = None
    status: JobStatus | None = None


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    location_id: int | None
    job_type: str | None
    po_number: str | None
    description: str | None
    custom_fields: dict[str, Any]
    status: str
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _window_order(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValueError("window_end must be after window_start")


class AppointmentIn(Input):
    window_start: AwareTime
    window_end: AwareTime
    schedule_type: ScheduleType = "all_day"
    technician_ids: list[int] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _order(self) -> AppointmentIn:
        _window_order(self.window_start, self.window_end)
        return self


class AppointmentPatch(Input):
    window_start: AwareTime | None = None
    window_end: AwareTime | None = None
    schedule_type: ScheduleType | None = None
    technician_ids: list[int] | None = Field(None, max_length=50)
    status: AppointmentStatus | None = None

    job_id: int | None = Field(None, description="read-only; shown for symmetry with GET")

    @field_validator("job_id", mode="before")
    @classmethod
    def _job_is_read_only(cls, value: Any) -> Any:
        raise ValueError("job_id is read-only; create the appointment on the other job")

    @model_validator(mode="after")
    def _order(self) -> AppointmentPatch:
        _window_order(self.window_start, self.window_end)
        return self


class AppointmentOut(BaseModel):
    id: int
    job_id: int
    window_start: datetime
    window_end: datetime
    schedule_type: str
    status: str
    technician_ids: list[int]
    created_at: datetime
    updated_at: datetime


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


class Notification(Input):
    enabled: bool = False
    channels: Annotated[list[Channel], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=10
    )
    contact_roles: Annotated[list[ContactRole], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=10
    )
    template: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _usable(self) -> Notification:
        if self.enabled and not self.channels:
            raise ValueError("an enabled notification needs at least one channel (sms, email)")
        if self.enabled and not self.contact_roles:
            raise ValueError("an enabled notification needs at least one contact role")
        return self


class StatusCodeIn(Input):
    name: str = Field(min_length=1, max_length=100)
    meaning: Meaning = "custom"
    notification: Notification = Field(default_factory=Notification)
    once_per_appointment: bool = True


class StatusCodePatch(Input):
    name: str | None = Field(None, min_length=1, max_length=100)
    meaning: Meaning | None = None
    notification: Notification | None = None
    once_per_appointment: bool | None = None


class StatusCodeOut(BaseModel):
    id: int
    name: str
    meaning: str
    notification: Notification
    once_per_appointment: bool
    created_at: datetime
    updated_at: datetime


class DispatchStatusIn(Input):
    technician_id: int
    status_code_id: int
    source: EventSource = "office"


class DispatchEventOut(BaseModel):
    id: int
    appointment_id: int
    technician_id: int
    status_code_id: int | None
    status_code_name: str | None
    meaning: str | None
    kind: str
    source: str
    at: datetime


class DispatchResultOut(DispatchEventOut):
    """The recorded event and the appointment status it led to."""

    appointment_status: str
    notifications: dict[str, Any] | None = None
