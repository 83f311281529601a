"""Cursor pagination: ``?limit=`` (default 50, max 500) and an opaque ``?cursor=``."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import Session

from fieldlink.db import MAX_ID
from fieldlink.errors import ValidationFailed

T = TypeVar("T")
M = TypeVar("M")


class Page(BaseModel):
    limit: int
    after_id: int


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
        kind, _, value = raw.partition(":")
        after = int(value)
        if kind != "id" or not 0 <= after <= MAX_ID:
            raise ValueError(kind)
        return after
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("cursor", "not a cursor this API handed out") from exc


def page_params(
    limit: int = Query(50, ge=1, le=500, description="Items per page (max 500)"),
    cursor: str | None = Query(None, description="next_cursor from the previous page"),
) -> Page:
    return Page(limit=limit, after_id=decode_cursor(cursor) if cursor else 0)


def paginate(
    session: Session,
    stmt: Select[Any],
    id_column: Any,
    page: Page,
    serialize: Callable[[Any], T],
) -> dict[str, Any]:
    """Keyset pagination on the integer primary key, ascending."""
    rows: Sequence[Any] = session.scalars(
        stmt.where(id_column > page.after_id).order_by(id_column).limit(page.limit + 1)
    ).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return {
        "items": [serialize(r) for r in rows],
        "next_cursor": encode_cursor(rows[-1].id) if more and rows else None,
    }
