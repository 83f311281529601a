"""API shapes for work acknowledgements, job attachments and reschedule requests."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from fieldlink.accounts.schemas import Input
from fieldlink.links.models import JobAttachment, RescheduleRequest, WorkAcknowledgement


class AcknowledgementOut(BaseModel):
    id: int
    job_id: int
    signer_name: str
    signature_method: Literal["drawn", "typed"]
    signature_png: str | None  # a data:image/png;base64 URL, or null when signed by typed name
    summary_text: str
    summary_sha256: str
    language: str
    ip: str | None
    user_agent: str | None
    signed_at: datetime

    @classmethod
    def of(cls, row: WorkAcknowledgement) -> AcknowledgementOut:
        return cls(
            id=row.id,
            job_id=row.job_id,
            signer_name=row.signer_name,
            signature_method=row.signature_method,
            signature_png=data_url(row.signature_png),
            summary_text=row.summary_text,
            summary_sha256=row.summary_sha256,
            language=row.language,
            ip=row.ip,
            user_agent=row.user_agent,
            signed_at=row.signed_at,
        )


def data_url(png: bytes | None) -> str | None:
    return "data:image/png;base64," + base64.b64encode(png).decode() if png else None


class RescheduleRequestOut(BaseModel):
    id: int
    appointment_id: int
    customer_id: int
    kind: Literal["reschedule", "call", "cancel"]
    preferred_dates: list[str]
    time_of_day: Literal["any", "am", "pm"]
    message: str | None
    phone: str | None
    status: str
    created_at: datetime

    @classmethod
    def of(cls, row: RescheduleRequest) -> RescheduleRequestOut:
        return cls.model_validate(row, from_attributes=True)


class AttachmentIn(Input):
    kind: Literal["photo", "document"]
    title: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=2000)

    @field_validator("url")
    @classmethod
    def _https(cls, v: str) -> str:
        # Customer pages are served with a CSP allowing https images only, and a plain
        # http link on an https page would be mixed content.
        if not v.startswith("https://") or len(v) < 12 or any(c.isspace() for c in v):
            raise ValueError("must be an https:// URL")
        return v


class AttachmentOut(BaseModel):
    id: int
    job_id: int
    kind: Literal["photo", "document"]
    title: str
    url: str
    created_at: datetime

    @classmethod
    def of(cls, row: JobAttachment) -> AttachmentOut:
        return cls.model_validate(row, from_attributes=True)
