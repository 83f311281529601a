"""Uploading the company logo: small raster images only, checked by their bytes."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.schemas import Brand, CompanyPatch
from fieldlink.accounts.service import update_company
from fieldlink.errors import ValidationFailed
from fieldlink.office.models import CompanyLogo

MAX_BYTES = 512 * 1024


def sniff(data: bytes) -> str | None:
    """The image type from the file's first bytes (never its name or declared type).
    SVG is refused: opened directly, it can run script on our origin."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def save_logo(
    session: Session, *, company: Company, data: bytes, base_url: str, now: datetime
) -> CompanyLogo:
    """Store the logo and point the company's brand at its public URL (a new URL per
    image, so caches never show the old one)."""
    if not data:
        raise ValidationFailed("logo", "choose an image file")
    if len(data) > MAX_BYTES:
        raise ValidationFailed("logo", "the logo must be at most 512 KB")
    content_type = sniff(data)
    if content_type is None:
        raise ValidationFailed("logo", "use a PNG, JPEG or WebP image")
    digest = hashlib.sha256(data).hexdigest()
    row = session.scalar(select(CompanyLogo).where(CompanyLogo.company_id == company.id))
    if row is None:
        row = CompanyLogo(
            company_id=company.id, content_type=content_type, data=data, sha256=digest
        )
        session.add(row)
    row.content_type, row.data, row.sha256, row.updated_at = content_type, data, digest, now
    session.flush()
    url = f"{base_url}/office/brand/{company.id}/logo?v={digest[:12]}"
    update_company(session, company=company, patch=CompanyPatch(brand=Brand(logo_url=url)))
    return row


def logo_of(session: Session, *, company_id: int) -> CompanyLogo | None:
    return session.scalar(select(CompanyLogo).where(CompanyLogo.company_id == company_id))
