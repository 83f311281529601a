"""The portal's own JSON (``/portal/{company_code}/api/…``) for scripts and page widgets.

Same session cookie and the same rules as the pages: a switched-off feature answers 404
here too, and only the login's own accounts are read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from fieldlink.pages import PageError
from fieldlink.portal import queries
from fieldlink.portal.context import Portal, load
from fieldlink.portal.pages import history_filter, local_date, page_number, parse_date
from fieldlink.web.deps import DbSession

router = APIRouter(tags=["portal pages"], include_in_schema=False)
A = "/portal/{company_code}/api"


def _json(
    request: Request,
    session: DbSession,
    company_code: str,
    feature: str | None,
    build: Callable[[Portal], dict[str, Any]],
) -> Response:
    portal = load(request, session, company_code)
    if portal is None:
        return JSONResponse({"error": "not_logged_in"}, status_code=401)
    try:
        if feature is not None:
            portal.require(feature)
    except PageError:
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(build(portal), headers={"Cache-Control": "no-store"})


def _money(value: Any) -> str | None:
    return f"{value:.2f}" if value is not None else None


@router.get(A + "/account", response_model=None)
def account(company_code: str, request: Request, session: DbSession) -> Response:
    def build(portal: Portal) -> dict[str, Any]:
        s = portal.settings
        out: dict[str, Any] = {"id": portal.customer.id, "name": portal.customer.name}
        if s.show_credit:
            out["credit"] = _money(portal.customer.credit)
        if s.show_sub_customers:
            out["sub_customers"] = [{"id": c.id, "name": c.name} for c in portal.sub_customers]
        if s.show_service_address:
            out["service_addresses"] = [
                {"id": loc.id, "address": queries.address(loc)}
                for loc in queries.locations(portal, "service")
            ]
        if s.show_pickup_address:
            out["pickup_addresses"] = [
                {"id": loc.id, "address": queries.address(loc)}
                for loc in queries.locations(portal, "pickup")
            ]
        return out

    return _json(request, session, company_code, None, build)


@router.get(A + "/history", response_model=None)
def history(company_code: str, request: Request, session: DbSession) -> Response:
    def build(portal: Portal) -> dict[str, Any]:
        rows, more = queries.service_history(portal, history_filter(portal, request))
        hidden = set(portal.settings.hidden_columns)
        items = []
        for row in rows:
            item: dict[str, Any] = {
                "job_id": row.job.id,
                "customer_id": row.customer.id,
                "date": local_date(portal, row.when),
                "job_type": row.job.job_type,
                "location": queries.address(row.location),
                "po_number": row.job.po_number,
                "status": row.job.status,
                "invoice": row.invoice.number if row.invoice else None,
                "amount": _money(row.invoice.total) if row.invoice else None,
                "balance": _money(row.invoice.balance) if row.invoice else None,
                "custom_fields": row.custom_fields,
            }
            items.append({k: v for k, v in item.items() if k not in hidden})
        return {"items": items, "more": more}

    return _json(request, session, company_code, "service_history", build)


@router.get(A + "/sales", response_model=None)
def sales(company_code: str, request: Request, session: DbSession) -> Response:
    def build(portal: Portal) -> dict[str, Any]:
        rows, more = queries.sales_history(portal, page_number(request))
        return {
            "items": [
                {
                    "invoice_id": i.id,
                    "invoice": i.number,
                    "date": local_date(portal, i.created_at),
                    "amount": _money(i.total),
                    "balance": _money(i.balance),
                    "status": i.status,
                }
                for i in rows
            ],
            "more": more,
        }

    return _json(request, session, company_code, "sales_history", build)


@router.get(A + "/payments", response_model=None)
def payments(company_code: str, request: Request, session: DbSession) -> Response:
    def build(portal: Portal) -> dict[str, Any]:
        with_filter = portal.settings.payment_history_date_filter
        q = request.query_params
        rows, more = queries.payment_history(
            portal,
            date_from=parse_date(q.get("date_from")) if with_filter else None,
            date_to=parse_date(q.get("date_to")) if with_filter else None,
            page=page_number(request),
        )
        return {
            "items": [
                {
                    "payment_id": r.payment.id,
                    "invoice": r.invoice.number if r.invoice else None,
                    "amount": _money(r.payment.amount),
                    "method": r.payment.kind,
                    "card": f"{r.method.brand} {r.method.last4}" if r.method else None,
                    "date": local_date(portal, r.payment.received_at),
                }
                for r in rows
            ],
            "more": more,
        }

    return _json(request, session, company_code, "payment_history", build)


@router.get(A + "/payment-methods", response_model=None)
def payment_methods(company_code: str, request: Request, session: DbSession) -> Response:
    def build(portal: Portal) -> dict[str, Any]:
        return {
            "items": [
                {
                    "id": m.id,
                    "brand": m.brand,
                    "last4": m.last4,
                    "exp_month": m.exp_month,
                    "exp_year": m.exp_year,
                }
                for m in queries.payment_methods(portal)
            ]
        }

    return _json(request, session, company_code, "payment_methods", build)


@router.get(A + "/uploads", response_model=None)
def uploads(company_code: str, request: Request, session: DbSession) -> Response:
    def build(portal: Portal) -> dict[str, Any]:
        return {
            "items": [
                {
                    "id": u.id,
                    "filename": u.filename,
                    "content_type": u.content_type,
                    "size": u.size,
                    "job_id": u.job_id,
                    "url": f"{portal.base}/uploads/{u.id}",
                }
                for u in queries.uploads(portal)
            ]
        }

    return _json(request, session, company_code, "allow_uploads", build)
