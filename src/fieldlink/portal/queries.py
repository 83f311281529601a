"""What a logged-in customer reads: every query is limited to the portal's customer ids,
so another customer's id (of this company or another) simply finds nothing: a 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from fieldlink.customers.models import Customer, Location
from fieldlink.errors import NotFound
from fieldlink.jobs.models import Appointment, Invoice, Job, Payment, PaymentMethod
from fieldlink.portal.context import Portal
from fieldlink.portal.models import PortalServiceRequest, PortalUpload

PAGE_SIZE = 25
# A draft is still the office's; a void one is gone. Customers see the rest.
VISIBLE_INVOICE_STATUSES = ("sent", "paid")


def one_of(portal: Portal, model: Any, object_id: int, label: str) -> Any:
    """Load a row of ``model`` that belongs to one of the portal's customers, or 404."""
    row = session_get(portal.session, model, object_id)
    if (
        row is None
        or row.company_id != portal.company.id
        or row.customer_id not in portal.customer_ids
    ):
        raise NotFound(f"{label} not found")
    return row


def session_get(session: Session, model: Any, object_id: int) -> Any:
    return session.get(model, object_id) if 0 < object_id <= 2**31 - 1 else None


def address(location: Location | None) -> str:
    if location is None:
        return ""
    parts = [location.line1, location.line2, location.city, location.region, location.postcode]
    return ", ".join(p for p in parts if p)


