"""REST routes for the customers domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
