"""Use cases for jobs, appointments, status codes and dispatch events."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fieldlink.jobs.models import StatusCode

# The codes a new company starts with; "Traveling" is what "on my way" applies.
DEFAULT_STATUS_CODES = (
    ("Pending", "pending"),
    ("Traveling", "traveling"),
    ("Working", "working"),
    ("Complete", "complete"),
)


def seed_default_status_codes(session: Session, *, company_id: int) -> list[StatusCode]:
    codes = [
        StatusCode(
            company_id=company_id,
            name=name,
            meaning=meaning,
            once_per_appointment=True,
            notification_enabled=False,
            notification_channels=[],
            notification_contact_roles=[],
        )
        for name, meaning in DEFAULT_STATUS_CODES
    ]
    session.add_all(codes)
    session.flush()
    return codes
