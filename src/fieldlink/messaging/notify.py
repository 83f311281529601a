"""Turning one event into messages: variables, audience, one key per event and address."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.accounts.service import settings_of
from fieldlink.customers.models import Customer, Location
from fieldlink.jobs.models import Appointment, Job
from fieldlink.messaging.audience import Target
from fieldlink.messaging.bulk import Intent, Queued
from fieldlink.messaging.models import Message
from fieldlink.messaging.service import Refs, queue_message

CHANNEL_KIND = {"sms": "phone", "email": "email"}


@dataclass
class NotifyResult:
    queued: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    message_ids: list[int] = field(default_factory=list)

    def add(self, message: Message | Queued) -> None:
        self.message_ids.append(message.id)
        if message.status == "queued":
            self.queued += 1
        elif message.status == "suppressed":
            for r in message.reasons[:1] or [{"code": "unknown"}]:
                self.suppressed[r["code"]] += 1
        else:
            self.failed += 1

    def merge(self, other: NotifyResult) -> None:
        self.queued += other.queued
        self.suppressed.update(other.suppressed)
        self.failed += other.failed
        self.message_ids += other.message_ids

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "suppressed": dict(self.suppressed),
            "failed": self.failed,
            "message_ids": self.message_ids,
        }


def zone_of(company: Company, location: Location | None) -> ZoneInfo:
    return ZoneInfo(
        (location.time_zone if location and location.time_zone else None)
        or company.time_zone
        or "UTC"
    )


def clock(t: datetime, zone: ZoneInfo) -> str:
    return t.astimezone(zone).strftime("%I:%M %p").lstrip("0")


def appointment_vars(
    company: Company, appt: Appointment, location: Location | None
) -> dict[str, str]:
    zone = zone_of(company, location)
    start = appt.window_start.astimezone(zone)
    window = (
        "any time during the day"
        if appt.schedule_type == "all_day"
        and (appt.window_end - appt.window_start) >= timedelta(hours=9)
        else f"{clock(appt.window_start, zone)} - {clock(appt.window_end, zone)}"
    )
    return {"date": f"{start:%A, %B} {start.day}", "window": window}


def technician_vars(company: Company, tech: User | None) -> dict[str, str] | None:
    # The company chooses: technician's name and photo, or the company only (helpful when
    # technicians are often switched between jobs).
    if tech is None or settings_of(company).technician_identity == "company_only":
        return None
    return {
        "name": tech.name,
        "photo_url": tech.photo_url or "",
        "certifications": ", ".join(tech.certifications or []),
    }


def base_vars(
    session: Session,
    *,
    company: Company,
    customer: Customer,
    job: Job | None,
    appointment: Appointment | None,
    technician: User | None,
) -> dict[str, Any]:
    location = session.get(Location, job.location_id) if job and job.location_id else None
    return {
        "company": {
            "name": company.name,
            "phone": company.business_phone or "",
            "website": company.website or "",
            "logo_url": company.logo_url or "",
        },
        "customer": {"name": customer.name},
        "location": {
            "address": ", ".join(p for p in (location.line1, location.city, location.region) if p)
            if location
            else ""
        },
        "job": {
            "id": job.id if job else "",
            "job_type": job.job_type if job else "",
            "po_number": job.po_number if job else "",
        },
        "appointment": appointment_vars(company, appointment, location)
        if appointment
        else {"date": "", "window": ""},
        "technician": technician_vars(company, technician),
        "eta": "",
        "status": {"name": ""},
        "link": "",
        "reschedule_link": "",
        "amount": "",
    }


def notify(
    session: Session,
    *,
    company: Company,
    customer: Customer,
    targets: list[Target],
    touchpoint: str,
    channels: tuple[str, ...],
    key: str,
    variables: dict[str, Any],
    now: datetime,
    refs: Refs = Refs(),
    send_by: datetime | None = None,
    send_after: datetime | None = None,
    template: str | None = None,
    collect: list[Intent] | None = None,
) -> NotifyResult:
    """Queue the touchpoint to every target's methods on ``channels``; with ``collect``,
    append the intents there instead, for the caller to queue in bulk."""
    result = NotifyResult()
    for target in targets:
        contact = target.contact
        per_contact = {
            **variables,
            "contact": {
                "name": contact.name,
                "first_name": contact.name.split()[0] if contact.name else "",
            },
        }
        for channel in channels:
            for method in (m for m in target.methods if m.kind == CHANNEL_KIND[channel]):
                chosen = (None, template) if template and channel == "sms" else None
                if collect is not None:
                    collect.append(
                        Intent(
                            touchpoint=touchpoint,
                            channel=channel,
                            customer=customer,
                            contact=contact,
                            method=method,
                            variables=per_contact,
                            idempotency_key=f"{key}:{channel}:{method.value.lower()}",
                            refs=refs,
                            send_by=send_by,
                            send_after=send_after,
                            template=chosen,
                        )
                    )
                    continue
                message = queue_message(
                    session,
                    company=company,
                    touchpoint=touchpoint,
                    channel=channel,
                    customer=customer,
                    contact=contact,
                    method=method,
                    variables=per_contact,
                    idempotency_key=f"{key}:{channel}:{method.value.lower()}",
                    now=now,
                    refs=refs,
                    send_by=send_by,
                    send_after=send_after,
                    template=chosen,
                )
                result.add(message)
    return result
