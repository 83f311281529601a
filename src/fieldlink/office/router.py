"""The staff web app at ``/office/``: every page router in one."""

from __future__ import annotations

from fastapi import APIRouter

from fieldlink.office.views import (
    appointments,
    customers,
    home,
    inbox,
    messages,
    settings,
    signin,
    technician,
    templates,
    users,
)

router = APIRouter(include_in_schema=False)
for module in (
    signin,
    home,
    appointments,
    customers,
    messages,
    inbox,
    technician,
    templates,
    settings,
    users,
):
    router.include_router(module.router)