def _start(portal: Portal, day: date) -> datetime:
    """Midnight starting ``day`` in the company's time zone."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(portal.company.time_zone))


def locations(portal: Portal, kind: str | None = None) -> list[Location]:
    stmt = select(Location).where(
        Location.company_id == portal.company.id, Location.customer_id.in_(portal.customer_ids)
    )
    if kind is not None:
        stmt = stmt.where(Location.kind == kind)
    return list(portal.session.scalars(stmt.order_by(Location.customer_id, Location.id)))


def open_invoices(portal: Portal) -> list[Invoice]:
    return list(
        portal.session.scalars(
            select(Invoice)
            .where(
                Invoice.company_id == portal.company.id,
                Invoice.customer_id.in_(portal.customer_ids),
                Invoice.balance > 0,
                Invoice.status == "sent",
            )
            .order_by(Invoice.due_date, Invoice.id)
        )
    )


def payment_methods(portal: Portal) -> list[PaymentMethod]:
    return list(
        portal.session.scalars(
            select(PaymentMethod)
            .where(
                PaymentMethod.company_id == portal.company.id,
                PaymentMethod.customer_id == portal.customer.id,
            )
            .order_by(PaymentMethod.id)
        )
    )


@dataclass
class HistoryFilter:
    customer_id: int | None = None
    location_id: int | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    page: int = 1


@dataclass
class HistoryRow:
    job: Job
    customer: Customer
    location: Location | None
    when: datetime
    schedule_type: str | None
    invoice: Invoice | None
    custom_fields: dict[str, Any]


def _visit_time() -> Any:
    first = (
        select(func.min(Appointment.window_start))
        .where(Appointment.job_id == Job.id)
        .correlate(Job)
        .scalar_subquery()
    )
    return func.coalesce(first, Job.created_at)


def history_query(portal: Portal, f: HistoryFilter) -> Select[Any]:
    """Every job of the portal's accounts, newest first: the full history per location,
    not a recent window."""
    when = _visit_time()
    stmt = select(Job, when.label("when")).where(
        Job.company_id == portal.company.id, Job.customer_id.in_(portal.customer_ids)
    )
    if f.customer_id is not None:
        stmt = stmt.where(Job.customer_id == f.customer_id)
    if f.location_id is not None:
        stmt = stmt.where(Job.location_id == f.location_id)
    if f.status:
        stmt = stmt.where(Job.status == f.status)
    if f.date_from is not None:
        stmt = stmt.where(when >= _start(portal, f.date_from))
    if f.date_to is not None:
        stmt = stmt.where(when < _start(portal, f.date_to + timedelta(days=1)))
    if f.q:
        like = f"%{f.q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(func.coalesce(Job.job_type, "")).like(like),
                func.lower(func.coalesce(Job.po_number, "")).like(like),
                func.lower(func.coalesce(Job.description, "")).like(like),
            )
        )
    return stmt.order_by(when.desc(), Job.id.desc())


def service_history(portal: Portal, f: HistoryFilter) -> tuple[list[HistoryRow], bool]:
    """One page of history rows and whether there is a next page."""
    stmt = history_query(portal, f).offset((f.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    found = portal.session.execute(stmt).all()
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    return history_rows(portal, [(job, when) for job, when in found]), more


def history_rows(portal: Portal, found: list[tuple[Job, datetime]]) -> list[HistoryRow]:
    """Rows for a page of jobs in four queries, whatever the page size."""
    session = portal.session
    jobs = [job for job, _ in found]
    job_ids = [job.id for job in jobs]
    customers = {
        c.id: c
        for c in session.scalars(
            select(Customer).where(Customer.id.in_({j.customer_id for j in jobs}))
        )
    }
    location_ids = {j.location_id for j in jobs if j.location_id}
    places = {
        loc.id: loc
        for loc in session.scalars(select(Location).where(Location.id.in_(location_ids)))
    }
    firsts: dict[int, Appointment] = {}
    for appointment in session.scalars(
        select(Appointment)
        .where(Appointment.job_id.in_(job_ids))
        .order_by(Appointment.window_start.desc())
    ):
        firsts[appointment.job_id] = appointment  # the earliest is written last
    invoices: dict[int, Invoice] = {}
    for invoice in session.scalars(
        select(Invoice)
        .where(Invoice.job_id.in_(job_ids), Invoice.status.in_(VISIBLE_INVOICE_STATUSES))
        .order_by(Invoice.id)
    ):
        assert invoice.job_id is not None
        invoices[invoice.job_id] = invoice  # the latest is written last
    hidden = set(portal.settings.hidden_custom_fields)
    return [
        HistoryRow(
            job=job,
            customer=customers[job.customer_id],
            location=places.get(job.location_id) if job.location_id else None,
            when=when,
            schedule_type=firsts[job.id].schedule_type if job.id in firsts else None,
            invoice=invoices.get(job.id),
            custom_fields={k: v for k, v in (job.custom_fields or {}).items() if k not in hidden},
        )
        for job, when in found
    ]


def history_row(portal: Portal, job: Job) -> HistoryRow:
    first = portal.session.scalar(
        select(func.min(Appointment.window_start)).where(Appointment.job_id == job.id)
    )
    return history_rows(portal, [(job, first or job.created_at)])[0]


def sales_history(portal: Portal, page: int) -> tuple[list[Invoice], bool]:
    """Sales: invoices not raised for a service job (parts, equipment, memberships)."""
    rows = list(
        portal.session.scalars(
            select(Invoice)
            .where(
                Invoice.company_id == portal.company.id,
                Invoice.customer_id.in_(portal.customer_ids),
                Invoice.job_id.is_(None),
                Invoice.status.in_(VISIBLE_INVOICE_STATUSES),
            )
            .order_by(Invoice.created_at.desc(), Invoice.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


@dataclass
class PaymentRow:
    payment: Payment
    invoice: Invoice | None
    method: PaymentMethod | None


def payment_history(
    portal: Portal, *, date_from: date | None, date_to: date | None, page: int
) -> tuple[list[PaymentRow], bool]:
    stmt = select(Payment).where(
        Payment.company_id == portal.company.id,
        Payment.customer_id.in_(portal.customer_ids),
        Payment.status == "succeeded",
    )
    if date_from is not None:
        stmt = stmt.where(Payment.received_at >= _start(portal, date_from))
    if date_to is not None:
        stmt = stmt.where(Payment.received_at < _start(portal, date_to + timedelta(days=1)))
    payments = list(
        portal.session.scalars(
            stmt.order_by(Payment.received_at.desc(), Payment.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    rows = [
        PaymentRow(
            payment=p,
            invoice=portal.session.get(Invoice, p.invoice_id) if p.invoice_id else None,
            method=portal.session.get(PaymentMethod, p.payment_method_id)
            if p.payment_method_id
            else None,
        )
        for p in payments[:PAGE_SIZE]
    ]
    return rows, len(payments) > PAGE_SIZE


def paid_on(portal: Portal, invoice: Invoice) -> list[Payment]:
    return list(
        portal.session.scalars(
            select(Payment)
            .where(Payment.invoice_id == invoice.id, Payment.status == "succeeded")
            .order_by(Payment.received_at)
        )
    )


def service_requests(portal: Portal, limit: int = 5) -> list[tuple[PortalServiceRequest, Job]]:
    rows = portal.session.execute(
        select(PortalServiceRequest, Job)
        .join(Job, Job.id == PortalServiceRequest.job_id)
        .where(
            PortalServiceRequest.company_id == portal.company.id,
            PortalServiceRequest.customer_id.in_(portal.customer_ids),
        )
        .order_by(PortalServiceRequest.id.desc())
        .limit(limit)
    ).all()
    return [(r, j) for r, j in rows]


def uploads(portal: Portal) -> list[PortalUpload]:
    return list(
        portal.session.scalars(
            select(PortalUpload)
            .where(
                PortalUpload.company_id == portal.company.id,
                PortalUpload.customer_id.in_(portal.customer_ids),
            )
            .order_by(PortalUpload.id.desc())
        )
    )


def money(value: Decimal | None) -> str:
    return f"${value:,.2f}" if value is not None else ""
