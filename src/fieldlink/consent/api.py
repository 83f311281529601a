"""REST routes for consent: eligibility, audiences, suppressions, consent history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from fieldlink.consent import queries, service
from fieldlink.consent.models import ConsentEvent, Suppression
from fieldlink.consent.schemas import (
    ConsentEventOut,
    EligibilityItem,
    EligibilityOut,
    PreviewIn,
    PreviewOut,
    ReasonOut,
    RecipientOut,
    SuppressionIn,
    SuppressionOut,
)
from fieldlink.customers.models import ContactMethod
from fieldlink.db import get_scoped, utcnow
from fieldlink.web.deps import CurrentTenant, DbSession
from fieldlink.web.pagination import Page, page_params, paginate

router = APIRouter(prefix="/v1", tags=["consent"])
ACTOR = "api"


@router.get("/customers/{customer_id}/eligibility", response_model=EligibilityOut)
def get_eligibility(customer_id: int, tenant: CurrentTenant, session: DbSession) -> EligibilityOut:
    """For every contact method x channel (direct mail: every location) whether a message
    may go, and every reason it may not. Reason codes are listed in the API docs."""
    rows = queries.customer_eligibility(session, company=tenant.company, customer_id=customer_id)
    items = [
        EligibilityItem(
            method_id=r.method_id,
            location_id=r.location_id,
            channel=r.channel,
            allowed=r.decision.allowed,
            reasons=[ReasonOut(code=x.code, message=x.message) for x in r.decision.reasons],
        )
        for r in rows
    ]
    return EligibilityOut(customer_id=customer_id, items=items)


@router.post("/audiences/preview", response_model=PreviewOut)
def preview_audience(body: PreviewIn, tenant: CurrentTenant, session: DbSession) -> PreviewOut:
    """Count the recipients of ``channel`` among the customers ``filter`` selects, count
    what blocks the rest by reason code, and show a sample (lowest customer ids first)."""
    result = queries.preview_audience(
        session,
        company=tenant.company,
        channel=body.channel,
        filter=body.filter.to_filter(),
        sample_size=body.sample_size,
    )
    return PreviewOut(
        channel=result.channel,
        eligible=result.eligible,
        blocked=result.blocked,
        sample=[RecipientOut(**row) for row in result.sample],
    )


@router.get("/suppressions", tags=["suppressions"])
def list_suppressions(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    email: str | None = Query(None, description="exact address (case-insensitive)"),
) -> dict[str, Any]:
    stmt = queries.suppressions_query(company_id=tenant.company_id, email=email)
    return paginate(session, stmt, Suppression.id, page, _suppression_out)


@router.post(
    "/suppressions",
    response_model=SuppressionOut,
    status_code=201,
    tags=["suppressions"],
    responses={200: {"description": "The address was already listed; the existing entry."}},
)
def add_suppression(
    body: SuppressionIn, response: Response, tenant: CurrentTenant, session: DbSession
) -> SuppressionOut:
    """Suppress an address. Idempotent: an address already on the list answers **200**
    with the existing entry (its first reason kept), a new one **201**."""
    row, created = service.add_suppression(
        session,
        company_id=tenant.company_id,
        email=body.email,
        reason=body.reason,
        detail=body.detail,
        source="api",
        actor=ACTOR,
        at=utcnow(),
    )
    if not created:
        response.status_code = 200
    return _suppression_out(row)


@router.delete("/suppressions/{suppression_id}", status_code=204, tags=["suppressions"])
def delete_suppression(suppression_id: int, tenant: CurrentTenant, session: DbSession) -> Response:
    """Take an address off the list: marketing email may reach it again."""
    service.remove_suppression(
        session,
        company_id=tenant.company_id,
        suppression_id=suppression_id,
        actor=ACTOR,
        at=utcnow(),
    )
    return Response(status_code=204)


@router.get("/contact-methods/{method_id}/consent-history")
def consent_history(
    method_id: int, tenant: CurrentTenant, session: DbSession, page: Page = Depends(page_params)
) -> dict[str, Any]:
    """Every consent change of the method, oldest first: field, old and new value, source
    (keyword, web_form, opt_in_request, office, api…), actor, exact wording, reference."""
    method: ContactMethod = get_scoped(
        session, ContactMethod, method_id, tenant.company_id, "contact method"
    )
    stmt = queries.consent_history_query(company_id=tenant.company_id, method=method)
    return paginate(
        session, stmt, ConsentEvent.id, page, lambda e: ConsentEventOut.model_validate(e)
    )


def _suppression_out(row: Any) -> SuppressionOut:
    return SuppressionOut.model_validate(row)
