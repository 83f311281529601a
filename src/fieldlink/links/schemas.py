"""API shapes for signed work acknowledgements."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from fieldlink.links.models import WorkAcknowledgement


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
