"""The visit summary of a service link, and the exact text a customer signs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.accounts.service import settings_of
from fieldlink.customers.models import Customer, Location
from fieldlink.jobs.models import Appointment, AppointmentTechnician, Estimate, Invoice, Job
from fieldlink.messaging.notify import zone_of
from fieldlink.pages.i18n import gettext_for


@dataclass(frozen=True)
class Technician:
    name: str
    photo_url: str | None
    certifications: tuple[str, ...]


@dataclass(frozen=True)
class VisitSummary:
    company_name: str
    job_id: int
    job_type: str | None
    po_number: str | None
    address: str
    visit_dates: tuple[str, ...]
    technicians: tuple[Technician, ...]  # empty when the company shows itself only
    work_done: str
    estimates: tuple[Estimate, ...]
    invoices: tuple[Invoice, ...]


def _address(location: Location | None) -> str:
    if location is None:
        return ""
    parts = [location.line1, location.line2, location.city, location.region, location.postcode]
    return ", ".join(p for p in parts if p)


def visit_summary(
    session: Session, *, company: Company, job: Job, customer: Customer, lang: str
) -> VisitSummary:
    """Everything the service link shows about the visit, in ``lang``."""
    location = session.get(Location, job.location_id) if job.location_id else None
    zone = zone_of(company, location)
    appointments = list(
        session.scalars(
            select(Appointment)
            .where(Appointment.job_id == job.id, Appointment.status != "cancelled")
            .order_by(Appointment.window_start)
        )
    )
    dates = tuple(
        dict.fromkeys(
            format_date(a.window_start.astimezone(zone).date(), format="long", locale=lang)
            for a in appointments
        )
    )
    technicians: tuple[Technician, ...] = ()
    if settings_of(company).technician_identity == "name_and_photo" and appointments:
        users = session.scalars(
            select(User)
            .join(AppointmentTechnician, AppointmentTechnician.user_id == User.id)
            .where(AppointmentTechnician.appointment_id.in_([a.id for a in appointments]))
            .order_by(User.id)
            .distinct()
        )
        technicians = tuple(
            Technician(u.name, u.photo_url, tuple(u.certifications or [])) for u in users
        )
    estimates = tuple(
        session.scalars(
            select(Estimate)
            .where(Estimate.job_id == job.id, Estimate.status.in_(("sent", "approved", "declined")))
            .order_by(Estimate.id)
        )
    )
    invoices = tuple(
        session.scalars(
            select(Invoice)
            .where(Invoice.job_id == job.id, Invoice.status.in_(("sent", "paid")))
            .order_by(Invoice.id)
        )
    )
    return VisitSummary(
        company_name=company.name,
        job_id=job.id,
        job_type=job.job_type,
        po_number=job.po_number,
        address=_address(location),
        visit_dates=dates,
        technicians=technicians,
        work_done=(job.description or "").strip(),
        estimates=estimates,
        invoices=invoices,
    )


def summary_text(summary: VisitSummary, customer_name: str, lang: str) -> str:
    """The plain text the customer signs under: shown on the page exactly as stored."""
    _ = gettext_for(lang)
    lines = [
        _("Work acknowledgement for %(company)s") % {"company": summary.company_name},
        _("Customer: %(name)s") % {"name": customer_name},
        _("Job %(number)s") % {"number": summary.job_id}
        + (f": {summary.job_type}" if summary.job_type else ""),
    ]
    if summary.po_number:
        lines.append(_("PO number: %(po)s") % {"po": summary.po_number})
    if summary.address:
        lines.append(_("Service address: %(address)s") % {"address": summary.address})
    if summary.visit_dates:
        lines.append(_("Visit date: %(dates)s") % {"dates": "; ".join(summary.visit_dates)})
    if summary.technicians:
        names = ", ".join(t.name for t in summary.technicians)
        lines.append(_("Technician: %(names)s") % {"names": names})
    lines.append(_("Work done:"))
    lines.append(summary.work_done or _("(no description given)"))
    lines.append(_("I confirm that the work described above was carried out to my satisfaction."))
    return "\n".join(lines)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def format_when(company: Company, at: datetime, lang: str) -> str:
    from babel.dates import format_datetime

    zone = zone_of(company, None)
    return format_datetime(at.astimezone(zone), format="medium", locale=lang)


def money(amount: Any) -> str:
    return f"${amount:,.2f}"


def display_lines(lines: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Document lines for a page: quantities as given, money formatted."""
    shown = []
    for line in lines:
        try:
            qty = Decimal(str(line.get("quantity", "1")))
            unit = Decimal(str(line.get("unit_price", "0")))
            amount = Decimal(str(line["amount"])) if line.get("amount") else qty * unit
        except (InvalidOperation, ValueError):
            continue
        shown.append(
            {
                "description": str(line.get("description", "")),
                "quantity": f"{qty.normalize():f}",
                "unit_price": money(unit),
                "amount": money(amount),
            }
        )
    return shown
