"""Files customers upload in the portal (photos of the equipment, documents).

The type is decided by the file's first bytes, not by its name or the browser's word;
the bytes are kept under ``FIELDLINK_UPLOAD_DIR`` (outside anything served statically)
by a random key, and served back only through the portal to their owner.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from fieldlink.errors import FieldlinkError, ValidationFailed
from fieldlink.portal.models import PortalUpload

CHUNK = 64 * 1024
# (magic prefix, offset, content type, extension)
SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"%PDF-", 0, "application/pdf"),
)
ALLOWED_TYPES = sorted({sig[2] for sig in SIGNATURES})
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


class TooLarge(FieldlinkError):
    status = 413
    code = "file_too_large"
    title = "File too large"


def sniff(head: bytes) -> str | None:
    for magic, offset, content_type in SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            if content_type == "image/webp" and not head.startswith(b"RIFF"):
                continue
            return content_type
    return None


def safe_filename(name: str | None) -> str:
    base = Path((name or "").replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).strip(" .")[:200]
    return cleaned or "upload"


def storage_path(upload_dir: str, company_id: int, storage_key: str) -> Path:
    return Path(upload_dir) / str(company_id) / storage_key


def save_upload(
    session: Session,
    *,
    upload_dir: str,
    max_bytes: int,
    company_id: int,
    customer_id: int,
    account_id: int,
    job_id: int | None,
    filename: str | None,
    stream: BinaryIO,
    note: str | None,
    now: datetime,
) -> PortalUpload:
    """Check the type and size while copying to disk; refuse before keeping anything."""
    head = stream.read(CHUNK)
    if not head:
        raise ValidationFailed("file", "choose a file to upload", code="file_missing")
    content_type = sniff(head)
    if content_type is None:
        raise ValidationFailed(
            "file", "only photos (JPEG, PNG, GIF, WebP) and PDF files", code="file_type"
        )
    storage_key = secrets.token_hex(20)
    path = storage_path(upload_dir, company_id, storage_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with path.open("xb") as out:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"files can be at most {max_bytes // (1024 * 1024)} MB")
                out.write(chunk)
                chunk = stream.read(CHUNK)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    upload = PortalUpload(
        company_id=company_id,
        customer_id=customer_id,
        account_id=account_id,
        job_id=job_id,
        filename=safe_filename(filename),
        content_type=content_type,
        size=size,
        storage_key=storage_key,
        note=note,
        created_at=now,
    )
    session.add(upload)
    session.flush()
    return upload
