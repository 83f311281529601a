"""REST routes: /v1/estimates, /v1/invoices, /v1/payments and /v1/payment-methods."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Response

from fieldlink.db import MAX_ID, utcnow
from fieldlink.jobs import billing, queries
from fieldlink.jobs.billing_schemas import (
    EstimateIn,
    EstimateOut,
    EstimatePatch,
    EstimateStatus,
    InvoiceIn,
    InvoiceOut,
    InvoicePatch,
    InvoiceStatus,
    PaymentIn,
    PaymentMethodIn,
    PaymentMethodOut,
    PaymentOut,
)
from fieldlink.web.deps import CurrentTenant, DbSession
from fieldlink.web.pagination import Page, page_params

router = APIRouter()


# --- estimates ------------------------------------------------------------------------


@router.post("/estimates", response_model=EstimateOut, status_code=201, tags=["estimates"])
def create_estimate(body: EstimateIn, tenant: CurrentTenant, session: DbSession) -> EstimateOut:
    estimate = billing.create_estimate(session, company_id=tenant.company_id, data=body)
    return queries.estimate_out(estimate)


@router.get("/estimates", tags=["estimates"])
def list_estimates(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    customer_id: int | None = Query(None, ge=1, le=MAX_ID),
    job_id: int | None = Query(None, ge=1, le=MAX_ID),
    status: EstimateStatus | None = Query(None),
) -> dict[str, Any]:
    return queries.list_estimates(
        session,
        company_id=tenant.company_id,
        page=page,
        customer_id=customer_id,
        job_id=job_id,
        status=status,
    )


@router.get("/estimates/{estimate_id}", response_model=EstimateOut, tags=["estimates"])
def get_estimate(estimate_id: int, tenant: CurrentTenant, session: DbSession) -> EstimateOut:
    estimate = billing.get_estimate(session, company_id=tenant.company_id, estimate_id=estimate_id)
    return queries.estimate_out(estimate)


@router.patch("/estimates/{estimate_id}", response_model=EstimateOut, tags=["estimates"])
def patch_estimate(
    estimate_id: int, body: EstimatePatch, tenant: CurrentTenant, session: DbSession
) -> EstimateOut:
    estimate = billing.get_estimate(session, company_id=tenant.company_id, estimate_id=estimate_id)
    estimate = billing.update_estimate(session, estimate=estimate, patch=body, now=utcnow())
    return queries.estimate_out(estimate)


# --- invoices -------------------------------------------------------------------------


@router.post("/invoices", response_model=InvoiceOut, status_code=201, tags=["invoices"])
def create_invoice(body: InvoiceIn, tenant: CurrentTenant, session: DbSession) -> InvoiceOut:
    invoice = billing.create_invoice(session, company_id=tenant.company_id, data=body)
    return queries.invoice_out(invoice)


@router.get("/invoices", tags=["invoices"])
def list_invoices(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    customer_id: int | None = Query(None, ge=1, le=MAX_ID),
    job_id: int | None = Query(None, ge=1, le=MAX_ID),
    status: InvoiceStatus | None = Query(None),
) -> dict[str, Any]:
    return queries.list_invoices(
        session,
        company_id=tenant.company_id,
        page=page,
        customer_id=customer_id,
        job_id=job_id,
        status=status,
    )


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut, tags=["invoices"])
def get_invoice(invoice_id: int, tenant: CurrentTenant, session: DbSession) -> InvoiceOut:
    invoice = billing.get_invoice(session, company_id=tenant.company_id, invoice_id=invoice_id)
    return queries.invoice_out(invoice)


@router.patch("/invoices/{invoice_id}", response_model=InvoiceOut, tags=["invoices"])
def patch_invoice(
    invoice_id: int, body: InvoicePatch, tenant: CurrentTenant, session: DbSession
) -> InvoiceOut:
    invoice = billing.get_invoice(session, company_id=tenant.company_id, invoice_id=invoice_id)
    return queries.invoice_out(billing.update_invoice(session, invoice=invoice, patch=body))


# --- payments -------------------------------------------------------------------------


@router.post("/payments", response_model=PaymentOut, status_code=201, tags=["payments"])
def create_payment(
    body: PaymentIn,
    tenant: CurrentTenant,
    session: DbSession,
    idempotency_key: str | None = Header(None, min_length=1, max_length=200),
) -> PaymentOut:
    payment = billing.record_payment(
        session,
        company_id=tenant.company_id,
        data=body,
        idempotency_key=idempotency_key,
        now=utcnow(),
    )
    return queries.payment_out(payment)


@router.get("/payments", tags=["payments"])
def list_payments(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    customer_id: int | None = Query(None, ge=1, le=MAX_ID),
    invoice_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> dict[str, Any]:
    return queries.list_payments(
        session,
        company_id=tenant.company_id,
        page=page,
        customer_id=customer_id,
        invoice_id=invoice_id,
    )


@router.get("/payments/{payment_id}", response_model=PaymentOut, tags=["payments"])
def get_payment(payment_id: int, tenant: CurrentTenant, session: DbSession) -> PaymentOut:
    payment = billing.get_payment(session, company_id=tenant.company_id, payment_id=payment_id)
    return queries.payment_out(payment)


# --- payment methods ------------------------------------------------------------------


@router.post(
    "/payment-methods", response_model=PaymentMethodOut, status_code=201, tags=["payments"]
)
def create_payment_method(
    body: PaymentMethodIn, tenant: CurrentTenant, session: DbSession
) -> PaymentMethodOut:
    method = billing.add_payment_method(session, company_id=tenant.company_id, data=body)
    return queries.payment_method_out(method)


@router.get("/payment-methods", tags=["payments"])
def list_payment_methods(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    customer_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> dict[str, Any]:
    return queries.list_payment_methods(
        session, company_id=tenant.company_id, page=page, customer_id=customer_id
    )


@router.get("/payment-methods/{method_id}", response_model=PaymentMethodOut, tags=["payments"])
def get_payment_method(
    method_id: int, tenant: CurrentTenant, session: DbSession
) -> PaymentMethodOut:
    method = billing.get_payment_method(session, company_id=tenant.company_id, method_id=method_id)
    return queries.payment_method_out(method)


@router.delete("/payment-methods/{method_id}", status_code=204, tags=["payments"])
def delete_payment_method(method_id: int, tenant: CurrentTenant, session: DbSession) -> Response:
    method = billing.get_payment_method(session, company_id=tenant.company_id, method_id=method_id)
    billing.remove_payment_method(session, method=method)
    return Response(status_code=204)
