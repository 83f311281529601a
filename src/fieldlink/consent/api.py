"""REST routes for consent: eligibility, audiences, suppressions, consent history."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["consent"])
